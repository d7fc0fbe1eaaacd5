package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingEchoServer is httpEchoServer counting the connections it
// accepts.
func countingEchoServer(t *testing.T, name string) (int, *atomic.Int64) {
	ln := listenLocal(t)
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go echoHTTPConn(c, name)
		}
	}()
	return port(ln.Addr()), &n
}

// keepAliveRequests sends n requests one after the other on one
// connection and waits for each answer of an echo server.
func keepAliveRequests(t *testing.T, p, n int) {
	keepAliveRequestsUntil(t, p, n, func(got string) bool {
		return strings.Contains(got, "\r\n\r\nserver ") && strings.HasSuffix(got, "\r\n\r\n")
	})
}

// keepAliveRequestsUntil sends n requests one after the other on one
// connection, each once done says the answer so far is whole.
func keepAliveRequestsUntil(t *testing.T, p, n int, done func(string) bool) {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got := ""
		for !done(got) {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatalf("request %d: %v (%q)", i, err, got)
			}
			got += string(buf[:k])
		}
	}
}

// TestHTTPReuseAsHAProxy: for each http-reuse mode, a sequence of client
// connections balanced round-robin over two servers opens as many server
// connections through gohaka as through haproxy 2.6 (own idle connections
// kept per client with never, shared ones taken by later requests with
// safe, by first requests too with always).
func TestHTTPReuseAsHAProxy(t *testing.T) {
	for _, mode := range []string{"never", "safe", "aggressive", "always"} {
		t.Run(mode, func(t *testing.T) {
			var counts [2]string
			for k, haproxy := range []bool{true, false} {
				a, na := countingEchoServer(t, "A")
				b, nb := countingEchoServer(t, "B")
				fp := freePort(t)
				cfg := fmt.Sprintf("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n"+
					"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n\nbackend be\n    http-reuse %s\n    server a 127.0.0.1:%d\n    server b 127.0.0.1:%d\n", fp, mode, a, b)
				if haproxy {
					runHAProxy(t, cfg, fp)
				} else {
					startRuntime(t, cfg)
				}
				var steps []string
				for _, n := range []int{4, 2, 3, 1, 2} {
					keepAliveRequests(t, fp, n)
					time.Sleep(50 * time.Millisecond) // the proxy parks the connections of the closed client
					steps = append(steps, fmt.Sprintf("%d/%d", na.Load(), nb.Load()))
				}
				counts[k] = strings.Join(steps, " ")
			}
			t.Logf("server connections after each client (A/B): haproxy %s, gohaka %s", counts[0], counts[1])
			if counts[0] != counts[1] {
				t.Errorf("haproxy %s, gohaka %s", counts[0], counts[1])
			}
		})
	}
}

// TestHTTPServerClosesAfterResponse: a server that answers keep-alive
// style but closes right after each response. The next request of the
// same client, a moment later, is trusted to the held connection without
// a look; it finds the connection closed before any response byte and is
// sent again on a new one (after a longer pause the poller has marked the
// close, and gohaka looks before it sends): every request is answered 200, as through
// haproxy (whose poller sees the close of the idle connection).
func TestHTTPServerClosesAfterResponse(t *testing.T) {
	var conns atomic.Int64
	sp := serveEach(t, func(c net.Conn) {
		conns.Add(1)
		defer c.Close()
		if _, _, ok := readHead(c, ""); !ok {
			return
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	})
	fp := freePort(t)
	startRuntime(t, fmt.Sprintf("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n"+
		"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n\nbackend be\n    server s 127.0.0.1:%d\n", fp, sp))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got := ""
		for !strings.HasSuffix(got, "\r\n\r\nok") {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatalf("request %d: %v (%q)", i, err, got)
			}
			got += string(buf[:k])
			if strings.HasPrefix(got, "HTTP/1.1 5") {
				t.Fatalf("request %d: %q", i, got)
			}
		}
		// the server's close reaches gohaka first; after the longer pause
		// the poller's mark of that close makes gohaka look first
		pause := 20 * time.Millisecond
		if i == 1 {
			pause += trustIdle
		}
		time.Sleep(pause)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("server connections: %d, want 3", n)
	}
}

// endingServer answers every request on a connection with a small
// keep-alive response and records how each connection ended: "reset"
// (the proxy closed with SO_LINGER 0) or "fin".
func endingServer(t *testing.T) (int, chan string) {
	ends := make(chan string, 16)
	p := serveEach(t, func(c net.Conn) {
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					if errors.Is(err, syscall.ECONNRESET) {
						ends <- "reset"
					} else {
						ends <- "fin"
					}
					return
				}
				if strings.Contains(string(buf[:n]), "\r\n\r\n") {
					c.Write([]byte("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"))
				}
			}
		}()
	})
	return p, ends
}

// TestIdleServerConnResetAsHAProxy: a server connection that gohaka does
// not keep once its response has ended (option http-server-close) is
// closed with a reset, as haproxy 2.6 closes it: no TIME_WAIT is left on
// either side.
func TestIdleServerConnResetAsHAProxy(t *testing.T) {
	for _, haproxy := range []bool{true, false} {
		sp, ends := endingServer(t)
		fp := freePort(t)
		cfg := fmt.Sprintf("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n"+
			"frontend fe\n    bind 127.0.0.1:%d\n    option http-server-close\n    default_backend be\n\nbackend be\n    server s 127.0.0.1:%d\n", fp, sp)
		if haproxy {
			runHAProxy(t, cfg, fp)
		} else {
			startRuntime(t, cfg)
		}
		keepAliveRequestsUntil(t, fp, 2, func(got string) bool { return strings.HasSuffix(got, "ok\n") })
		var got []string
		for i := 0; i < 2; i++ {
			select {
			case e := <-ends:
				got = append(got, e)
			case <-time.After(3 * time.Second):
				t.Fatalf("haproxy=%v: server connection %d did not end", haproxy, i+1)
			}
		}
		if got[0] != "reset" || got[1] != "reset" {
			t.Errorf("haproxy=%v: server connections ended %v, want [reset reset]", haproxy, got)
		}
	}
}

// TestHalfClosingClientsAsHAProxy: a client that sends its request, or
// pipelined requests, and then its end (shutdown of its sending side, as
// `printf ... | nc` does) without `Connection: close` gets its answers
// and then the end of the connection at once, as from haproxy 2.6, not
// after timeout client (haproxy may leave pipelined requests after the
// first unanswered then; gohaka answers them).
func TestHalfClosingClientsAsHAProxy(t *testing.T) {
	srv := httpEchoServer(t, "s")
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 20s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string here if { path /here }\n" +
		"    default_backend be\nbackend be\n    server s 127.0.0.1:%d\n"
	hp, gp := startBoth(t, cfg, srv)
	one := "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, c := range []struct{ name, send string }{
		{"one request", one},
		{"one answered locally", "GET /here HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"two pipelined", one + one},
		{"three pipelined", one + "GET /here HTTP/1.1\r\nHost: h\r\n\r\n" + one},
	} {
		for _, port := range []int{hp, gp} {
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte(c.send))
			conn.(*net.TCPConn).CloseWrite()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			out, err := io.ReadAll(conn)
			conn.Close()
			who := map[int]string{hp: "haproxy", gp: "gohaka"}[port]
			if err != nil || time.Since(start) > 5*time.Second {
				t.Errorf("%s, %s: the connection did not end (%v after %v)", c.name, who, err, time.Since(start).Round(time.Millisecond))
			}
			// haproxy 2.6 may drop the pipelined requests after the first
			// once it has read the end with them; gohaka answers them all
			if got, want := statuses(string(out)), strings.TrimSpace(strings.Repeat("200 ", strings.Count(c.send, "GET"))); got != want && (port == gp || !strings.HasPrefix(want, got)) {
				t.Errorf("%s, %s: statuses %q, want %q", c.name, who, got, want)
			}
		}
	}
}
