package proxy

import (
	"fmt"
	"testing"
	"time"
)

// TestHTTPSetVarSameAsHAProxy: http-request set-var / unset-var with a
// fetch and a converter, var() in an ACL and in a log-format string give
// the same answers through haproxy 2.6 and gohaka.
func TestHTTPSetVarSameAsHAProxy(t *testing.T) {
	cfg := `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-var(txn.who) url_param(who)
    http-request unset-var(txn.who) if { path /forget }
    http-request return status 200 content-type text/plain lf-string "host=%%[var(txn.host)] who=%%[var(txn.who)]\n" if { var(txn.host) -m str example.com }
    http-request return status 404 content-type text/plain lf-string "unknown %%[var(txn.host)]\n"
`
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	for _, req := range []string{
		"GET /?who=ann HTTP/1.1\r\nHost: EXAMPLE.com\r\nConnection: close\r\n\r\n",
		"GET /forget?who=ann HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: Other.Example\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		h, g := rawExchange(t, hp, req, 3*time.Second), rawExchange(t, gp, req, 3*time.Second)
		if h != g || statuses(h) == "" {
			t.Errorf("%q:\nhaproxy: %q\ngohaka:  %q", req, h, g)
		}
	}
}
