package check

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var testTimeouts = Timeouts{Connect: time.Second, Check: time.Second, Inter: 2 * time.Second}

func runProbe(t *testing.T, p Probe, addr string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Run(ctx, Target{Addr: addr, Timeouts: testTimeouts})
}

func TestHTTPRequestBytesAsHAProxy(t *testing.T) {
	// Each want is what haproxy 2.6.12 put on the wire for the same rule.
	hdr := func(kv ...string) [][2]string {
		var h [][2]string
		for i := 0; i+1 < len(kv); i += 2 {
			h = append(h, [2]string{kv[i], kv[i+1]})
		}
		return h
	}
	for _, tc := range []struct {
		req  HTTPRequest
		want string
	}{
		{HTTPRequest{}, "OPTIONS / HTTP/1.0\r\n\r\n"},
		{*ParseHTTPCheckOption([]string{"HEAD", "/x"}), "HEAD /x HTTP/1.0\r\n\r\n"},
		{*ParseHTTPCheckOption([]string{"/x"}), "OPTIONS /x HTTP/1.0\r\n\r\n"},
		{*ParseHTTPCheckOption([]string{"GET", "/health", "HTTP/1.1\r\nHost: www.example.com\r\nX-A: b"}),
			"GET /health HTTP/1.1\r\nhost: www.example.com\r\nx-a: b\r\nconnection: close\r\n\r\n"},
		{HTTPRequest{Method: "POST", URI: "/p", Version: "HTTP/1.1", Headers: hdr("Host", "h"), Body: "hello"},
			"POST /p HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"},
		{HTTPRequest{Method: "POST", URI: "/p", Body: "hello"}, "POST /p HTTP/1.0\r\ncontent-length: 5\r\n\r\nhello"},
		{HTTPRequest{Method: "GET", URI: "/a", Version: "HTTP/1.1", Headers: hdr("Connection", "keep-alive", "Content-Length", "0")},
			"GET /a HTTP/1.1\r\n\r\n"},
		{HTTPRequest{Method: "GET", URI: "/a", Version: "HTTP/1.1", Headers: hdr("Content-Length", "0")},
			"GET /a HTTP/1.1\r\nconnection: close\r\n\r\n"},
		{HTTPRequest{Method: "GET", URI: "/a", Version: "HTTP/1.1", Headers: hdr("Transfer-Encoding", "chunked")},
			"GET /a HTTP/1.1\r\nconnection: close\r\n\r\n"},
		{HTTPRequest{Method: "GET", URI: "/a", Headers: hdr("Connection", "keep-alive")},
			"GET /a HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"},
	} {
		if got := string(tc.req.Bytes()); got != tc.want {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}

func TestBuiltinRequestBytes(t *testing.T) {
	// captured from haproxy 2.6.12
	if got := string(MySQLLogin("haproxy", false)); got != "\x0e\x00\x00\x01\x00\x80\x00\x00\x01haproxy\x00\x00\x01\x00\x00\x00\x01" {
		t.Errorf("pre-41 login %q", got)
	}
	if got := MySQLLogin("haproxy", true); len(got) != 4+41+5 || got[0] != 41 {
		t.Errorf("post-41 login %q", got)
	}
	h := SSLHello(time.Unix(0x6b065de3, 0))
	want := "\x16\x03\x00\x00y\x01\x00\x00u\x03\x00k\x06]\xe3HAPROXYSSLCHK\nHAPROXYSSLCHK\n\x00\x00N\x00\x01\x00\x02\x00\x03\x00\x04" +
		"\x00\x05\x00\x06\x00\x07\x00\x08\x00\t\x00\n\x00\x0b\x00\x0c\x00\r\x00\x0e\x00\x0f\x00\x10\x00\x11\x00\x12\x00\x13\x00\x14\x00\x15" +
		"\x00\x16\x00\x17\x00\x18\x00\x19\x00\x1a\x00\x1b\x00/\x000\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00:\x01\x00"
	if string(h) != want {
		t.Errorf("ssl hello\ngot  %q\nwant %q", h, want)
	}
	if got := string(ProxyHeader(2, nil, nil)); got != "\r\n\r\n\x00\r\nQUIT\n \x00\x00\x00" {
		t.Errorf("proxy v2 %q", got)
	}
}

func TestProbesOnRecordedReplies(t *testing.T) {
	mysqlGreeting := "J\x00\x00\x00\x0a8.0.36\x00\x08\x00\x00\x00abcdefgh\x00\xff\xff\xff\x02\x00\xff\xdf\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00caching_sha2_password\x00"
	for _, tc := range []struct {
		name   string
		probe  Probe
		server serverScript
		status Status
		code   int
		info   string
	}{
		{"mysql handshake", MySQLProbe("", true), serverScript{greet: []byte(mysqlGreeting)}, StatusL7OK, 0, "8.0.36"},
		{"mysql host blocked", MySQLProbe("", true), serverScript{greet: []byte("\x12\x00\x00\x00\xffj\x04Host is blocked"), fin: true}, StatusL7STS, 1130, "Host is blocked"},
		{"mysql login ok", MySQLProbe("u", true), serverScript{greet: []byte(mysqlGreeting), steps: []exchange{{untilBytes(4), []byte("\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00")}}}, StatusL7OK, 0, "8.0.36"},
		{"redis PONG", RedisProbe(), reply(untilSeq("PING\r\n"), "+PONG\r\n"), StatusL7OK, 0, "Redis server is ok"},
		{"redis LOADING", RedisProbe(), replyFin(untilSeq("PING\r\n"), "-LOADING Redis is loading\r\n"), StatusL7STS, 0, "-LOADING Redis is loading"},
		{"smtp 250", SMTPProbe("HELO", "localhost"), serverScript{greet: []byte("220 mx.example.org ESMTP Postfix\r\n"),
			steps: []exchange{{untilSeq("\r\n"), []byte("250 mx.example.org\r\n")}, {untilSeq("QUIT\r\n"), []byte("221 2.0.0 Bye\r\n")}}}, StatusL7OK, 221, "2.0.0 Bye"},
		{"smtp 421", SMTPProbe("HELO", "localhost"), serverScript{greet: []byte("421 busy\r\n"), fin: true}, StatusL7STS, 421, "busy"},
		{"ldap bind ok", LDAPProbe(), reply(untilBytes(14), "\x30\x84\x00\x00\x00\x10\x02\x01\x01\x61\x84\x00\x00\x00\x07\x0a\x01\x00\x04\x00\x04\x00"), StatusL7OK, 0, "Success"},
		{"ldap bind 49", LDAPProbe(), reply(untilBytes(14), "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00"), StatusL7STS, 49, "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"},
		{"pgsql auth md5", PgSQLProbe("u"), reply(untilBytes(15), "R\x00\x00\x00\x0c\x00\x00\x00\x05salt"), StatusL7OK, 0, "PostgreSQL server is ok"},
		{"tcp-check empty", mustBuild(t, Spec{Type: "tcp-check", TCPCheck: [][]string{{"send", "x"}, {"expect", "string", "OK"}}}),
			replyFin(untilBytes(1), ""), StatusL7RSP, 0, "TCPCHK got an empty response at step 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := startRecorder(t, tc.server)
			r := runProbe(t, tc.probe, rec.addr())
			if r.Status != tc.status || r.Code != tc.code || r.Info != tc.info {
				t.Fatalf("got %s code %d info %q", r.Status, r.Code, r.Info)
			}
		})
	}
}

func mustBuild(t *testing.T, s Spec) Probe {
	t.Helper()
	p, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConnectErrorsAndTimeouts(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	if r := runProbe(t, TCPProbe(), dead); r.Status != StatusL4CON || r.Info != "Connection refused" {
		t.Fatalf("refused: %s", r.Text())
	}
	p := mustBuild(t, Spec{Type: "tcp-check", TCPCheck: [][]string{{"send", "x"}}})
	if r := runProbe(t, p, dead); r.Info != "Connection refused at initial connection step of tcp-check" {
		t.Fatalf("tcp-check refused: %s", r.Text())
	}
	// A server that never answers: L7TOUT after "timeout check".
	rec := startRecorder(t, serverScript{})
	ctx := context.Background()
	r := mustBuild(t, Spec{Type: "httpchk"}).Run(ctx, Target{Addr: rec.addr(), Timeouts: Timeouts{Connect: time.Second, Check: 200 * time.Millisecond, Inter: time.Second}})
	if r.Status != StatusL7TOUT || r.Duration < 200*time.Millisecond {
		t.Fatalf("silent server: %s", r.Text())
	}
	// A full accept queue drops SYNs: L4TOUT.
	addr, cleanup := fullBacklog(t)
	defer cleanup()
	r = TCPProbe().Run(ctx, Target{Addr: addr, Timeouts: Timeouts{Inter: 300 * time.Millisecond}})
	if r.Status == StatusL4OK {
		t.Skip("kernel accepted a connection beyond the backlog")
	}
	if r.Status != StatusL4TOUT || r.Info != "" {
		t.Fatalf("full backlog: %s", r.Text())
	}
	// haproxy 2.6 for the same: info " at initial connection step of tcp-check"
	r = p.Run(ctx, Target{Addr: addr, Timeouts: Timeouts{Inter: 300 * time.Millisecond}})
	if r.Status != StatusL4TOUT || r.Info != " at initial connection step of tcp-check" {
		t.Fatalf("tcp-check on full backlog: %s", r.Text())
	}
}

// fullBacklog returns a listener address whose accept queue is full.
func fullBacklog(t *testing.T) (string, func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	lsa, _ := syscall.Getsockname(fd)
	addr := "127.0.0.1:" + strconv.Itoa(lsa.(*syscall.SockaddrInet4).Port)
	var conns []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	return addr, func() {
		for _, c := range conns {
			c.Close()
		}
		syscall.Close(fd)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSChecks(t *testing.T) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.(*tls.Conn).Handshake()
				buf := make([]byte, 1024)
				c.SetReadDeadline(time.Now().Add(time.Second))
				if n, _ := c.Read(buf); strings.HasPrefix(string(buf[:n]), "OPTIONS") {
					c.Write(httpReply("200 OK", "ok"))
				}
			}()
		}
	}()
	// ssl-hello-chk: Go's TLS server answers SSLv3 with an alert record,
	// which haproxy counts as a live TLS service.
	if r := runProbe(t, SSLHelloProbe(), ln.Addr().String()); r.Status != StatusL6OK {
		t.Fatalf("ssl-hello-chk: %s", r.Text())
	}
	ctx := context.Background()
	tgt := Target{Addr: ln.Addr().String(), Timeouts: testTimeouts, TLS: &tls.Config{InsecureSkipVerify: true}}
	if r := TCPProbe().Run(ctx, tgt); r.Status != StatusL6OK {
		t.Fatalf("check-ssl connect: %s", r.Text())
	}
	if r := mustBuild(t, Spec{Type: "httpchk"}).Run(ctx, tgt); r.Status != StatusL7OK || r.Code != 200 {
		t.Fatalf("check-ssl httpchk: %s", r.Text())
	}
	plain := startRecorder(t, serverScript{greet: []byte("SSH-2.0-nope\r\n"), fin: true})
	tgt.Addr = plain.addr()
	if r := TCPProbe().Run(ctx, tgt); r.Status != StatusL6RSP {
		t.Fatalf("check-ssl on plain text: %s", r.Text())
	}
}

func TestCheckSendProxyV1(t *testing.T) {
	rec := startRecorder(t, serverScript{})
	r := TCPProbe().Run(context.Background(), Target{Addr: rec.addr(), SendProxy: 1, Timeouts: testTimeouts})
	b, _ := rec.first(3 * time.Second)
	f := strings.Fields(string(b))
	if r.Status != StatusL4OK || len(f) != 6 || f[0] != "PROXY" || f[1] != "TCP4" || f[5] != strconv.Itoa(rec.port()) || !strings.HasSuffix(string(b), "\r\n") {
		t.Fatalf("got %q (%s)", b, r.Text())
	}
}

func TestICMPLoopback(t *testing.T) {
	r := runProbe(t, ICMPProbe(), "127.0.0.1")
	if r.Status == StatusSockErr {
		t.Skipf("no ICMP socket (needs root or net.ipv4.ping_group_range): %s", r.Info)
	}
	if r.Status != StatusL4OK {
		t.Fatalf("ping 127.0.0.1: %s", r.Text())
	}
	if r6 := runProbe(t, ICMPProbe(), "[::1]:0"); r6.Status != StatusL4OK && r6.Status != StatusSockErr && r6.Status != StatusL4CON {
		t.Fatalf("ping ::1: %s", r6.Text())
	}
}

func TestBuildErrors(t *testing.T) {
	for _, s := range []Spec{
		{Type: "tcp-check", TCPCheck: [][]string{{"tcp-check", "expect", "nonsense", "x"}}},
		{Type: "tcp-check", TCPCheck: [][]string{{"send-binary", "zz"}}},
		{Type: "tcp-check", TCPCheck: [][]string{{"connect", "port", "99999"}}},
		{Type: "httpchk", HTTPCheck: [][]string{{"expect", "status", "abc"}}},
		{Type: "httpchk", HTTPCheck: [][]string{{"frobnicate"}}},
		{Type: "pgsql-check"},
		{Type: "mysql-check", Args: []string{"user", "u", "post-99"}},
		{Type: "external-check"},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

func FuzzReplyParsers(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"\x30\x84\x00\x00\x00\x10\x02\x01\x01\x61", "J\x00\x00\x00\x0a8.0", "\xff\xff\xff\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseHTTPResponse(b, true, false)
		parseBindResponse(b)
		mysqlVerdict(b, true, true)
		mysqlVerdict(b, true, false)
		dechunk(b)
	})
}

func TestHTTPCheckRulesValidation(t *testing.T) {
	// haproxy 2.6 refuses a second request on one connection
	_, err := Build(Spec{Type: "httpchk", HTTPCheck: [][]string{{"send", "uri", "/a"}, {"expect", "status", "200"}, {"send", "uri", "/b"}}})
	if err == nil || errors.Is(err, ErrNotImplemented) {
		t.Fatalf("second send without connect: %v", err)
	}
	p, err := Build(Spec{Type: "httpchk", HTTPCheck: [][]string{{"http-check", "send-state"}}})
	if !errors.Is(err, ErrNotImplemented) || p == nil {
		t.Fatalf("send-state: %v", err)
	}
}

func TestDisableOn404OnlyForLiveServers(t *testing.T) {
	rec := startRecorder(t, reply(untilHTTPRequest, string(httpReply("404 Not Found", ""))))
	p := mustBuild(t, Spec{Type: "httpchk", DisableOn404: true})
	tgt := Target{Addr: rec.addr(), Timeouts: testTimeouts}
	if r := p.Run(context.Background(), tgt); r.Status != StatusL7OKC || r.Code != 404 {
		t.Fatalf("live server: %s", r.Text())
	}
	tgt.ServerDown = true
	if r := p.Run(context.Background(), tgt); r.Status != StatusL7STS || r.Code != 404 || r.Info != "Not Found" {
		t.Fatalf("down server: %s", r.Text())
	}
}
