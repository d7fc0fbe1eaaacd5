package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPErrorAsHAProxy: `http-error` lines (in defaults, a frontend
// and backends; string with hdr, lf-string, errorfile, default-errorfiles)
// give the same answers, byte for byte, as haproxy 2.6: the no-server
// 503, a deny's 403 made per request, an invalid response's 502 from an
// error file, and an answer from the server untouched.
func TestHTTPErrorAsHAProxy(t *testing.T) {
	sp := statusServer(t, "s1")
	ef := filepath.Join(t.TempDir(), "502.http")
	os.WriteFile(ef, []byte("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\nx-file: yes\r\ncontent-length: 9\r\n\r\nbad gate\n"), 0o644)
	cfg := func(p int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    http-error status 503 content-type "text/plain" hdr x-err yes string "no server\n"
frontend fe
    bind 127.0.0.1:%d
    http-error status 403 content-type text/plain lf-string "denied %%[path]\n"
    http-request deny if { path_beg /deny }
    use_backend be_none if { path_beg /none }
    use_backend be_bad if { path_beg /badresp }
    default_backend be_ok
backend be_none
backend be_bad
    http-error status 502 errorfile %s
    server s 127.0.0.1:%d
backend be_ok
    http-error status 504 default-errorfiles
    server s 127.0.0.1:%d
`, p, ef, sp, sp)
	}
	hp, gp := freePort(t), freePort(t)
	startHAProxyCfg(t, cfg(hp))
	startRuntime(t, cfg(gp))
	waitFor(t, func() bool { return portOpen(hp) }, "haproxy")
	for _, c := range []struct{ path, want string }{
		{"/deny/x", "denied /deny/x\n"}, {"/none", "x-err: yes"}, {"/badresp", "bad gate\n"}, {"/ok", "server s1\n"},
	} {
		req := "GET " + c.path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		h := rawExchange(t, hp, req, 2*time.Second)
		g := rawExchange(t, gp, req, 2*time.Second)
		if h != g || !strings.Contains(h, c.want) {
			t.Errorf("%s: want %q in both\nhaproxy %q\ngohaka  %q", c.path, c.want, h, g)
		}
	}
}
