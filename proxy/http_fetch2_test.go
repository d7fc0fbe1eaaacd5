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
	hp, gp := startBoth(t, cfg, srv)
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
	pick := func(out string) string { return linesWith(out, "HTTP/", "x-line:", "x-after:", "[") }
	for _, r := range reqs {
		req := r + "Connection: close\r\n\r\n"
		if h, g := pick(rawExchange(t, hp, req, 2*time.Second)), pick(rawExchange(t, gp, req, 2*time.Second)); h != g {
			t.Errorf("%q:\nhaproxy %q\ngohaka  %q", r, h, g)
		}
	}
}

// TestProxyV2TLVsAsHAProxy: fc_pp_unique_id and fc_pp_authority read the
// TLVs of a PROXY v2 header (accept-proxy), as in haproxy 2.6; nothing
// without them.
func TestProxyV2TLVsAsHAProxy(t *testing.T) {
	cfg := httpDefaults + "frontend fe\n    bind 127.0.0.1:%d accept-proxy\n" +
		"    http-after-response set-header x-uid %%[fc_pp_unique_id,hex]\n" +
		"    http-after-response set-header x-auth %%[fc_pp_authority]\n" +
		"    http-request return status 200 content-type text/plain lf-string \"%%[src] %%[fc_pp_unique_id,hex]\"\n"
	hp, gp := startBoth(t, cfg)
	tlv := func(typ byte, v string) []byte { return append([]byte{typ, byte(len(v) >> 8), byte(len(v))}, v...) }
	v2 := func(tlvs ...[]byte) []byte {
		body := []byte{192, 0, 2, 7, 192, 0, 2, 1, 0x30, 0x39, 0, 80}
		for _, x := range tlvs {
			body = append(body, x...)
		}
		h := append(append([]byte{}, proxyV2Sig...), 0x21, 0x11, byte(len(body)>>8), byte(len(body)))
		return append(h, body...)
	}
	req := "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	for name, head := range map[string][]byte{
		"unique id and authority": v2(tlv(0x05, "\x01\x02\xffid"), tlv(0x02, "example.com")),
		"other tlvs":              v2(tlv(0x01, "h2"), tlv(0x04, "noop")),
		"none":                    v2(),
		"v1":                      []byte("PROXY TCP4 192.0.2.7 192.0.2.1 12345 80\r\n"),
	} {
		pick := func(out string) string { return linesWith(out, "HTTP/", "x-", "192.") }
		h, g := pick(rawExchange(t, hp, string(head)+req, 2*time.Second)), pick(rawExchange(t, gp, string(head)+req, 2*time.Second))
		if h != g || !strings.HasPrefix(h, "HTTP/1.1 200") {
			t.Errorf("%s:\nhaproxy %q\ngohaka  %q", name, h, g)
		}
		if name == "unique id and authority" && !strings.Contains(g, "x-uid: 0102FF6964") {
			t.Errorf("the unique id TLV was not read: %q", g)
		}
	}
}
