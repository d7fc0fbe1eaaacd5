package proxy

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// BenchmarkConnRate measures short proxied connections end to end: the
// client connects, reads the server's 3-byte answer and closes.
func BenchmarkConnRate(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.Write([]byte("ok\n"))
				one := make([]byte, 1)
				c.Read(one)
				c.Close()
			}()
		}
	}()
	fl, _ := net.Listen("tcp", "127.0.0.1:0")
	fp := fl.Addr().(*net.TCPAddr).Port
	fl.Close()
	cfg := fmt.Sprintf("global\n    maxconn 9500\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\nlisten small\n    bind 127.0.0.1:%d\n    server s1 %s\n", fp, ln.Addr())
	r := startRuntimeB(b, cfg)
	defer r.Stop()
	addr := fmt.Sprintf("127.0.0.1:%d", fp)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 3)
		for pb.Next() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				continue
			}
			io.ReadFull(c, buf)
			c.Close()
		}
	})
}
