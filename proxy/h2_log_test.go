package proxy

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// h2LogFormat has httplog's fields and the http variables.
const h2LogFormat = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %HM %HU %HP %HQ %HV`

// h2LogConfig is h2Config logging each request to a UDP sink, with a
// stats socket.
func h2LogConfig(port int, dir string, a, b int, udp, sock string) string {
	cfg := fmt.Sprintf(h2Config, port, dir, a, b)
	cfg = strings.Replace(cfg, "defaults\n", "global\n    log "+udp+" format raw local0\n    stats socket "+sock+" level admin\ndefaults\n    log global\n", 1)
	return strings.Replace(cfg, "frontend fe\n", "frontend fe\n    log-format \""+h2LogFormat+"\"\n"+
		"    capture request header User-Agent len 10\n    capture response header X-Server len 20\n", 1)
}

// TestHTTP2LogLinesMatchHAProxy: the log line of each HTTP/2 stream is
// haproxy 2.6's once dates, client ports, the proxy's port and timers
// are blanked: absolute URI and HTTP/2.0 in the request line, bytes as
// haproxy counts them (request head and body, the server's response),
// backend and server, termination state (proxied, redirected,
// returned, denied, no server), status, captured request and response
// headers, and "fe~" for a frontend
// connection over TLS (an HTTP/1.1 one as well). The stats rows then
// agree in the request columns (httpCompareCols).
func TestHTTP2LogLinesMatchHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	sockDir := t.TempDir()
	run := func(name string, start func(cfg string, port int)) ([]string, string) {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := freePort(t)
		sock := sockDir + "/" + name + ".sock"
		start(h2LogConfig(p, dir, a, b, udp.pc.LocalAddr().String(), sock), p)
		time.Sleep(100 * time.Millisecond)
		udp.collect(200 * time.Millisecond) // the listener probe's line, if any
		c := h2Client(ca, "a.example.com")
		for _, path := range []string{"/x?q=1", "/old", "/ret", "/deny", "/none", "/204", "/chunked"} {
			h2Answer(t, c, "GET", p, path, "")
		}
		h2Answer(t, c, "POST", p, "/post", "hello h2")
		h2Answer(t, c, "HEAD", p, "/", "")
		h2Answer(t, h2Client(ca, "b.example.com"), "GET", p, "/y", "")
		h1 := h2Client(ca, "a.example.com")
		h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
		h1.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		if ans := h2Answer(t, h1, "GET", p, "/h1", ""); !strings.HasPrefix(ans, "HTTP/1.1 200") {
			t.Errorf("HTTP/1.1 over TLS: %.40q", ans)
		}
		var out []string
		port := regexp.MustCompile(fmt.Sprintf(`:%d\b`, p))
		for _, l := range udp.collect(400 * time.Millisecond) {
			out = append(out, normHTTPLog(port.ReplaceAllString(l, ":PORT")))
		}
		sort.Strings(out)
		return out, cliQuery(t, "unix:"+sock, "show stat")
	}
	ha, hstat := run("ha", func(cfg string, p int) { runHAProxy(t, cfg, p) })
	gh, gstat := run("go", func(cfg string, p int) { startRuntime(t, cfg); portOpen(p) }) // as runHAProxy looks
	if len(ha) != 11 {
		t.Errorf("%d lines from haproxy, want 11:\n%s", len(ha), strings.Join(ha, ""))
	}
	if strings.Join(ha, "") != strings.Join(gh, "") {
		t.Errorf("log lines differ:\nhaproxy:\n%s\ngohaka:\n%s", strings.Join(ha, ""), strings.Join(gh, ""))
	}
	compared := compareHTTPStats(t, hstat, gstat, nil)
	t.Logf("%d log lines and %d stats fields equal, e.g.\n%s", len(gh), compared, gh[0])
}
