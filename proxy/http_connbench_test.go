package proxy

import (
	"bytes"
	"fmt"
	"net"
	"testing"
)

// BenchmarkHTTPNewConn measures a client connection carrying one request
// (`Connection: close`) through a proxying frontend to another gohaka
// frontend answering with `http-request return`: the cost of setting up
// and tearing down the client and server sides, allocations included.
func BenchmarkHTTPNewConn(b *testing.B) {
	fp, sp := freePortB(b), freePortB(b)
	r := startRuntimeB(b, proxyingConfig(fp, fmt.Sprintf("127.0.0.1:%d", sp), "", answeringFrontend(sp)))
	defer r.Stop()
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
	addr := fmt.Sprintf("127.0.0.1:%d", fp)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.Write(req)
		n := 0
		for {
			k, err := c.Read(buf[n:])
			n += k
			if err != nil {
				break
			}
		}
		if !bytes.HasSuffix(buf[:n], []byte("hello\n")) {
			b.Fatalf("got %q", buf[:n])
		}
		c.Close()
	}
}

func freePortB(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
