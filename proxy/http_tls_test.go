package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsEchoServer is httpEchoServer behind TLS with a certificate for cn;
// the name it answers with carries the SNI it was asked for.
func tlsEchoServer(t *testing.T, ca *testCA, cn string) int {
	p, _ := countingTLSEchoServer(t, ca, cn)
	return p
}

// countingTLSEchoServer is tlsEchoServer counting its connections.
func countingTLSEchoServer(t *testing.T, ca *testCA, cn string) (int, *atomic.Int64) {
	var count atomic.Int64
	ln := tlsListener(t, ca, cn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			count.Add(1)
			go func() {
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if tc.Handshake() != nil {
					c.Close()
					return
				}
				echoHTTPConn(c, "T-"+tc.ConnectionState().ServerName)
			}()
		}
	}()
	return port(ln.Addr()), &count
}

// tlsExchange sends raw bytes over TLS with the given SNI and returns
// all the answer until the proxy closes.
func tlsExchange(t *testing.T, p int, sni, req string) string {
	c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p), &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Errorf("TLS to %d (%s): %v", p, sni, err)
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write([]byte(req))
	b, _ := io.ReadAll(c)
	return string(b)
}

const httpTLSConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d
    bind 127.0.0.1:%[2]d ssl crt %[3]s alpn http/1.1
    http-request redirect scheme https if !{ ssl_fc } { path_beg /r }
    http-request set-header X-ALPN %%[ssl_fc_alpn] if { ssl_fc_alpn -m found }
    http-request set-header X-TLS %%[ssl_fc_protocol] if { ssl_fc_protocol -m beg TLSv1. }
    redirect scheme https code 301 if !{ ssl_fc } { path_beg /s }
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-SNI %%[ssl_fc_sni] if { ssl_fc_sni -m found }
    use_backend be_tls if { ssl_fc_sni -m end .example.org }
    use_backend be_b if { ssl_fc_sni -i B.example.com }
    default_backend be_a

backend be_a
    server a 127.0.0.1:%[4]d

backend be_b
    server b 127.0.0.1:%[5]d

backend be_tls
    server t 127.0.0.1:%[6]d ssl verify required ca-file %[7]s sni str(tls.example.net)
`

// TestHTTPOverTLSSameAsHAProxy: an http frontend with a plain and an ssl
// bind gives, through gohaka and haproxy 2.6, the same redirects to https
// (status and Location) on the plain port and the same answers and
// backend-side heads (X-Forwarded-Proto, the SNI, routing on ssl_fc_sni,
// a TLS server checked against its CA with an sni) on the TLS port.
func TestHTTPOverTLSSameAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	ts := tlsEchoServer(t, ca, "tls.example.net")
	hp, hs, gp, gs := freePort(t), freePort(t), freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(httpTLSConfig, hp, hs, dir, a, b, ts, caFile), hp)
	startRuntime(t, fmt.Sprintf(httpTLSConfig, gp, gs, dir, a, b, ts, caFile))
	const cl = "Connection: close\r\n"
	cases := []struct {
		name, sni, req, want string
	}{
		{"plain redirect 302", "", "GET /r/x?q=1 HTTP/1.1\r\nHost: www.example.com\r\n" + cl + "\r\n", "location: https://www.example.com/r/x?q=1"},
		{"plain redirect 301", "", "GET /s HTTP/1.1\r\nHost: www.example.com\r\n" + cl + "\r\n", "HTTP/1.1 301"},
		{"plain no redirect", "", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "server A\n"},
		{"plain HTTP/1.0 redirect", "", "GET /r HTTP/1.0\r\nHost: h\r\n\r\n", "https://h/r"},
		{"tls a", "a.example.com", "GET /r HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "x-alpn: http/1.1\r\nx-tls: TLSv1.3\r\nx-forwarded-proto: https\r\nx-sni: a.example.com"},
		{"tls b", "b.example.com", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "server B\n"},
		{"tls to tls server", "x.example.org", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n" + cl + "\r\nabc", "server T-tls.example.net\n"},
		{"tls chunked", "x.example.org", "GET /chunked HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "transfer-encoding: chunked"},
		{"tls keep-alive two", "a.example.com", "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "GET /2 HTTP/1.1"},
		{"tls no sni", "", "GET / HTTP/1.1\r\nHost: h\r\n" + cl + "\r\n", "server A\n"},
		{"tls bad request", "a.example.com", "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400"},
	}
	for _, c := range cases {
		var h, g string
		if strings.HasPrefix(c.name, "plain") {
			h, g = rawExchange(t, hp, c.req, 2*time.Second), rawExchange(t, gp, c.req, 2*time.Second)
		} else {
			h, g = tlsExchange(t, hs, c.sni, c.req), tlsExchange(t, gs, c.sni, c.req)
		}
		if !strings.Contains(h, c.want) {
			t.Errorf("%s: haproxy's answer lacks %q: %q", c.name, c.want, clip(h))
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.name, clip(h), clip(g))
		}
	}
}

// TestHTTPReuseTLSServer: idle TLS connections to a `server ... ssl` are
// parked and taken again by the requests of later clients (http-reuse
// always), over plain and TLS client connections.
func TestHTTPReuseTLSServer(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	ts, n := countingTLSEchoServer(t, ca, "tls.example.net")
	gp, gs := freePort(t), freePort(t)
	startRuntime(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s
    default_backend be
backend be
    http-reuse always
    server t 127.0.0.1:%d ssl verify required ca-file %s sni str(tls.example.net)
`, gp, gs, dir, ts, caFile))
	two := "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	for i := 0; i < 3; i++ {
		out := rawExchange(t, gp, two, 2*time.Second)
		time.Sleep(50 * time.Millisecond) // the connection is parked once the client has gone
		out += tlsExchange(t, gs, "a.example.com", two)
		time.Sleep(50 * time.Millisecond)
		if strings.Count(out, "server T-tls.example.net\n") != 4 {
			t.Fatalf("round %d: %q", i, clip(out))
		}
	}
	// without reuse each of the 6 clients would open one
	if got := n.Load(); got > 2 || got < 1 {
		t.Errorf("%d TLS connections to the server for 6 clients and 12 requests", got)
	}
	t.Logf("%d TLS server connections for 12 requests", n.Load())
}
