package proxy

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// httpDiffConfig is the config both haproxy and gohaka run in the
// differential tests; %[1]d is the frontend port, %[2]d..%[3]d the echo
// servers, %[4]d a closed port.
const httpDiffConfig = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout http-request 2s
    retries 0

userlist users
    user admin insecure-password secret

frontend fe
    bind 127.0.0.1:%[1]d
    acl host_b hdr(host) -i b.example
    acl api path_beg /api
    acl api path_beg /v2
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path_end .limit }
    http-request deny if { method TRACE }
    http-request deny deny_status 405 if { method -i put } { path_beg /noput }
    http-request return status 200 content-type text/plain string "ret\n" if { path /ret }
    http-request return status 404 if { path /ret404 }
    http-request auth realm Private if { path_beg /private } !{ http_auth(users) }
    http-request redirect location /new code 301 if { path /old }
    http-request redirect scheme https if { path_beg /secure }
    redirect prefix http://p.example drop-query if { path_beg /pre }
    http-request allow if { path /allowed }
    http-request set-header X-Set fixed
    http-request add-header X-Add %%[path]
    http-request del-header X-Del
    http-request replace-header X-Rep (.*)-old \1-new
    http-request set-path /rewritten%%[path] if { path_beg /sp }
    http-request set-query a=1 if { path_beg /sq }
    http-request set-uri /newuri if { path /su }
    http-request set-method POST if { path /sm }
    http-response set-header X-Resp yes
    http-response del-header X-Server-Del
    http-response add-header X-Resp-Add 1
    use_backend be_none if { path_beg /none }
    use_backend be_slow if { path_beg /slow }
    use_backend be_sc if { path_beg /sc }
    use_backend be_hc if { path_beg /hc }
    use_backend be_down if { path_beg /down }
    use_backend be_b if host_b
    use_backend be_b if api
    use_backend be_b if { url_param(x) -m str go }
    use_backend be_b if { query -m sub zz }
    use_backend be_b if { hdr_cnt(x-multi) gt 1 }
    use_backend be_b if { path_reg ^/re[0-9]+$ }
    use_backend be_b if { path_dir dd }
    use_backend be_b if { path_sub subx }
    use_backend be_b if { hdr_beg(x-beg) abc }
    use_backend be_b if { hdr_end(x-end) xyz }
    use_backend be_b if { hdr_sub(x-sub) mid }
    use_backend be_b if { hdr_reg(x-reg) ^[0-9]+$ }
    use_backend be_b if { hdr_dom(x-dom) example.com }
    use_backend be_b if { base -m beg b2.example/base }
    use_backend be_b if { url -m end .php }
    use_backend be_b if { req.hdr(x-rh) -m found }
    use_backend be_b if { nbsrv(be_down) eq 1 } { path_beg /nb }
    use_backend be_b if { path -i /CASE }
    default_backend be_a

backend be_a
    option forwardfor
    server a 127.0.0.1:%[2]d

backend be_b
    http-request set-header X-Backend b
    http-response set-header X-Backend-Resp b
    server b 127.0.0.1:%[3]d

backend be_none

backend be_slow
    timeout server 500ms
    server a 127.0.0.1:%[2]d

backend be_sc
    option http-server-close
    server a 127.0.0.1:%[2]d

backend be_hc
    option httpclose
    server a 127.0.0.1:%[2]d

backend be_down
    server d 127.0.0.1:%[4]d
`

type diffCase struct {
	name string
	req  string
	full bool // compare the whole answer byte for byte (not only statuses)
}

const hostA = "Host: a.example\r\n"

const wsKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// smuggledChunk is a chunk holding a whole request (the TE.CL attack).
var smuggledChunk = func() string {
	inner := "GPOST /smuggled HTTP/1.1\r\n" + hostA + "\r\n"
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(inner), inner)
}()

var httpDiffCases = []diffCase{
	{"get", "GET / HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"deny", "GET /deny HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"deny 429", "GET /x.limit HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"deny trace", "TRACE / HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"deny put 405", "PUT /noput HTTP/1.1\r\n" + hostA + "Content-Length: 0\r\n\r\n", true},
	{"return", "GET /ret HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"return 404", "GET /ret404 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"auth needed", "GET /private HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"auth wrong", "GET /private HTTP/1.1\r\n" + hostA + "Authorization: Basic YWRtaW46eA==\r\n\r\n", true},
	{"auth ok", "GET /private HTTP/1.1\r\n" + hostA + "Authorization: Basic YWRtaW46c2VjcmV0\r\n\r\n", true},
	{"redirect location", "GET /old HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"redirect scheme", "GET /secure/x?q=1 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"redirect prefix", "GET /pre/y?q=1 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"redirect http/1.0", "GET /old HTTP/1.0\r\n\r\n", true},
	{"allow skips rewrites", "GET /allowed HTTP/1.1\r\n" + hostA + "X-Del: 1\r\n\r\n", true},
	{"header rules", "GET /h HTTP/1.1\r\n" + hostA + "X-Del: 1\r\nX-Rep: abc-old\r\nX-Set: client\r\n\r\n", true},
	{"set-path", "GET /sp/x?k=v HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"set-query", "GET /sq/x?k=v HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"set-uri", "GET /su HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"set-method", "GET /sm HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"no server 503", "GET /none HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"server down 503", "GET /down HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route host", "GET / HTTP/1.1\r\nHost: B.example\r\n\r\n", true},
	{"route path_beg 2 lines", "GET /v2/x HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route url_param", "GET /p?y=1&x=go HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route url_param no", "GET /p?x=gone HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route query sub", "GET /q?azzb HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route hdr_cnt", "GET / HTTP/1.1\r\n" + hostA + "X-Multi: 1\r\nX-Multi: 2\r\n\r\n", true},
	{"route hdr_cnt comma", "GET / HTTP/1.1\r\n" + hostA + "X-Multi: 1, 2\r\n\r\n", true},
	{"route path_reg", "GET /re42 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route path_reg no", "GET /re42x HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route path_dir", "GET /a/dd/b HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route path_dir no", "GET /a/ddd/b HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route path_sub", "GET /asubxb HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route hdr_beg", "GET / HTTP/1.1\r\n" + hostA + "X-Beg: abcdef\r\n\r\n", true},
	{"route hdr_end", "GET / HTTP/1.1\r\n" + hostA + "X-End: uvwxyz\r\n\r\n", true},
	{"route hdr_sub", "GET / HTTP/1.1\r\n" + hostA + "X-Sub: amidb\r\n\r\n", true},
	{"route hdr_reg", "GET / HTTP/1.1\r\n" + hostA + "X-Reg: 12345\r\n\r\n", true},
	{"route hdr_dom", "GET / HTTP/1.1\r\n" + hostA + "X-Dom: www.example.com\r\n\r\n", true},
	{"route hdr_dom no", "GET / HTTP/1.1\r\n" + hostA + "X-Dom: www.example.comx\r\n\r\n", true},
	{"route base", "GET /base/x HTTP/1.1\r\nHost: b2.example\r\n\r\n", true},
	{"route url end", "GET /index.php HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route req.hdr found", "GET / HTTP/1.1\r\n" + hostA + "X-RH: \r\n\r\n", true},
	{"route nbsrv", "GET /nb HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"route -i", "GET /case HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"post content-length", "POST /p HTTP/1.1\r\n" + hostA + "Content-Length: 5\r\n\r\nhello", true},
	{"post chunked", "POST /p HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n", true},
	{"chunked response", "GET /chunked HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"close-delimited response", "GET /close HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"204", "GET /204 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"head", "HEAD / HTTP/1.1\r\n" + hostA + "\r\n", false},
	{"http/1.0", "GET / HTTP/1.0\r\n\r\n", true},
	{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n", true},
	{"pipelining", "GET /1 HTTP/1.1\r\n" + hostA + "\r\nGET /2 HTTP/1.1\r\n" + hostA + "\r\nPOST /3 HTTP/1.1\r\n" + hostA + "Content-Length: 2\r\n\r\nokGET /4 HTTP/1.1\r\n" + hostA + "Connection: close\r\n\r\n", true},
	{"pipelining then bad", "GET /1 HTTP/1.1\r\n" + hostA + "\r\nG@T / HTTP/1.1\r\n\r\n", true},
	{"pipelining with deny", "GET /deny HTTP/1.1\r\n" + hostA + "\r\nGET /2 HTTP/1.1\r\n" + hostA + "Connection: close\r\n\r\n", true},
	{"absolute uri", "GET http://a.example/abs?x=1 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"absolute uri host mismatch", "GET http://b.example/ HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"options *", "OPTIONS * HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"no host", "GET / HTTP/1.1\r\n\r\n", true},
	{"bad method", "G@T / HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"bad version", "GET / http/1.1\r\n" + hostA + "\r\n", true},
	{"http/0.9", "GET /\r\n\r\n", true},
	{"space in name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", true},
	{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", true},
	{"no colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", true},
	{"empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", true},
	{"bare CR", "GET / HTTP/1.1\rHost: a\r\n\r\n", true},
	{"fold on first header", "GET / HTTP/1.1\r\n X: a\r\n\r\n", true},
	{"obs-fold", "GET / HTTP/1.1\r\n" + hostA + "X-F: a\r\n b\r\n\r\n", true},
	{"bare LF", "GET / HTTP/1.1\n" + "Host: a.example\n\n", true},
	{"fragment in uri", "GET /a#b HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"non-ascii uri", "GET /\xc3\xa9 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"CL+TE smuggling", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + hostA + "Connection: close\r\n\r\n", true},
	{"TE+CL smuggling", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + smuggledChunk + "GET /after HTTP/1.1\r\n" + hostA + "Connection: close\r\n\r\n", true},
	{"duplicate CL differing", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", true},
	{"duplicate CL same", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", true},
	{"CL list", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 3, 3\r\n\r\nabc", true},
	{"CL list differing", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 3, 4\r\n\r\nabc", true},
	{"CL negative", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: -1\r\n\r\n", true},
	{"CL plus", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: +3\r\n\r\nabc", true},
	{"CL overflow", "POST / HTTP/1.1\r\n" + hostA + "Content-Length: 99999999999999999999999\r\n\r\n", true},
	{"TE not chunked", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: identity\r\n\r\n", true},
	{"TE chunked twice", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", true},
	{"TE chunked not last", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", true},
	{"TE gzip, chunked", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", true},
	{"TE xchunked", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", true},
	{"chunk size bad", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", true},
	{"chunk size negative", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", true},
	{"chunk size huge", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n", true},
	{"chunk data too long", "POST / HTTP/1.1\r\n" + hostA + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", true},
	{"HTTP/1.0 chunked", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", true},
	{"huge header", "GET / HTTP/1.1\r\n" + hostA + "X: " + strings.Repeat("x", 17000) + "\r\n\r\n", true},
	{"header at limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 15241) + "\r\n\r\n", false},
	{"header over limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 15242) + "\r\n\r\n", true},
	{"100 headers", "GET / HTTP/1.1\r\n" + strings.Repeat("a: b\r\n", 100) + "\r\n", false},
	{"101 headers", "GET / HTTP/1.1\r\n" + strings.Repeat("a: b\r\n", 101) + "\r\n", true},
	{"incomplete head 408", "GET / HTTP/1.1\r\n" + hostA, true},
	{"expect 100-continue", "POST /e HTTP/1.1\r\n" + hostA + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", true},
	{"websocket", "GET /ws HTTP/1.1\r\n" + hostA + "Connection: Upgrade\r\nUpgrade: websocket\r\n" + wsKey + "\r\n", true},
	{"websocket without key", "GET /ws HTTP/1.1\r\n" + hostA + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", true},
	{"data before 101", "GET /ws HTTP/1.1\r\n" + hostA + "Connection: Upgrade\r\nUpgrade: websocket\r\n" + wsKey + "\r\nhello", true},
	{"lower-case method", "get / HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"connection close", "GET / HTTP/1.1\r\n" + hostA + "Connection: close\r\n\r\n", true},
	{"server too slow 504", "GET /slow HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"bad response 502", "GET /badresp HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"empty response 502", "GET /empty HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"http-server-close", "GET /sc/1 HTTP/1.1\r\n" + hostA + "\r\nGET /sc/2 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"httpclose", "GET /hc/1 HTTP/1.1\r\n" + hostA + "\r\nGET /hc/2 HTTP/1.1\r\n" + hostA + "\r\n", true},
	{"nothing sent", "", true},
	{"leading CRLF", "\r\nGET / HTTP/1.1\r\n" + hostA + "\r\n", true},
}

// TestHTTPSameAnswersAsHAProxy sends every request of the table over raw
// TCP to real haproxy 2.6 and to gohaka, both with httpDiffConfig in front
// of the same echo servers. The answers (status lines, headers, the head
// the backend received, error pages) must be byte for byte the same.
func TestHTTPSameAnswersAsHAProxy(t *testing.T) {
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	dead := deadPort(t)
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(httpDiffConfig, hp, a, b, dead), hp)
	startRuntime(t, fmt.Sprintf(httpDiffConfig, gp, a, b, dead))
	if len(httpDiffCases) < 60 {
		t.Fatalf("only %d cases", len(httpDiffCases))
	}
	type res struct{ h, g string }
	out := make([]res, len(httpDiffCases))
	done := make(chan int, len(httpDiffCases))
	for i, c := range httpDiffCases {
		go func() {
			// the 408 case waits for timeout http-request (2s)
			out[i] = res{rawExchange(t, hp, c.req, 3*time.Second), rawExchange(t, gp, c.req, 3*time.Second)}
			done <- i
		}()
	}
	for range httpDiffCases {
		<-done
	}
	for i, c := range httpDiffCases {
		h, g := out[i].h, out[i].g
		h, g = strings.ReplaceAll(h, fmt.Sprint(hp), "PORT"), strings.ReplaceAll(g, fmt.Sprint(gp), "PORT")
		if statuses(h) == "" && c.req != "" {
			t.Errorf("%s: haproxy gave no answer: %q", c.name, h)
		}
		if statuses(h) != statuses(g) {
			t.Errorf("%s: statuses haproxy %q, gohaka %q\nhaproxy: %q\ngohaka:  %q", c.name, statuses(h), statuses(g), clip(h), clip(g))
			continue
		}
		if c.full && h != g {
			t.Errorf("%s: answers differ\nhaproxy: %q\ngohaka:  %q", c.name, clip(h), clip(g))
		}
	}
}

func clip(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "..."
	}
	return s
}

// TestHTTPErrorfilesSameAsHAProxy: Debian's errorfiles (no length, HTTP/1.0)
// for a deny, a 503 in a backend and a 502, sent as haproxy sends them.
func TestHTTPErrorfilesSameAsHAProxy(t *testing.T) {
	for _, f := range []string{"403", "502", "503"} {
		if _, err := os.Stat("/etc/haproxy/errors/" + f + ".http"); err != nil {
			t.Skip("haproxy's errorfiles are not installed (apt-get install haproxy)")
		}
	}
	a := httpEchoServer(t, "A")
	hp, gp := freePort(t), freePort(t)
	cfg := `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    errorfile 403 /etc/haproxy/errors/403.http
frontend fe
    bind 127.0.0.1:%d
    http-request deny if { path /deny }
    use_backend be_none if { path /none }
    default_backend be
backend be
    errorfile 502 /etc/haproxy/errors/502.http
    server a 127.0.0.1:%d
backend be_none
    errorfile 503 /etc/haproxy/errors/503.http
`
	runHAProxy(t, fmt.Sprintf(cfg, hp, a), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, a))
	for _, p := range []string{"/deny", "/none", "/badresp", "/"} {
		req := "GET " + p + " HTTP/1.1\r\nHost: a\r\n\r\n"
		h, g := rawExchange(t, hp, req, time.Second), rawExchange(t, gp, req, time.Second)
		if h != g || h == "" {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", p, clip(h), clip(g))
		}
	}
}
