package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSetSrcAsHAProxy: http-request set-src / set-src-port / set-dst /
// set-dst-port change what later rules read (src, src_port, dst,
// dst_port, a src ACL) and the X-Forwarded-For the server gets, or
// nothing when the value is no address; hdr() as a sample is the last
// value, hdr(name,N) and req.fhdr(name,N) the Nth; as haproxy 2.6 does.
func TestSetSrcAsHAProxy(t *testing.T) {
	srv := httpEchoServer(t, "s1")
	cfg := httpDefaults + `frontend fe
    bind 127.0.0.1:%d
    option forwardfor
    http-request set-src hdr(x-ip) if { hdr(x-ip) -m found }
    http-request set-src-port hdr(x-port) if { hdr(x-port) -m found }
    http-request set-dst hdr(x-dip) if { hdr(x-dip) -m found }
    http-request set-dst-port hdr(x-dport) if { hdr(x-dport) -m found }
    http-request deny deny_status 429 if { src 198.51.100.0/24 }
    http-request set-header x-first %%[hdr(x-ip,1)]
    http-request set-header x-hip %%[req.hdr_ip(x-ip)]
    http-request set-header x-lan yes if { hdr_ip(x-ip) 192.0.2.0/24 }
    http-request set-header x-fhdr-2 %%[req.fhdr(x-ip,-2)]
    http-request return status 200 content-type text/plain lf-string "src=%%[src] port=%%[src_port] dst=%%[dst] dport=%%[dst_port]" if { path /show }
    default_backend be
backend be
    server s1 127.0.0.1:%d
`
	hp, gp := startBoth(t, cfg, srv)
	// ask sends one request with extra header lines; the client's own
	// port (which differs between the two) reads PORT, the proxy's FE
	ask := func(port int, path, hdrs string) string {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", path, hdrs)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		out := fmt.Sprintf("%d ", resp.StatusCode)
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.ToLower(l); strings.HasPrefix(l, "src=") || strings.HasPrefix(l, "x-forwarded-for:") || strings.HasPrefix(l, "x-first:") || strings.HasPrefix(l, "x-fhdr-2:") ||
				strings.HasPrefix(l, "x-hip:") || strings.HasPrefix(l, "x-lan:") {
				out += strings.TrimSpace(l) + " "
			}
		}
		_, mine, _ := net.SplitHostPort(c.LocalAddr().String())
		return strings.NewReplacer("port="+mine+" ", "port=PORT ", "dport="+strconv.Itoa(port), "dport=FE").Replace(out)
	}
	cases := []string{
		"x-ip: 192.0.2.5\r\n",
		"x-ip: 2001:db8::5\r\n",
		"x-ip: junk\r\n",
		"x-ip: 192.0.2.5\r\nx-port: 4242\r\n",
		"x-port: 4243\r\n",
		"x-dip: 192.0.2.9\r\nx-dport: 99\r\n",
		"x-ip: 198.51.100.7\r\n",
		"x-ip: 192.0.2.7\r\nx-ip: 192.0.2.8\r\n",
		"x-ip: 192.0.2.7, 192.0.2.9\r\nx-ip: 192.0.2.8\r\n",
		"",
	}
	for _, hdrs := range cases {
		for _, path := range []string{"/show", "/fwd"} {
			h, g := ask(hp, path, hdrs), ask(gp, path, hdrs)
			if h != g {
				t.Errorf("%s with %q: haproxy %q, gohaka %q", path, hdrs, h, g)
			}
		}
	}
}
