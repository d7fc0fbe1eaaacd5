package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientHello is the first flight a Go TLS client sends for server name
// sni ("" sends none).
func clientHello(t *testing.T, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	go tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: sni == ""}).Handshake()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16384)
	n, err := io.ReadAtLeast(b, buf, 5)
	if err != nil {
		t.Fatal(err)
	}
	for n < 5+(int(buf[3])<<8|int(buf[4])) {
		m, err := b.Read(buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	b.Close()
	return buf[:n]
}

func TestHelloSNI(t *testing.T) {
	for _, sni := range []string{"a.example.com", "x.example.org", ""} {
		h := clientHello(t, sni)
		got, ok := helloSNI(h)
		if got != sni || ok != (sni != "") {
			t.Errorf("SNI %q: got %q %v", sni, got, ok)
		}
		if typ, ok := helloType(h); !ok || typ != 1 {
			t.Errorf("SNI %q: hello type %d %v", sni, typ, ok)
		}
		for i := range h { // cut anywhere: no name, no panic
			if name, ok := helloSNI(h[:i]); ok {
				t.Fatalf("SNI %q: a record cut at %d gave %q", sni, i, name)
			}
		}
	}
	if _, ok := helloSNI([]byte("GET / HTTP/1.1\r\n\r\n")); ok {
		t.Error("an http request has an SNI")
	}
}

// sniConfig routes TLS connections by the server name they ask for,
// without terminating TLS: haproxy's passthrough idiom.
func sniConfig(fe int, sp []int) string {
	return passthroughConfig(fe, sp, `    use_backend be_a if { req_ssl_sni -i a.example.com }
    use_backend be_b if { req.ssl_sni -m end .example.org }
    use_backend be_b if { req.len gt 20000 }
    use_backend be_a if { req.payload(0,4) -m bin 50494E47 }
    use_backend be_b if { req.payload(1,2) -m bin 5151 }
    use_backend be_a if { req.payload(0,0) -m bin 7a7a7a7a7a7a }
    use_backend be_b if { req.payload(4,8) -m bin 0000000000000000 }
`)
}

// passthroughConfig is a tcp frontend on port fe that waits for a TLS
// client hello, routes it with the routing lines, and falls back to
// be_c; be_a, be_b and be_c are the servers on ports sp.
func passthroughConfig(fe int, sp []int, routing string) string {
	return fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend tls_in
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if { req_ssl_hello_type 1 }
%s    default_backend be_c
backend be_a
    server s1 127.0.0.1:%d
backend be_b
    server s2 127.0.0.1:%d
backend be_c
    server s3 127.0.0.1:%d
`, fe, routing, sp[0], sp[1], sp[2])
}

// TestSNIRoutingAsHAProxy: TLS client hellos with different server
// names (and none, and a plain-text client, and one that sends its hello
// in two parts) reach the same backends through haproxy 2.6 and gohaka;
// the server gets the hello's bytes unchanged.
func TestSNIRoutingAsHAProxy(t *testing.T) {
	sp := replyServers(t, 3)
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, sniConfig(hp, sp), hp)
	startRuntime(t, sniConfig(gp, sp))
	portOpen(gp)
	send := func(port int, parts [][]byte) string { return sendFirstBytes(t, port, parts...) }
	split := clientHello(t, "b.example.org")
	cases := map[string][][]byte{
		"a.example.com":          {clientHello(t, "a.example.com")},
		"A.EXAMPLE.COM":          {clientHello(t, "A.EXAMPLE.COM")},
		"x.example.org":          {clientHello(t, "x.example.org")},
		"other.example.net":      {clientHello(t, "other.example.net")},
		"no name":                {clientHello(t, "")},
		"plain text":             {[]byte("hello\n")},
		"b.example.org in parts": {split[:40], split[40:]},
		"payload PING":           {[]byte("PINGxx")},
		"payload at 1":           {[]byte("xQQxxx")},
		"payload whole":          {[]byte("zzzzzz")},
		"payload too short":      {[]byte("abcd\x00\x00")},
	}
	for name, parts := range cases {
		h, g := send(hp, parts), send(gp, parts)
		if h != g || h == "" {
			t.Errorf("%s: haproxy %q, gohaka %q", name, h, g)
		}
	}
}

// sendFirstBytes connects to port, sends parts 100 ms apart and returns
// what came back until the end (which server answered).
func sendFirstBytes(t *testing.T, port int, parts ...[]byte) string {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	for i, p := range parts {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		c.Write(p)
	}
	b, _ := io.ReadAll(c)
	return strings.TrimSpace(string(b))
}

// TestSNIMapRoutingAsHAProxy: TLS passthrough routed by a map from
// server names to backends (use_backend %[req.ssl_sni,lower,map(...)]),
// with a name the map sends nowhere and a name that is no backend: the
// same backends through haproxy 2.6 and gohaka.
func TestSNIMapRoutingAsHAProxy(t *testing.T) {
	sp := replyServers(t, 3)
	m := filepath.Join(t.TempDir(), "sni.map")
	os.WriteFile(m, []byte("a.example.com be_a\nx.example.org be_b\nghost.example.org be_ghost\n"), 0o644)
	cfg := func(port int) string {
		return passthroughConfig(port, sp, fmt.Sprintf("    use_backend %%[req.ssl_sni,lower,map(%s)] if { req.ssl_sni -m found }\n", m))
	}
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, cfg(hp), hp)
	startRuntime(t, cfg(gp))
	portOpen(gp)
	send := func(port int, hello []byte) string { return sendFirstBytes(t, port, hello) }
	for _, name := range []string{"a.example.com", "A.Example.COM", "x.example.org", "ghost.example.org", "other.example.net", ""} {
		h, g := send(hp, clientHello(t, name)), send(gp, clientHello(t, name))
		if h != g || h == "" {
			t.Errorf("%q: haproxy %q, gohaka %q", name, h, g)
		}
	}
}

// FuzzHelloSNI: whatever a client sends first, reading its server name
// does not panic and a name found lies inside the bytes.
func FuzzHelloSNI(f *testing.F) {
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Add([]byte("hello\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if name, ok := helloSNI(b); ok && !strings.Contains(string(b), name) {
			t.Fatalf("name %q is not in the input", name)
		}
		helloType(b)
	})
}
