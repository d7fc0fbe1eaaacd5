package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHTTPWebSocketTunnel upgrades a connection through gohaka and then
// talks both ways over the tunnel (the echo server answers in upper case).
func TestHTTPWebSocketTunnel(t *testing.T) {
	a := httpEchoServer(t, "A")
	fp := freePort(t)
	startRuntime(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout tunnel 1h
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server a 127.0.0.1:%d
`, fp, a))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n%s\r\n", wsKey)
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("status %q", status)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	for _, msg := range []string{"ping", "second frame", strings.Repeat("x", 100000)} {
		go c.Write([]byte(msg))
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.ToUpper(msg) {
			t.Fatalf("got %q", clip(string(got)))
		}
	}
}
