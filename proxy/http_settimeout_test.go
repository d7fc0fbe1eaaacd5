package proxy

import (
	"testing"
	"time"
)

// slowServer answers each request after 600 ms.
func slowServer(t *testing.T) int {
	return answerHeads(t, func(string) (string, bool) {
		time.Sleep(600 * time.Millisecond)
		return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", true
	})
}

// TestSetTimeoutAsHAProxy: http-request set-timeout server, given as a
// time or as an expression (milliseconds), replaces the backend's
// `timeout server` for that request: a 600 ms answer times out (504)
// under 200 ms and comes through under the backend's 5 s, in haproxy 2.6
// and gohaka alike.
func TestSetTimeoutAsHAProxy(t *testing.T) {
	srv := slowServer(t)
	cfg := httpDefaults + `frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-request set-timeout server 200ms if { path /short }
    http-request set-timeout server int(2),mul(100) if { path /expr }
    http-request set-timeout server 3s if { path /long }
    server s1 127.0.0.1:%d
`
	hp, gp := startBoth(t, cfg, srv)
	got := ""
	for _, p := range []string{"/short", "/expr", "/long", "/other"} {
		req := "GET " + p + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
		h, g := statuses(rawExchange(t, hp, req, 3*time.Second)), statuses(rawExchange(t, gp, req, 3*time.Second))
		if h != g {
			t.Errorf("%s: haproxy %s, gohaka %s", p, h, g)
		}
		got += h + " "
	}
	if got != "504 504 200 200 " {
		t.Errorf("haproxy answered %s: the test does not test what it says", got)
	}
}
