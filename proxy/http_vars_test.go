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

// TestSetVarConditionsAsHAProxy: set-var(<var>,<cond>...) in request and
// response rules and as a converter sets the variable only when its
// conditions hold (ifexists, ifnotexists, ifset, ifnotset, ifempty,
// ifnotempty, ifgt, iflt), as in haproxy 2.6.
func TestSetVarConditionsAsHAProxy(t *testing.T) {
	srv := httpEchoServer(t, "s")
	cfg := httpDefaults + `frontend fe
    bind 127.0.0.1:%d
    http-request set-var(txn.a) str(x)
    http-request set-var(txn.a,ifnotexists) str(y)
    http-request set-var(txn.b,ifnotexists) str(z)
    http-request set-var(txn.a,ifexists) str(w)
    http-request set-var(txn.c,ifexists) str(v)
    http-request set-var(txn.d,ifset) str(v)
    http-request set-var(txn.e,ifnotset,ifnotempty) str(e)
    http-request set-var(txn.n) int(5)
    http-request set-var(txn.n,ifgt) int(3)
    http-request set-var(txn.m) int(2)
    http-request set-var(txn.m,ifgt) int(7)
    http-request set-var(txn.l) int(2)
    http-request set-var(txn.l,iflt) int(7)
    http-request set-var(txn.k) int(2)
    http-request set-var(txn.k,iflt) int(2)
    http-request set-var(txn.s) str(abc)
    http-request set-var(txn.s,ifgt) int(1)
    http-request set-var(txn.u) str(u1)
    http-request unset-var(txn.u)
    http-request set-var(txn.u,ifset) str(u2)
    http-request set-var(txn.u2) str(u1)
    http-request unset-var(txn.u2)
    http-request set-var(txn.u2,ifnotset) str(u3)
    http-request set-var(txn.h,ifnotexists) req.hdr(x-h)
    http-request set-var(txn.h,ifexists,ifnotempty) req.hdr(x-h2)
    http-request set-header x-conv %%[str(cv),set-var(txn.cv,ifnotexists)]/%%[str(cw),set-var(txn.cv,ifnotexists)]/%%[var(txn.cv)]
    http-request return status 200 content-type text/plain lf-string "a=%%[var(txn.a)] b=%%[var(txn.b)] c=%%[var(txn.c)] d=%%[var(txn.d)] e=%%[var(txn.e)] n=%%[var(txn.n)] m=%%[var(txn.m)] l=%%[var(txn.l)] k=%%[var(txn.k)] s=%%[var(txn.s)] u=%%[var(txn.u)] u2=%%[var(txn.u2)] h=%%[var(txn.h)] conv=%%[req.hdr(x-conv)]" if { path /r }
    http-response set-var(txn.r,ifnotexists) str(r1)
    http-response set-var(txn.r,ifnotexists) str(r2)
    http-response set-var(txn.a,ifexists) str(ra)
    http-response set-header x-vars "%%[var(txn.r)] %%[var(txn.a)]"
    default_backend be
backend be
    server s 127.0.0.1:%d
`
	hp, gp := startBoth(t, cfg, srv)
	for _, req := range []string{
		"GET /r HTTP/1.1\r\nHost: h\r\nX-H: one\r\nX-H2: two\r\nConnection: close\r\n\r\n",
		"GET /r HTTP/1.1\r\nHost: h\r\nX-H: one\r\nConnection: close\r\n\r\n",
		"GET /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	} {
		pick := func(out string) string { return linesWith(out, "HTTP/", "x-vars:", "a=") }
		if h, g := pick(rawExchange(t, hp, req, 2*time.Second)), pick(rawExchange(t, gp, req, 2*time.Second)); h != g {
			t.Errorf("%q:\nhaproxy %q\ngohaka  %q", req, h, g)
		}
	}
}
