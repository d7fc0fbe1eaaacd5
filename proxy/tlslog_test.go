package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"
)

// TestTLSHandshakeLogsAsHAProxy: clients whose TLS handshake fails are
// logged as haproxy 2.6 logs them, line for line once client ports and
// dates are blanked: closed at once, plain text instead of TLS, a
// client refusing the certificate, a reset after part of a hello, a
// silent client (timeout), on a numbered and on a named listener; with
// option dontlognull, only those who sent something.
func TestTLSHandshakeLogsAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	re := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] `)
	for _, opt := range []string{"", "    option dontlognull\n"} {
		run := func(start func(cfg string, p int)) []string {
			udp := newLogSink(t, "udp", "127.0.0.1:0")
			p, p2 := freePort(t), freePort(t)
			start(fmt.Sprintf("global\n    log %s format raw local0\ndefaults\n    mode http\n    log global\n    option httplog\n%s"+
				"    timeout connect 2s\n    timeout client 1s\n    timeout server 2s\nfrontend fe\n"+
				"    bind 127.0.0.1:%d ssl crt %s\n    bind 127.0.0.1:%d ssl crt %s name second\n    http-request return status 200\n",
				udp.pc.LocalAddr().String(), opt, p, dir, p2, dir), p)
			time.Sleep(100 * time.Millisecond)
			udp.collect(200 * time.Millisecond) // runHAProxy's look at the port
			addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
			step := func() { time.Sleep(60 * time.Millisecond) }
			c, _ := net.Dial("tcp", addr(p2)) // closed at once
			c.Close()
			step()
			c, _ = net.Dial("tcp", addr(p)) // not TLS
			c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
			step()
			c.Close()
			step()
			if tc, err := tls.Dial("tcp", addr(p), &tls.Config{ServerName: "a.example.com"}); err == nil { // unknown CA
				tc.Close()
			}
			step()
			c, _ = net.Dial("tcp", addr(p)) // part of a hello, then a reset
			c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xf0, 0x01, 0x00, 0x00, 0xec, 0x03, 0x03})
			step()
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			step()
			c, _ = net.Dial("tcp", addr(p)) // silent
			time.Sleep(1300 * time.Millisecond)
			c.Close()
			var out []string
			for _, l := range udp.collect(300 * time.Millisecond) {
				out = append(out, re.ReplaceAllString(l, "127.0.0.1:PORT [DATE] "))
			}
			return out
		}
		ha := run(func(cfg string, p int) { runHAProxy(t, cfg, p) })
		gh := run(func(cfg string, p int) { startRuntime(t, cfg); portOpen(p) })
		if fmt.Sprint(ha) != fmt.Sprint(gh) || len(ha) == 0 {
			t.Errorf("%q: log lines differ:\nhaproxy: %q\ngohaka:  %q", opt, ha, gh)
		}
		t.Logf("%q: %d lines, e.g. %q", opt, len(gh), gh[0])
	}
}
