package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// TestHTTPClientStaysAfter502And504: a server that answers with an
// invalid status line (502) or not in time (504) loses its connection,
// the client keeps its own: the next request on it is answered, through
// haproxy 2.6 as through gohaka.
func TestHTTPClientStaysAfter502And504(t *testing.T) {
	sp := answerHeads(t, badServerAnswer)
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 300ms\n\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n\nbackend be\n    server s 127.0.0.1:%d\n"
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp, sp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, sp))
	// one request after the other on one connection, each answer read
	// whole (by its content-length) before the next request goes
	twoRequests := func(port int, first string) string {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var got []string
		for _, path := range []string{first, "/ok"} {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				got = append(got, "closed")
				break
			}
			io.Copy(io.Discard, resp.Body)
			got = append(got, strconv.Itoa(resp.StatusCode))
		}
		return strings.Join(got, " ")
	}
	for _, first := range []string{"/bad", "/slow"} {
		ha, gh := twoRequests(hp, first), twoRequests(gp, first)
		if ha != gh || !strings.HasSuffix(ha, " 200") {
			t.Errorf("%s then /ok: haproxy %q, gohaka %q", first, ha, gh)
		}
	}
}

// badServerAnswer answers /bad with an invalid status line, /slow not at
// all, anything else 200; each connection ends after its answer.
func badServerAnswer(head string) (string, bool) {
	switch {
	case strings.HasPrefix(head, "GET /bad "):
		return "HTTP/1.1 2x0 Nope\r\n\r\n", false
	case strings.HasPrefix(head, "GET /slow "):
		time.Sleep(time.Second)
		return "", false
	}
	return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
}
