package proxy

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCaptureRuleAsHAProxy: `http-request capture SAMPLE len N` fills a
// capture slot of its own, in the configuration's order among the
// `capture request header` lines, as haproxy 2.6 logs it.
func TestCaptureRuleAsHAProxy(t *testing.T) {
	cfg := "global\n    log %s local0\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    http-request capture req.hdr(x-a) len 3\n    capture request header X-B len 10\n" +
		"    http-request capture path len 6\n    capture request header X-C len 10\n    http-request capture req.hdr(host),lower len 20 if { path_beg /some }\n" +
		"    http-request return status 200 content-type text/plain string ok\n"
	braces := regexp.MustCompile(`\{[^}]*\}`)
	run := func(start func(cfg string, port int)) []string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := freePort(t)
		start(fmt.Sprintf(cfg, udp.pc.LocalAddr(), p), p)
		udp.collect(200 * time.Millisecond)
		for _, r := range []string{
			"GET /some/path HTTP/1.1\r\nHost: WWW.Example.com\r\nX-A: abcdef\r\nX-B: bee\r\nX-C: sea\r\nConnection: close\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		} {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(r))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}
		var out []string
		for _, l := range udp.collect(300 * time.Millisecond) {
			if m := braces.FindString(l); m != "" {
				out = append(out, m)
			}
		}
		return out
	}
	ha := run(func(cfg string, p int) { runHAProxy(t, cfg, p) })
	gh := run(func(cfg string, p int) { startRuntime(t, cfg) })
	if strings.Join(ha, " ") != strings.Join(gh, " ") || len(ha) != 2 {
		t.Errorf("captures: haproxy %q, gohaka %q", ha, gh)
	}
}

// TestDeclaredCaptureSlotsAsHAProxy: `declare capture request|response
// len N` make slots numbered with the other captures of their side in
// the configuration's order; `http-request capture ... id N` and
// `http-response capture ... id N` fill them (cut to the declared
// length), and the log's {%hr} and {%hs} read as haproxy 2.6 writes them.
func TestDeclaredCaptureSlotsAsHAProxy(t *testing.T) {
	srv := freePort(t)
	runHAProxy(t, fmt.Sprintf(httpDefaults+"frontend srv\n    bind 127.0.0.1:%d\n"+
		"    http-request return status 200 hdr x-s sval hdr x-r rvalue-long\n", srv), srv)
	cfg := func(logAddr string, port int) string {
		return fmt.Sprintf(`global
    log %s local0
`+httpDefaults+`    log global
frontend fe
    bind 127.0.0.1:%d
    log-format "%%hr %%hs"
    capture request header Host len 10
    declare capture request len 20
    http-request capture req.hdr(x-a) len 5
    declare capture response len 6
    capture response header x-s len 12
    http-request capture req.hdr(x-b) id 1
    http-response capture res.hdr(x-r) id 0
    default_backend be
backend be
    server s 127.0.0.1:%d
`, logAddr, port, srv)
	}
	run := func(start func(cfg string, port int)) []string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := freePort(t)
		start(cfg(udp.pc.LocalAddr().String(), p), p)
		udp.collect(200 * time.Millisecond)
		rawExchange(t, p, "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-A: aaaaaaaa\r\nX-B: "+strings.Repeat("b", 30)+"\r\nConnection: close\r\n\r\n", 2*time.Second)
		var out []string
		for _, l := range udp.collect(300 * time.Millisecond) {
			if _, rest, ok := strings.Cut(l, "]: "); ok {
				out = append(out, strings.TrimSpace(rest))
			}
		}
		return out
	}
	ha := run(func(cfg string, p int) { runHAProxy(t, cfg, p) })
	gh := run(func(cfg string, p int) { startRuntime(t, cfg) })
	if strings.Join(ha, " ") != strings.Join(gh, " ") || len(ha) != 1 || !strings.Contains(ha[0], "rvalue") {
		t.Errorf("captures: haproxy %q, gohaka %q", ha, gh)
	}
}
