package proxy

import (
	"strings"
	"testing"
	"time"
)

// httpDefaults is the defaults section of the http-mode differential
// tests: mode http, connect 2 s, client and server 5 s.
const httpDefaults = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
`

// TestSetStatusAsHAProxy: http-response set-status changes the status
// line the client gets (haproxy's reason phrase for the code, or the one
// given) and what later rules read with `status`, as in haproxy 2.6.
func TestSetStatusAsHAProxy(t *testing.T) {
	srv := statusServer(t, "s1")
	cfg := httpDefaults + `frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-response set-status 503 if { path /a }
    http-response set-status 404 reason "Gone Fishing" if { path /b }
    http-response set-status 418 if { path /c }
    http-response set-status 299 if { path /d }
    http-response set-status 200 if { path /404 }
    http-response set-status 302 if { path /e }
    http-response set-header x-st %%[status]
    server s1 127.0.0.1:%d
`
	hp, gp := startBoth(t, cfg, srv)
	head := func(port int, path string) string {
		out := rawExchange(t, port, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2*time.Second)
		var keep []string
		for _, l := range strings.Split(out, "\r\n") {
			if strings.HasPrefix(l, "HTTP/") || strings.HasPrefix(strings.ToLower(l), "x-st:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, " | ")
	}
	for _, p := range []string{"/a", "/b", "/c", "/d", "/404", "/e", "/other"} {
		if h, g := head(hp, p), head(gp, p); h != g || h == "" {
			t.Errorf("%s: haproxy %q, gohaka %q", p, h, g)
		}
	}
}
