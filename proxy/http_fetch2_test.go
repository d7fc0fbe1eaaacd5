package proxy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFetchesAndRewritesAsHAProxy: dst, fe_name, req.ver,
// req.cook and cook give haproxy 2.6's values; replace-path and
// replace-uri rewrite as it does; set-log-level silent leaves a request
// out of the log.
func TestFetchesAndRewritesAsHAProxy(t *testing.T) {
	cfg := "global\n    log %[1]s local0\ndefaults\n    mode http\n    log global\n    log-format \"%%f %%r\"\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%[2]d\n" +
		"    http-request set-log-level silent if { path /health }\n" +
		"    http-request replace-path /api/v1/(.*) /v1/\\1 if { path_beg /api/ }\n" +
		"    http-request replace-uri ^/old(.*) /new\\1 if { path_beg /old }\n" +
		"    http-request return status 200 content-type text/plain string acl-abc if { path /acl } { req.cook(sid) abc }\n" +
		"    http-request return status 200 content-type text/plain string acl-def if { path /acl } { req.cook(sid) def }\n" +
		"    http-request return status 200 content-type text/plain lf-string \"dst=%%[dst] fe=%%[fe_name] ver=%%[req.ver] sid=%%[req.cook(sid)] c=%%[cook(c)] url=%%[url] n=%%[req.cook_cnt(sid)] all=%%[cook_cnt] bt=%%[http_auth_bearer] bin=%%[bin(41424344)] binx=%%[bin(00ff),hex]\"\n"
	paths := []string{"/", "/health", "/api/v1/users?x=1", "/old/a?b=2", "/other", "/acl"}
	line := regexp.MustCompile(`fe (\S+ \S+ \S+)`)
	run := func(start func(cfg string, port int)) (bodies []string, logged []string) {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := freePort(t)
		start(fmt.Sprintf(cfg, udp.pc.LocalAddr(), p), p)
		for _, path := range paths {
			for _, ver := range []string{"1.1", "1.0"} {
				out := rawExchange(t, p, "GET "+path+" HTTP/"+ver+"\r\nHost: h\r\nCookie: a=1; sid=abc; sid=def\r\nCookie: c=3\r\nAuthorization: Bearer eyJ.abc.def\r\nConnection: close\r\n\r\n", 2*time.Second)
				_, b, _ := strings.Cut(out, "\r\n\r\n")
				bodies = append(bodies, path+" "+ver+": "+b)
			}
		}
		for _, l := range udp.collect(300 * time.Millisecond) {
			if m := line.FindStringSubmatch(l); m != nil {
				logged = append(logged, m[1])
			}
		}
		return bodies, logged
	}
	hb, hl := run(func(cfg string, p int) { runHAProxy(t, cfg, p) })
	gb, gl := run(func(cfg string, p int) { startRuntime(t, cfg) })
	for i := range hb {
		if hb[i] != gb[i] {
			t.Errorf("haproxy %q\n        gohaka  %q", hb[i], gb[i])
		}
	}
	if strings.Join(hl, "\n") != strings.Join(gl, "\n") {
		t.Errorf("logged:\nhaproxy %q\ngohaka  %q", hl, gl)
	}
	if len(hl) != 10 {
		t.Errorf("haproxy logged %d requests, want 10 (the two /health ones silent)", len(hl))
	}
}

// TestCookValAndCapturedLineAsHAProxy: req.cook_val (the last cookie of
// a name, the first of any, read as haproxy reads integers) and
// capture.req.method/uri/ver, in a request rule and in response rules,
// give haproxy 2.6's values.
func TestCookValAndCapturedLineAsHAProxy(t *testing.T) {
	srv := httpEchoServer(t, "s")
	cfg := httpDefaults + `frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "[%%[req.cook_val()]] [%%[req.cook_val(c2)]] [%%[cook_val(c1)]] [%%[capture.req.uri]] [%%[capture.req.method]] [%%[capture.req.ver]]" if { path_beg /ret }
    http-response set-header x-line "%%[capture.req.method] %%[capture.req.uri] %%[capture.req.ver]"
    http-after-response set-header x-after yes unless { capture.req.uri /plain }
    default_backend be
backend be
    server s 127.0.0.1:%d
`
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp, srv), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, srv))
	reqs := []string{
		"GET /ret?a HTTP/1.1\r\nHost: h\r\nCookie: c1=12; c2=34x; c3=5\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\nCookie: c2=-7; c2=9\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\nCookie: c1=abc; c2=+5\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\nCookie: c1=\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\nCookie: c1=99999999999999999999\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\n",
		"GET http://h/ret/abs?q HTTP/1.1\r\nHost: h\r\n",
		"GET /ret/old HTTP/1.0\r\n",
		"GET /plain HTTP/1.1\r\nHost: h\r\n",
		"HEAD /other?x=1 HTTP/1.1\r\nHost: h\r\n",
	}
	pick := func(out string) string {
		var keep []string
		for _, l := range strings.Split(out, "\r\n") {
			if strings.HasPrefix(l, "HTTP/") || strings.HasPrefix(l, "x-line:") || strings.HasPrefix(l, "x-after:") || strings.HasPrefix(l, "[") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, " | ")
	}
	for _, r := range reqs {
		req := r + "Connection: close\r\n\r\n"
		if h, g := pick(rawExchange(t, hp, req, 2*time.Second)), pick(rawExchange(t, gp, req, 2*time.Second)); h != g {
			t.Errorf("%q:\nhaproxy %q\ngohaka  %q", r, h, g)
		}
	}
}
