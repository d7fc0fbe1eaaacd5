package proxy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// routeDiffConfig: dynamic use_backend names and option originalto in the
// frontend and in backends (own header name, except network).
const routeDiffConfig = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d
    option originalto
    use_backend be_%%[req.hdr(x-be)] if { req.hdr(x-be) -m found }
    use_backend be_%%[url_param(b),lower]
    use_backend %%[path,lower] if { path_beg /be_ }
    default_backend be_a

backend be_a
    server a 127.0.0.1:%[2]d

backend be_b
    option originalto header X-Dst
    server b 127.0.0.1:%[3]d

backend be_c
    option originalto except 127.0.0.0/8
    server c 127.0.0.1:%[3]d
`

// TestHTTPDynamicRoutesAndOriginalToAsHAProxy: use_backend with %[...]
// names (a header, a url parameter through a converter, the path; names
// that are no backend take the default backend, not the next rule) and option
// originalto choose the same backend and give the backend the same head
// as haproxy 2.6.
func TestHTTPDynamicRoutesAndOriginalToAsHAProxy(t *testing.T) {
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(routeDiffConfig, hp, a, b), hp)
	startRuntime(t, fmt.Sprintf(routeDiffConfig, gp, a, b))
	reqs := []struct{ name, req, server string }{
		{"default", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "A"},
		{"header b", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-BE: b\r\n\r\n", "B"},
		{"header c (except)", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-BE: c\r\n\r\n", "B"},
		{"header no such backend (default, not the next rule)", "GET /?b=B HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-BE: zz\r\n\r\n", "A"},
		{"header empty", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-BE:\r\n\r\n", "A"},
		{"url_param lower", "GET /x?b=B HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "B"},
		{"url_param unknown", "GET /x?b=q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "A"},
		{"path", "GET /be_c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "A"},
		{"client original-to kept", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-Original-To: 192.0.2.9\r\n\r\n", "A"},
	}
	for _, c := range reqs {
		h := rawExchange(t, hp, c.req, time.Second)
		g := rawExchange(t, gp, c.req, time.Second)
		if !strings.Contains(h, "server "+c.server+"\n") {
			t.Errorf("%s: haproxy did not pick %s: %q", c.name, c.server, clip(h))
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.name, clip(h), clip(g))
		}
	}
	// the header itself, as the backend saw it
	g := rawExchange(t, gp, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-BE: b\r\n\r\n", time.Second)
	if !strings.Contains(g, "x-dst: 127.0.0.1\r\n") {
		t.Errorf("no x-dst header at backend b: %q", g)
	}
}

const useServerConfig = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d
    default_backend be

backend be
    balance roundrobin
    cookie SRV insert indirect nocache
    use-server s2 if { req.hdr(x-srv) s2 }
    use-server s3 if { req.hdr(x-srv) s3 }
    use-server s1 if { req.hdr(x-srv) s3 }
    use-server s2 if { path_beg /two }
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2
    server s3 127.0.0.1:%[4]d cookie c3 disabled
`

// TestHTTPUseServerAsHAProxy: use-server picks the same server as haproxy
// 2.6, before a persistence cookie and balancing; a rule naming a server
// in maintenance is passed over for the next one.
func TestHTTPUseServerAsHAProxy(t *testing.T) {
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	dead := deadPort(t)
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(useServerConfig, hp, a, b, dead), hp)
	startRuntime(t, fmt.Sprintf(useServerConfig, gp, a, b, dead))
	const cl = "Connection: close\r\n"
	reqs := []struct{ name, req, server string }{
		{"header s2", "GET / HTTP/1.1\r\nHost: h\r\nX-Srv: s2\r\n" + cl + "\r\n", "B"},
		{"s3 in maintenance: next rule", "GET / HTTP/1.1\r\nHost: h\r\nX-Srv: s3\r\n" + cl + "\r\n", "A"},
		{"path over cookie", "GET /two HTTP/1.1\r\nHost: h\r\nCookie: SRV=c1\r\n" + cl + "\r\n", "B"},
		{"cookie without rule", "GET / HTTP/1.1\r\nHost: h\r\nCookie: SRV=c1\r\n" + cl + "\r\n", "A"},
		{"balanced 1", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", ""},
		{"balanced 2", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", ""},
		{"balanced 3", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", ""},
	}
	for _, c := range reqs {
		h := rawExchange(t, hp, c.req, time.Second)
		g := rawExchange(t, gp, c.req, time.Second)
		if c.server != "" && !strings.Contains(h, "server "+c.server+"\n") {
			t.Errorf("%s: haproxy did not pick %s: %q", c.name, c.server, clip(h))
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.name, clip(h), clip(g))
		}
	}
}
