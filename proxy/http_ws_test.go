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

// TestHTTPSoftStopClosesIdleKeepAlive: a soft stop (SIGUSR1, reload) ends
// keep-alive connections waiting for a request at once, instead of
// waiting for timeout http-keep-alive.
func TestHTTPSoftStopClosesIdleKeepAlive(t *testing.T) {
	a := httpEchoServer(t, "A")
	fp := freePort(t)
	r := startRuntime(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
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
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "HTTP/1.1 200") {
		t.Fatalf("got %q", l)
	}
	time.Sleep(100 * time.Millisecond) // the connection is idle now
	done := make(chan struct{})
	go func() { r.SoftStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("soft stop waited for the idle keep-alive connection")
	}
	io.Copy(io.Discard, br) // the rest of the answer, then EOF
}
