package proxy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawResponses are server answers by path, as the server sends them.
var rawResponses = map[string]string{
	"/c0":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"/c1":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"/c4":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n",
	"/ct":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
	"/cl":   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Pad: aaaaaaaaaa\r\n\r\n0123456789",
	"/eof":  "HTTP/1.1 200 OK\r\n\r\n0123456789",
	"/ck":   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"/rw":   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: aaaaaaaaaa\r\n\r\nok",
	"/conn": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
}

// TestResponseBytesAsHAProxy: the log's %B counts a server's response as
// haproxy 2.6 does, as it came from the server: chunked bodies by their
// data (plus trailers and the end), not by the chunks gohaka sends
// again; a cookie inserted or a header set by http-response not at all.
func TestResponseBytesAsHAProxy(t *testing.T) {
	sp := answerHeads(t, func(head string) (string, bool) {
		return rawResponses[strings.Fields(head)[1]], false
	})
	cfg := "global\n    log %s local0\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    use_backend ck if { path /ck }\n    default_backend be\n" +
		"backend be\n    http-response set-header X-New 123456789 if { res.hdr(x-pad) -m found }\n    http-response del-header X-Pad\n    server s 127.0.0.1:%d\n" +
		"backend ck\n    cookie SRV insert indirect\n    server s 127.0.0.1:%d cookie s1\n"
	bytesOf := regexp.MustCompile(`\] fe \S+ \S+ \d+ (\d+) .*"GET (\S+)`)
	run := func(start func(cfg string, port int)) map[string]string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := freePort(t)
		start(fmt.Sprintf(cfg, udp.pc.LocalAddr(), p, sp, sp), p)
		got := map[string]string{}
		for path := range rawResponses {
			rawExchange(t, p, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2*time.Second)
		}
		for _, l := range udp.collect(300 * time.Millisecond) {
			if m := bytesOf.FindStringSubmatch(l); m != nil {
				got[m[2]] = m[1]
			}
		}
		return got
	}
	ha := run(func(cfg string, p int) { runHAProxy(t, cfg, p) })
	gh := run(func(cfg string, p int) { startRuntime(t, cfg) })
	for path := range rawResponses {
		if ha[path] == "" || ha[path] != gh[path] {
			t.Errorf("%s: %%B haproxy %q, gohaka %q", path, ha[path], gh[path])
		}
	}
}

// TestRequestBytesAsHAProxy: %U counts a chunked request body as haproxy
// 2.6 does, by its data, trailers and end, not by its chunk sizes.
func TestRequestBytesAsHAProxy(t *testing.T) {
	reqs := map[string]string{
		"/cl": "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"/ch": "POST /ch HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n",
		"/ct": "POST /ct HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"/c0": "POST /c0 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
	}
	cfg := "global\n    log %s local0\ndefaults\n    mode http\n    log global\n    log-format \"%%f %%U %%r\"\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n    server s 127.0.0.1:%d\n" +
		"frontend srv\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string ok\n"
	line := regexp.MustCompile(`fe (\d+) POST (\S+)`)
	run := func(start func(cfg string, ports ...int)) map[string]string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p, sp := freePort(t), freePort(t)
		start(fmt.Sprintf(cfg, udp.pc.LocalAddr(), p, sp, sp), p, sp)
		for _, r := range reqs {
			rawExchange(t, p, r, 2*time.Second)
		}
		got := map[string]string{}
		for _, l := range udp.collect(300 * time.Millisecond) {
			if m := line.FindStringSubmatch(l); m != nil {
				got[m[2]] = m[1]
			}
		}
		return got
	}
	ha := run(func(cfg string, ports ...int) { runHAProxy(t, cfg, ports[0]) })
	gh := run(func(cfg string, ports ...int) { startRuntime(t, cfg) })
	for path := range reqs {
		if ha[path] == "" || ha[path] != gh[path] {
			t.Errorf("%s: %%U haproxy %q, gohaka %q", path, ha[path], gh[path])
		}
	}
}
