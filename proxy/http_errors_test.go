package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// TestHTTPErrorsSectionsAsHAProxy: http-errors sections imported with
// `errorfiles NAME [CODE...]` in defaults, frontend and backend give the
// same answers as haproxy 2.6 (deny, 503, 502), together with errorfile.
func TestHTTPErrorsSectionsAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, code int, reason, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", code, reason, len(body), body), 0o644)
		return p
	}
	cfg := `http-errors site
    errorfile 403 ` + file("s403", 403, "Forbidden", "site 403\n") + `
    errorfile 503 ` + file("s503", 503, "Service Unavailable", "site 503\n") + `

http-errors other
    errorfile 502 ` + file("o502", 502, "Bad Gateway", "other 502\n") + `
    errorfile 503 ` + file("o503", 503, "Service Unavailable", "other 503\n") + `
    errorfile 403 ` + file("o403", 403, "Forbidden", "other 403\n") + `

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    errorfiles other 502

frontend fe
    bind 127.0.0.1:%d
    errorfiles site
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path /429 }
    use_backend be_none if { path /none }
    use_backend be_one if { path /one }
    default_backend be

backend be
    server a 127.0.0.1:%d

backend be_none
    errorfiles other 503

backend be_one
    errorfile 503 ` + file("one503", 503, "Service Unavailable", "one 503\n") + `
`
	a := httpEchoServer(t, "A")
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp, a), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, a))
	for _, c := range []struct{ path, want string }{
		{"/deny", "site 403"}, {"/429", "429"}, {"/none", "other 503"}, {"/one", "one 503"}, {"/badresp", "other 502"}, {"/", "server A"},
	} {
		req := "GET " + c.path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
		h, g := rawExchange(t, hp, req, time.Second), rawExchange(t, gp, req, time.Second)
		if !strings.Contains(h, c.want) {
			t.Errorf("%s: haproxy's answer lacks %q: %q", c.path, c.want, h)
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.path, clip(h), clip(g))
		}
	}
}

// TestHTTPReturnFileAndLogFormatAsHAProxy: `http-request return` with a
// file, an lf-file and an lf-string body (fetches, a converter, headers)
// answers as haproxy 2.6 does.
func TestHTTPReturnFileAndLogFormatAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static.txt")
	os.WriteFile(static, []byte("static body %[path]\n"), 0o644)
	lff := filepath.Join(dir, "lf.txt")
	os.WriteFile(lff, []byte("lf file %[path] %[req.hdr(x-a)]\n"), 0o644)
	cfg := `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain file ` + static + ` if { path /file }
    http-request return status 201 content-type text/plain lf-file ` + lff + ` if { path /lffile }
    http-request return status 200 content-type "text/plain; charset=utf-8" lf-string "hello %%[req.hdr(x-a),upper] on %%[path] from %%[src]" hdr X-Made yes if { path_beg /lf }
    http-request return status 404 content-type text/plain lf-string "none" if { path /nolen }
`
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	for _, c := range []struct{ path, want string }{
		{"/file", "static body %[path]"}, {"/lffile", "lf file /lffile abc"}, {"/lf/x", "hello ABC on /lf/x from 127.0.0.1"}, {"/nolen", "none"},
	} {
		req := "GET " + c.path + " HTTP/1.1\r\nHost: a\r\nX-A: abc\r\nConnection: close\r\n\r\n"
		h, g := rawExchange(t, hp, req, time.Second), rawExchange(t, gp, req, time.Second)
		if !strings.Contains(h, c.want) {
			t.Errorf("%s: haproxy's answer lacks %q: %q", c.path, c.want, h)
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.path, clip(h), clip(g))
		}
	}
}

// TestHTTPReturnNeedsContentType: as haproxy, a return with a payload
// and no content-type is a configuration error.
func TestHTTPReturnNeedsContentType(t *testing.T) {
	for _, rule := range []string{`lf-string "x"`, `string "x"`} {
		cfg, ds := parser.LoadHAProxyBytes("t.cfg", []byte("defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:1\n    http-request return status 200 "+rule+"\n"), parser.Options{Offline: true})
		if ds.HasErrors() {
			t.Logf("%s: refused by the parser: %s", rule, ds)
			continue
		}
		if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "content type must be defined") {
			t.Errorf("%s: got %v", rule, err)
		}
	}
}
