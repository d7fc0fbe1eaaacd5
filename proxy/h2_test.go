package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

const h2Config = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d ssl crt %[2]s alpn h2,http/1.1
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-SNI %%[ssl_fc_sni]
    http-request set-header X-ALPN %%[ssl_fc_alpn]
    http-request redirect location /new code 301 if { path /old }
    http-request return status 200 content-type text/plain string "ret\n" if { path /ret }
    http-request deny if { path /deny }
    http-response set-header X-Resp yes
    use_backend be_b if { ssl_fc_sni -i b.example.com }
    use_backend be_none if { path /none }
    default_backend be_a

backend be_a
    server a 127.0.0.1:%[3]d

backend be_b
    http-response del-header X-Server-Del
    server b 127.0.0.1:%[4]d

backend be_none
`

// h2Client is an HTTP/2 client over TLS that trusts ca and asks for sni.
func h2Client(ca *testCA, sni string) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: sni, RootCAs: roots}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h2Answer is what the comparison looks at: protocol, status, chosen
// headers, the certificate shown, and the head the backend received as a
// sorted set of lines.
func h2Answer(t *testing.T, c *http.Client, method string, p int, path, body string, cookie ...string) string {
	req, _ := http.NewRequest(method, fmt.Sprintf("https://127.0.0.1:%d%s", p, path), strings.NewReader(body))
	if body == "" {
		req.Body = nil
	}
	req.Header.Set("X-Test", "1")
	for _, c := range cookie {
		req.Header.Add("Cookie", c)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("%s %s on %d: %v", method, path, p, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	sort.Strings(lines)
	out := fmt.Sprintf("%s %d cert=%s", resp.Proto, resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
	for _, h := range []string{"Location", "Content-Type", "X-Resp", "X-Server", "X-Server-Del", "Content-Length", "Set-Cookie", "Cache-Control"} {
		out += fmt.Sprintf(" %s=%q", h, resp.Header.Values(h))
	}
	return strings.ReplaceAll(out+"\n"+strings.Join(lines, "\n"), fmt.Sprint(p), "PORT")
}

// TestHTTP2ClientsSameAsHAProxy: HTTP/2 clients over TLS (ALPN h2), SNI
// choosing one of two certificates and the backend, get through gohaka
// what they get through haproxy 2.6: status, headers, the head the
// HTTP/1.1 backend saw (rules applied), redirects, returns, denies, 503.
func TestHTTP2ClientsSameAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(h2Config, hp, dir, a, b), hp)
	startRuntime(t, fmt.Sprintf(h2Config, gp, dir, a, b))
	type call struct{ sni, method, path, body, want string }
	calls := []call{
		{"a.example.com", "GET", "/x?q=1", "", "x-alpn: h2"},
		{"b.example.com", "GET", "/y", "", "server B"},
		{"a.example.com", "POST", "/post", "hello h2", "hello h2"},
		{"b.example.com", "GET", "/chunked", "", "server B"},
		{"a.example.com", "GET", "/old", "", "HTTP/2.0 301"},
		{"a.example.com", "GET", "/ret", "", "ret"},
		{"a.example.com", "GET", "/deny", "", "HTTP/2.0 403"},
		{"a.example.com", "GET", "/none", "", "HTTP/2.0 503"},
		{"a.example.com", "HEAD", "/", "", "HTTP/2.0 200"},
		{"a.example.com", "GET", "/204", "", "HTTP/2.0 204"},
	}
	clients := map[string][2]*http.Client{}
	for _, c := range calls {
		if _, ok := clients[c.sni]; !ok {
			clients[c.sni] = [2]*http.Client{h2Client(ca, c.sni), h2Client(ca, c.sni)}
		}
		cl := clients[c.sni]
		h := h2Answer(t, cl[0], c.method, hp, c.path, c.body)
		g := h2Answer(t, cl[1], c.method, gp, c.path, c.body)
		if !strings.Contains(h, c.want) || !strings.Contains(h, "cert="+c.sni) {
			t.Errorf("%s %s: haproxy's answer lacks %q or cert %s:\n%s", c.method, c.path, c.want, c.sni, h)
		}
		if h != g {
			t.Errorf("%s %s (%s):\nhaproxy: %s\ngohaka:  %s", c.method, c.path, c.sni, h, g)
		}
	}
}

// TestHTTP2ConcurrentStreams: many streams at once on one HTTP/2
// connection each get their own backend answer; later streams reuse the
// idle server connections; an HTTP/1.1 client on the
// same bind (ALPN http/1.1) is served by the HTTP/1.1 engine.
func TestHTTP2ConcurrentStreams(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, na := countingEchoServer(t, "A")
	b := httpEchoServer(t, "B")
	gp := freePort(t)
	startRuntime(t, fmt.Sprintf(h2Config, gp, dir, a, b))
	c := h2Client(ca, "a.example.com")
	const n = 40
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/stream/%d", gp, i))
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || !strings.Contains(string(body), fmt.Sprintf("GET /stream/%d HTTP/1.1", i)) {
				errs <- fmt.Errorf("stream %d: %s %q", i, resp.Proto, body)
				return
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// one after the other, the streams reuse the idle server connections
	opened := na.Load()
	for i := 0; i < 10; i++ {
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/seq/%d", gp, i))
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if na.Load() != opened {
		t.Errorf("sequential streams opened %d new server connections", na.Load()-opened)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	h1c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "b.example.com", RootCAs: roots, NextProtos: []string{"http/1.1"}}}}
	resp, err := h1c.Get(fmt.Sprintf("https://127.0.0.1:%d/one", gp))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 1 || !strings.HasPrefix(string(body), "server B\n") || resp.Header.Get("X-Resp") != "yes" {
		t.Errorf("HTTP/1.1 over the h2 bind: %s %q", resp.Proto, body)
	}
}

const h2CookieConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d ssl crt %[2]s alpn h2,http/1.1
    use_backend be_prefix if { path_beg /prefix }
    default_backend be_insert

backend be_insert
    cookie SERVERID insert indirect nocache httponly
    server s1 127.0.0.1:%[3]d cookie c1
    server s2 127.0.0.1:%[4]d cookie c2

backend be_prefix
    cookie JSESSIONID prefix
    server s1 127.0.0.1:%[3]d cookie c1
    server s2 127.0.0.1:%[4]d cookie c2
`

// TestHTTP2CookiesSameAsHAProxy: cookie persistence over HTTP/2 gives
// the same Set-Cookie, the same stickiness, the same cookies at the
// servers and the same log lines (option httplog, with the cookie
// letters of the termination state) as haproxy 2.6.
func TestHTTP2CookiesSameAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	logged := func(cfg string, sink *logSink) string {
		return strings.Replace(cfg, "defaults\n", "global\n    log "+sink.pc.LocalAddr().String()+" format raw local0\ndefaults\n    log global\n    option httplog\n", 1)
	}
	runHAProxy(t, logged(fmt.Sprintf(h2CookieConfig, hp, dir, a, b), hlog), hp)
	startRuntime(t, logged(fmt.Sprintf(h2CookieConfig, gp, dir, a, b), glog))
	hlog.collect(200 * time.Millisecond) // runHAProxy's look at the port
	hc, gc := h2Client(ca, "a.example.com"), h2Client(ca, "a.example.com")
	for _, c := range []struct{ path, cookie, want string }{
		{"/", "", "SERVERID=c1"},
		{"/", "", "SERVERID=c2"},
		{"/", "SERVERID=c2", "server B"},
		{"/", "SERVERID=c2; other=1", "other=1"},
		{"/", "SERVERID=zz", "SERVERID=c"},
		{"/prefix/setcookie", "", "JSESSIONID=c"},
		{"/prefix/x", "JSESSIONID=c2~abc", "JSESSIONID=abc"},
	} {
		var ck []string
		if c.cookie != "" {
			ck = []string{c.cookie}
		}
		h := h2Answer(t, hc, "GET", hp, c.path, "", ck...)
		g := h2Answer(t, gc, "GET", gp, c.path, "", ck...)
		if !strings.Contains(h, c.want) {
			t.Errorf("%s %q: haproxy's answer lacks %q:\n%s", c.path, c.cookie, c.want, h)
		}
		if h != g {
			t.Errorf("%s %q:\nhaproxy: %s\ngohaka:  %s", c.path, c.cookie, h, g)
		}
	}
	lines := func(sink *logSink, p int) string {
		var out []string
		for _, l := range sink.collect(400 * time.Millisecond) {
			out = append(out, normHTTPLog(strings.ReplaceAll(l, fmt.Sprintf(":%d/", p), ":PORT/")))
		}
		return strings.Join(out, "")
	}
	hl, gl := lines(hlog, hp), lines(glog, gp)
	if !strings.Contains(hl, " --NI ") || hl != gl {

		t.Errorf("log lines differ:\nhaproxy:\n%s\ngohaka:\n%s", hl, gl)
	}
}

// TestHTTP2SoftStop: a soft stop lets a running HTTP/2 stream finish,
// then the connection ends.
func TestHTTP2SoftStop(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	gp := freePort(t)
	r := startRuntime(t, fmt.Sprintf(h2Config, gp, dir, a, b))
	c := h2Client(ca, "a.example.com")
	done := make(chan string, 1)
	go func() {
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/slow", gp)) // the server answers after 1s
		if err != nil {
			done <- err.Error()
			return
		}
		resp.Body.Close()
		done <- resp.Proto + " " + resp.Status
	}()
	time.Sleep(300 * time.Millisecond)
	r.SoftStop()
	if got := <-done; got != "HTTP/2.0 200 OK" {
		t.Fatalf("the running stream got %q", got)
	}
	// the connection is gone: a new request cannot reuse it, and the
	// listener is closed
	if _, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/", gp)); err == nil {
		t.Error("a request after the soft stop was served")
	}
}

// TestHTTP2LargeBodies: request bodies larger than what is kept for a
// retry are streamed to the server, with their length or chunked when the
// client gave none, and arrive whole.
func TestHTTP2LargeBodies(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	gp := freePort(t)
	startRuntime(t, fmt.Sprintf(h2Config, gp, dir, a, b))
	c := h2Client(ca, "a.example.com")
	payload := strings.Repeat("0123456789abcdef", 40<<10) // 640 KiB
	for _, known := range []bool{true, false} {
		var body io.Reader = strings.NewReader(payload)
		if !known {
			pr, pw := io.Pipe()
			go func() { io.WriteString(pw, payload); pw.Close() }()
			body = pr
		}
		req, _ := http.NewRequest("POST", fmt.Sprintf("https://127.0.0.1:%d/big", gp), body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		head, rest, _ := strings.Cut(string(got), "\r\n\r\n")
		if known && (!strings.Contains(head, "content-length: 655360") || rest != payload) {
			t.Errorf("known length: head %q, %d bytes of body", head, len(rest))
		}
		if !known {
			if !strings.Contains(head, "transfer-encoding: chunked") {
				t.Errorf("unknown length: head %q", head)
			}
			var dec strings.Builder
			for rest != "" { // undo the chunking the echo server saw
				size, after, _ := strings.Cut(rest, "\r\n")
				n, err := strconv.ParseInt(size, 16, 64)
				if err != nil || n == 0 {
					break
				}
				dec.WriteString(after[:n])
				rest = after[n+2:]
			}
			if dec.String() != payload {
				t.Errorf("unknown length: %d bytes arrived", dec.Len())
			}
		}
	}
}

// TestH2MaxStreamsSetting: tune.h2.max-concurrent-streams is read from
// the global section; haproxy's default is 100.
func TestH2MaxStreamsSetting(t *testing.T) {
	for text, want := range map[string]int{"": 100, "    tune.h2.max-concurrent-streams 7\n": 7} {
		cfg, ds := parser.LoadHAProxyBytes("t.cfg", []byte("global\n"+text+"defaults\n    mode http\n"), parser.Options{Offline: true})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		if got := h2MaxStreams(&cfg.Global); got != want {
			t.Errorf("%q: %d, want %d", text, got, want)
		}
	}
}
