package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/testport"
)

// fuzzResponse is what the fuzz target's server answers (one fuzz input
// at a time per process).
var fuzzResponse atomic.Value

const fuzzDefaultResponse = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\n\r\nok\n"

// fuzzProxyConfig is an http frontend with the rules haproxy users write
// most (header rewrites, ACLs of each kind, redirects, auth, variables,
// cookies, hashing balancers, response rules) in front of server port sp.
func fuzzProxyConfig(fp, sp int) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    option forwardfor
userlist u
    user admin insecure-password pw
frontend fe
    bind 127.0.0.1:%[1]d
    acl api path_beg /api
    acl h hdr_dom(host) -i example.com
    acl m method POST PUT
    http-request deny if { path_sub /deny }
    http-request auth realm r if { path_beg /auth } !{ http_auth(u) }
    http-request redirect scheme https code 301 if { path_beg /r }
    http-request redirect prefix /p drop-query if { path_beg /pre }
    http-request set-header X-Path %%[path]
    http-request add-header X-Q %%[query]
    http-request replace-header User-Agent (.*) ua-\1
    http-request replace-value X-List ([^,]*) v-\1
    http-request set-var(txn.q) url_param(q)
    http-request set-path /x%%[path] if { path_beg /sp }
    http-request set-query a=%%[url_param(b)] if { url_param(b) -m found }
    http-request del-header X-Drop
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr(host)]" if { path /ret }
    use_backend b2 if api || h
    use_backend b3 if m
    default_backend b1
backend b1
    balance uri
    cookie SRV insert indirect nocache
    server s1 127.0.0.1:%[2]d cookie a
    server s2 127.0.0.1:%[2]d cookie b
backend b2
    balance url_param q
    http-response set-header X-Q %%[var(txn.q)]
    http-response del-header Server
    http-response replace-header Set-Cookie (.*) c-\1
    server s3 127.0.0.1:%[2]d
backend b3
    balance hdr(X-Key)
    cookie C prefix
    http-response deny if { status 418 }
    server s4 127.0.0.1:%[2]d cookie d
`, fp, sp)
}

// fuzzAnswer answers every read on c with fuzzResponse.
func fuzzAnswer(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if n > 0 {
			c.Write([]byte(fuzzResponse.Load().(string)))
		}
		if err != nil {
			return
		}
	}
}

// exchange sends in to the proxy on port p, half-closes and reads what
// comes back until the end (or 3 seconds).
func exchange(p int, in []byte) ([]byte, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write(in)
	c.(*net.TCPConn).CloseWrite()
	return io.ReadAll(c)
}

// FuzzHTTPProxy sends arbitrary bytes through a running http frontend
// full of rules: a request (and, after a "\x00\x00", the server's answer)
// must never stop the runtime; every 32 inputs a plain request must still
// be answered.
func FuzzHTTPProxy(f *testing.F) {
	fuzzResponse.Store(fuzzDefaultResponse)
	sp := serveEach(f, func(c net.Conn) { go fuzzAnswer(c) })
	fp := testport.Free(f)
	cfg, ds := parser.LoadHAProxyBytes("fuzz.cfg", []byte(fuzzProxyConfig(fp, sp)), parser.Options{Offline: true})
	if ds.HasErrors() {
		f.Fatalf("config: %s", ds)
	}
	r, err := New(cfg, Options{Logf: func(string, ...any) {}})
	if err != nil {
		f.Fatal(err)
	}
	if err := r.Start(); err != nil {
		f.Fatal(err)
	}
	defer r.Stop()
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /api/x?q=1&b=2 HTTP/1.1\r\nHost: example.com\r\nX-List: a, b\r\nUser-Agent: z\r\n\r\n",
		"POST /sp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Key: k\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /auth HTTP/1.0\r\nAuthorization: Basic YWRtaW46cHc=\r\n\r\n",
		"GET /ret HTTP/1.1\r\nHost: h\r\n\r\nGET /r HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nCookie: SRV=b\r\n\r\n\x00\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: x=1\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi\x00\x00HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 418 T\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	var runs int
	f.Fuzz(func(t *testing.T, in []byte) {
		req, resp, split := bytes.Cut(in, []byte("\x00\x00"))
		fuzzResponse.Store(fuzzDefaultResponse)
		if split {
			fuzzResponse.Store(string(resp))
		}
		exchange(fp, req)         // resets, refusals and error pages are all answers
		if runs++; runs%32 != 1 { // the first input and every 32nd after
			return
		}
		fuzzResponse.Store(fuzzDefaultResponse)
		out, err := exchange(fp, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		if !bytes.HasPrefix(out, []byte("HTTP/1.1 200")) {
			t.Fatalf("after %q the proxy answers a plain request with %q (%v)", in, out, err)
		}
	})
}
