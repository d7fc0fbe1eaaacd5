package proxy

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/gohaka/gohaka/parser"
)

// BenchmarkHTTPKeepAlive measures one small request through gohaka over a
// keep-alive connection: the client talks to a proxying frontend whose
// server is another gohaka frontend answering with `http-request return`.
// allocs/op counts both frontends (and the client loop, which allocates
// nothing).
func BenchmarkHTTPKeepAlive(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	fp := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	sp := ln2.Addr().(*net.TCPAddr).Port
	ln2.Close()
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
    http-request set-header X-Bench 1
    default_backend be
backend be
    server s 127.0.0.1:%d
frontend srv
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string "hello\n"
`, fp, sp, sp)
	r := startRuntimeB(b, cfg)
	defer r.Stop()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /index.html HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	end := []byte("hello\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for !bytes.HasSuffix(buf[:n], end) {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}

func startRuntimeB(b *testing.B, cfgText string) *Runtime {
	cfg, ds := parser.LoadHAProxyBytes("b.cfg", []byte(cfgText), parser.Options{Offline: true})
	if ds.HasErrors() {
		b.Fatalf("config: %s", ds)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(); err != nil {
		b.Fatal(err)
	}
	return r
}
