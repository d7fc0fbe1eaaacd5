package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA signs leaf certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gohaka test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf returns a PEM file body in haproxy's layout: certificate, then key.
func (ca *testCA) leaf(t *testing.T, cn string, sans ...string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})...)
}

// certDir writes three certificates: two names and a wildcard.
func certDir(t *testing.T, ca *testCA) string {
	dir := filepath.Join(t.TempDir(), "certs")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "1-a.pem"), ca.leaf(t, "a.example.com", "a.example.com"), 0o600)
	os.WriteFile(filepath.Join(dir, "2-b.pem"), ca.leaf(t, "b.example.com", "b.example.com", "www.b.example.com"), 0o600)
	os.WriteFile(filepath.Join(dir, "3-wild.pem"), ca.leaf(t, "*.example.org", "*.example.org"), 0o600)
	return dir
}

// servedCert returns the CN of the certificate a TLS server shows for sni.
func servedCert(port int, sni string, maxVer uint16) (string, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: sni, InsecureSkipVerify: true, MaxVersion: maxVer})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// TestSNIChoosesCertificateAsHAProxy: with `crt DIR` and with a crt-list
// carrying SNI filters, gohaka shows the certificate real haproxy 2.6
// shows for each server name (exact names, case, wildcards, no SNI,
// unknown names falling to the default).
func TestSNIChoosesCertificateAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte("# default first\n"+filepath.Join(dir, "3-wild.pem")+"\n"+
		filepath.Join(dir, "2-b.pem")+" [alpn http/1.1] foo.example.net !b.example.com\n"+
		filepath.Join(dir, "1-a.pem")+"\n"), 0o644)
	be := echoServer(t)
	names := []string{"a.example.com", "B.Example.COM", "www.b.example.com", "x.example.org", "deep.x.example.org",
		"example.org", "", "other.net", "foo.example.net", "b.example.com"}
	for _, tc := range []struct{ name, crt string }{{"dir", "crt " + dir}, {"crt-list", "crt-list " + list}} {
		t.Run(tc.name, func(t *testing.T) {
			gp, hp := freePort(t), freePort(t)
			cfg := func(fp int) string {
				return fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nlisten l\n    bind 127.0.0.1:%d ssl %s\n    server s1 127.0.0.1:%d\n", fp, tc.crt, port(be.Addr()))
			}
			startRuntime(t, cfg(gp))
			runHAProxy(t, cfg(hp), hp)
			for _, sni := range names {
				want, herr := servedCert(hp, sni, 0)
				got, gerr := servedCert(gp, sni, 0)
				if herr != nil || gerr != nil || got != want {
					t.Errorf("SNI %q: gohaka %q (%v), haproxy %q (%v)", sni, got, gerr, want, herr)
				}
			}
		})
	}
}

// TestTLSOffloadAndVersions: bytes flow through a TLS bind to a plain
// server; `ssl-min-ver TLSv1.3` refuses a TLS 1.2-only client on both
// gohaka and haproxy; ssl_fc_sni routes.
func TestTLSOffloadAndVersions(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	be := echoServer(t)
	ports := nameBackends(t, 1)
	gp, hp := freePort(t), freePort(t)
	cfg := func(fp int) string {
		return fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n"+
			"frontend f\n    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.3\n    use_backend named if { ssl_fc_sni -i b.example.com }\n    default_backend echo\n\n"+
			"backend echo\n    server s1 127.0.0.1:%d\n\nbackend named\n    server n1 127.0.0.1:%d\n", fp, dir, port(be.Addr()), ports[0])
	}
	startRuntime(t, cfg(gp))
	runHAProxy(t, cfg(hp), hp)
	for _, p := range []int{gp, hp} {
		if _, err := servedCert(p, "a.example.com", tls.VersionTLS12); err == nil {
			t.Errorf("port %d: a TLS 1.2 client got through ssl-min-ver TLSv1.3", p)
		}
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p), &tls.Config{ServerName: "a.example.com", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping"))
		c.CloseWrite()
		b, err := io.ReadAll(c)
		c.Close()
		if string(b) != "ping" {
			t.Errorf("port %d: echo through TLS got %q %v", p, b, err)
		}
		c, err = tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p), &tls.Config{ServerName: "B.example.com", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ = io.ReadAll(c)
		c.Close()
		if string(b) != "s1\n" {
			t.Errorf("port %d: ssl_fc_sni routing got %q", p, b)
		}
	}
}

// TestServerSideTLS: `server ... ssl verify required ca-file` talks TLS
// to the server and checks its certificate against the CA and the sni
// name; a name mismatch ends the session, `verify none` accepts.
func TestServerSideTLS(t *testing.T) {
	ca := newTestCA(t)
	tmp := t.TempDir()
	caFile := filepath.Join(tmp, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	ln := tlsListener(t, ca, "backend.example.com")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 4)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(append([]byte("tls:"), b...))
				}
			}()
		}
	}()
	for _, tc := range []struct {
		opts string
		want string
	}{
		{"ssl verify required ca-file " + caFile + " sni str(backend.example.com)", "tls:ping"},
		{"ssl ca-file " + caFile, "tls:ping"}, // chain only: no name to check
		{"ssl verify required ca-file " + caFile + " sni str(wrong.example.com)", ""},
		{"ssl verify none", "tls:ping"},
	} {
		fp := freePort(t)
		r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d %s\n", port(ln.Addr()), tc.opts), ""))
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping"))
		b, _ := io.ReadAll(c)
		c.Close()
		if string(b) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.opts, b, tc.want)
		}
		r.Stop()
	}
}

// tlsListener listens on loopback with a certificate for cn signed by ca;
// closed with the test.
func tlsListener(t *testing.T, ca *testCA, cn string) net.Listener {
	pemData := ca.leaf(t, cn, cn)
	cert, err := tls.X509KeyPair(pemData, pemData)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestTLSGlobalDefaultsAsHAProxy: the global ssl-default-bind-options
// (ssl-min-ver, no-tls-tickets), -ciphers and -curves shape every ssl
// bind as in haproxy 2.6: a TLS 1.1 client, a TLS 1.2 client offering
// only a cipher left out, one offering only a group left out are refused
// by both; a client within them gets through both; gohaka then gives no
// session ticket to resume with.
func TestTLSGlobalDefaultsAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	be := echoServer(t)
	gp, hp := freePort(t), freePort(t)
	cfg := func(fp int) string {
		return fmt.Sprintf("global\n    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n"+
			"    ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"+
			"    ssl-default-bind-curves X25519:P-384\n"+
			"defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n"+
			"frontend f\n    bind 127.0.0.1:%d ssl crt %s\n    default_backend echo\n\n"+
			"backend echo\n    server s1 127.0.0.1:%d\n", fp, dir, port(be.Addr()))
	}
	startRuntime(t, cfg(gp))
	runHAProxy(t, cfg(hp), hp)
	dial := func(p int, c *tls.Config) (*tls.Conn, error) {
		c.ServerName, c.InsecureSkipVerify = "a.example.com", true
		d := &net.Dialer{Timeout: 3 * time.Second}
		return tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", p), c)
	}
	cases := []struct {
		name string
		cfg  func() *tls.Config
		ok   bool
	}{
		{"TLS 1.1", func() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11} }, false},
		{"AES128 only", func() *tls.Config {
			return &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		}, false},
		{"P-256 only", func() *tls.Config { return &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}} }, false},
		{"AES256 over TLS 1.2", func() *tls.Config {
			return &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}
		}, true},
		{"P-384 over TLS 1.3", func() *tls.Config { return &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384}} }, true},
	}
	for _, c := range cases {
		for _, p := range []int{hp, gp} {
			conn, err := dial(p, c.cfg())
			if (err == nil) != c.ok {
				t.Errorf("%s on %d (haproxy %d): %v, want ok=%v", c.name, p, hp, err, c.ok)
			}
			if conn != nil {
				conn.Close()
			}
		}
	}
	cache := tls.NewLRUClientSessionCache(4)
	for i := 0; i < 2; i++ {
		conn, err := dial(gp, &tls.Config{ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte("x")) // TLS 1.3 tickets come after the handshake
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		conn.Read(make([]byte, 1))
		if conn.ConnectionState().DidResume {
			t.Errorf("connection %d resumed a session despite no-tls-tickets", i+1)
		}
		conn.Close()
	}
}
