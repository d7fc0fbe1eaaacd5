package proxy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmptyErrorfilesAsHAProxy: `errorfile N /dev/null` (an empty file)
// sends nothing for N, also for the answers to requests that could not be
// read (400, 408: the usual way to keep browsers' unused preconnections
// quiet), while a custom 400 page does not replace the built-in one for
// a request that could not be read: as in haproxy 2.6.
func TestEmptyErrorfilesAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.http")
	os.WriteFile(empty, nil, 0o644)
	custom := filepath.Join(dir, "400.http")
	os.WriteFile(custom, []byte("HTTP/1.1 400 Bad request\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbad\n"), 0o644)
	dead := deadPort(t)
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout http-request 300ms\n" +
		"frontend quiet\n    bind 127.0.0.1:%[1]d\n    errorfile 400 " + empty + "\n    errorfile 408 " + empty + "\n    errorfile 503 " + empty + "\n    default_backend b\n" +
		"frontend own\n    bind 127.0.0.1:%[2]d\n    errorfile 400 " + custom + "\n    default_backend b\n" +
		fmt.Sprintf("backend b\n    server s 127.0.0.1:%d\n", dead)
	exchange := func(port int, send string) string {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(send))
		c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		var out []byte
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			out = append(out, buf[:k]...)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return string(out) + "<open>"
				}
				return string(out) + "<closed>"
			}
		}
	}
	cases := []struct {
		fe   int
		send string
	}{
		{0, "GET / HTTP/1.1\r\nHost h\r\n\r\n"}, // 400
		{0, "GET / HTTP/1.1\r\nHost: h\r\n"},    // 408, part of a request
		{0, ""},                                 // nothing at all
		{0, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"}, // 503
		{1, "GET / HTTP/1.1\r\nHost h\r\n\r\n"},                       // 400, own page
	}
	run := func(start func(cfg string, ports [2]int)) []string {
		ports := [2]int{freePort(t), freePort(t)}
		start(fmt.Sprintf(cfg, ports[0], ports[1]), ports)
		var out []string
		for _, c := range cases {
			out = append(out, exchange(ports[c.fe], c.send))
		}
		return out
	}
	ha := run(func(cfg string, ports [2]int) { runHAProxy(t, cfg, ports[0]) })
	gh := run(func(cfg string, ports [2]int) { startRuntime(t, cfg) })
	for i := range cases {
		if ha[i] != gh[i] {
			t.Errorf("%q:\nhaproxy %q\ngohaka  %q", cases[i].send, ha[i], gh[i])
		}
	}
	if !strings.HasSuffix(ha[0], "<closed>") || ha[0] != "<closed>" {
		t.Errorf("haproxy sent %q for a bad request with an empty errorfile", ha[0])
	}
}
