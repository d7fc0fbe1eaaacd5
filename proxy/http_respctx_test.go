package proxy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestResponseContextAsHAProxy: in http-response rules, res.hdr and
// status read the response, the sample hdr() reads the response's
// headers, method still reads the request, and ACLs on the request line
// or request headers (hdr, req.hdr, path_beg) never match: the headers
// the client gets are the same through haproxy 2.6 and gohaka.
func TestResponseContextAsHAProxy(t *testing.T) {
	sp := answerHeads(t, func(string) (string, bool) {
		return "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Pad: aaaaaaaaaa\r\nX-Two: a, b\r\n\r\nok", false
	})
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n" +
		"    http-response set-header X-A yes if { hdr(x-pad) -m found }\n" +
		"    http-response set-header X-B yes if { req.hdr(x-req) -m found }\n" +
		"    http-response set-header X-C yes if { res.hdr(x-pad) -m found }\n" +
		"    http-response set-header X-D yes if { method GET }\n" +
		"    http-response set-header X-E yes if { path_beg /p }\n" +
		"    http-response set-header X-F %%[hdr(x-pad)]\n" +
		"    http-response set-header X-G yes if { status 201 }\n" +
		"    http-response set-header X-H yes if { status 200 }\n" +
		"    http-response set-header X-I %%[res.hdr_cnt(x-two)]\n" +
		"    http-response set-header X-J %%[status]\n" +
		"    http-response set-header X-K %%[res.fhdr(x-two)]\n" +
		"    http-response set-header X-L yes if { res.hdr(x-two) -m str b }\n" +
		"    default_backend be\nbackend be\n    server s 127.0.0.1:%d\n"
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp, sp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, sp))
	xh := regexp.MustCompile(`(?im)^x-[a-z]+: [^\r]*`)
	heads := func(port int) string {
		out := rawExchange(t, port, "GET /p HTTP/1.1\r\nHost: h\r\nX-Req: 1\r\nConnection: close\r\n\r\n", 2*time.Second)
		hs := xh.FindAllString(out, -1)
		for i := range hs {
			hs[i] = strings.ToLower(hs[i])
		}
		sort.Strings(hs)
		return strings.Join(hs, "; ")
	}
	if ha, gh := heads(hp), heads(gp); ha != gh {
		t.Errorf("response headers:\nhaproxy: %s\ngohaka:  %s", ha, gh)
	}
}
