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
