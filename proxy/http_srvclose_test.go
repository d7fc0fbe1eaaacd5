package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestServerClosedKeepAliveAsHAProxy: a server that closes without a
// response gets the client a 502 (SH-- in the log) on its connection's
// first request; on a later one haproxy 2.6 closes the client connection
// without an answer and without a log line, for the client to retry, and
// counts no error. A tcp-request content reject in http mode logs
// "<BADREQ>" (the server here is haproxy itself, rejecting /drop).
func TestServerClosedKeepAliveAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	bp := freePort(t)
	runHAProxy(t, fmt.Sprintf(httpDefaults+`frontend srv
    bind 127.0.0.1:%d
    tcp-request content reject if { path /drop }
    http-request return status 200
`, bp), bp)
	cfg := func(sock, logAddr string, port int) string {
		return loggedHTTP(sock, logAddr) + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    tcp-request content reject if { path /reject }
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, bp)
	}
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	startHAProxyCfg(t, cfg(hs, hlog.pc.LocalAddr().String(), hp))
	startRuntime(t, cfg(gs, glog.pc.LocalAddr().String(), gp))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	portOpen(gp)
	hlog.collect(300 * time.Millisecond) // the probes' lines
	glog.collect(300 * time.Millisecond)
	for _, paths := range [][]string{{"/drop", "/drop"}, {"/ok", "/drop"}, {"/ok", "/ok", "/drop"}, {"/ok", "/reject"}} {
		h, g := askInTurn(t, hp, "", paths...), askInTurn(t, gp, "", paths...)
		if h != g {
			t.Errorf("%v:\nhaproxy: %s\ngohaka:  %s", paths, h, g)
		}
	}
	sameLogsAndCounters(t, hlog, glog, hs, gs, []string{"eresp", "dreq", "hrsp_2xx", "hrsp_5xx", "req_tot", "wretr", "stot", "econ", "cli_abrt", "srv_abrt"})
}

// TestUnsafeMethodNotSentTwice: a server that reads a keep-alive
// connection's second request and closes without answering gets a DELETE
// once through gohaka (the client's connection then closes, as haproxy
// closes it), never a second time on a new connection; a GET may be sent
// again there, being safe to repeat.
func TestUnsafeMethodNotSentTwice(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	sp := serveEach(t, func(c net.Conn) {
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for n := 0; ; n++ {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				mu.Lock()
				seen[req.Method+" "+req.URL.Path]++
				mu.Unlock()
				if n > 0 { // the second request on a connection: read, then gone
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}()
	})
	gp := freePort(t)
	startRuntime(t, fmt.Sprintf(httpDefaults+"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n    server s1 127.0.0.1:%d\n", gp, sp))
	// a GET on a connection trusted without a look is sent again on a new
	// connection when the old one turns out closed
	if got := askInTurn(t, gp, "", "/a", "/b"); got != "/a: 200 \n/b: 200 " {
		t.Errorf("GET /a then GET /b: %q", got)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", gp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /c: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	io.WriteString(c, "DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Error("DELETE /d was answered; the server closed without answering")
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if seen["DELETE /d"] != 1 {
		t.Errorf("the server got DELETE /d %d times, want once", seen["DELETE /d"])
	}
}
