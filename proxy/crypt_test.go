package proxy

import (
	"encoding/base64"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCryptAsLibc: MD5, SHA-256 and SHA-512 crypt give what the C
// library's crypt(3) gives (through perl) for passwords of many lengths,
// long and short salts, custom rounds, rounds out of range refused.
func TestCryptAsLibc(t *testing.T) {
	perl, err := exec.LookPath("perl")
	if err != nil {
		t.Skip("perl is not installed: no crypt(3) to compare with")
	}
	passes := []string{"", "a", "secret", "Hello world!", strings.Repeat("x", 15), strings.Repeat("y", 16), strings.Repeat("z", 33),
		strings.Repeat("long", 40), "ünïcødé"}
	settings := []string{"$1$abc", "$1$abcdefghij", "$1$", "$5$saltstring", "$5$toolongsaltstringtoolong", "$5$rounds=1000$r",
		"$6$saltstring", "$6$rounds=10000$saltstringsaltstring", "$6$rounds=10$low", "$6$x"}
	var script strings.Builder
	var want []string
	for _, p := range passes {
		for _, s := range settings {
			script.WriteString("print crypt(\"" + strings.ReplaceAll(p, "\"", "\\\"") + "\", q(" + s + ")), \"\\n\";\n")
			want = append(want, p+"\x00"+s)
		}
	}
	out, err := exec.Command(perl, "-e", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("perl gave %d lines for %d cases", len(lines), len(want))
	}
	for i, w := range want {
		p, s, _ := strings.Cut(w, "\x00")
		got, ok := unixCrypt(p, s)
		if !ok {
			got = "*0" // libxcrypt's failure mark
		}
		if got != lines[i] {
			t.Errorf("crypt(%q, %q) = %q, libc %q", p, s, got, lines[i])
		}
		if ok && (!cryptMatch(lines[i], p) || cryptMatch(lines[i], p+"x")) || !ok && cryptMatch(lines[i], p) {
			t.Errorf("cryptMatch(%q, %q) is wrong", lines[i], p)
		}
	}
}

// TestHTTPAuthCryptAsHAProxy: userlist users with MD5, SHA-256 and
// SHA-512 crypt passwords (and an insecure one) are let in or answered
// 401 exactly as haproxy 2.6 does.
func TestHTTPAuthCryptAsHAProxy(t *testing.T) {
	cfg := `userlist users
    user md5 password $1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.
    user s256 password $5$abc$bBHLwRRW2Li0XKaX13kz/g2fkDil4Jx46aNvd.48MS8
    user s512 password $6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.
    user plain insecure-password pw

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    http-request auth realm Private unless { http_auth(users) }
    http-request return status 200 content-type text/plain string "in\n"
`
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	creds := []struct {
		user, pass string
		in         bool
	}{
		{"md5", "pw", true}, {"md5", "px", false}, {"s256", "", true}, {"s256", "x", false},
		{"s512", "Hello world!", true}, {"s512", "Hello world", false}, {"plain", "pw", true}, {"plain", "$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.", false},
		{"nobody", "pw", false},
	}
	for _, c := range creds {
		auth := base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.pass))
		req := "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic " + auth + "\r\nConnection: close\r\n\r\n"
		h, g := rawExchange(t, hp, req, time.Second), rawExchange(t, gp, req, time.Second)
		if strings.Contains(h, "HTTP/1.1 200") != c.in {
			t.Errorf("%s:%s: haproxy answered %q", c.user, c.pass, clip(h))
		}
		if h != g {
			t.Errorf("%s:%s:\nhaproxy: %q\ngohaka:  %q", c.user, c.pass, clip(h), clip(g))
		}
	}
}

// TestHTTPAuthGroupAsHAProxy: http_auth_group finds the groups of the
// authenticated user (from `group ... users` and `user ... groups`) as
// haproxy 2.6 does.
func TestHTTPAuthGroupAsHAProxy(t *testing.T) {
	cfg := `userlist L
    group admins users alice
    group dev
    user alice insecure-password a
    user bob password $1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc. groups dev
    user carol insecure-password c

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    acl isadmin http_auth_group(L) admins
    acl isdev http_auth_group(L) dev
    http-request auth realm R unless { http_auth(L) }
    http-request return status 200 content-type text/plain string "admin\n" if isadmin
    http-request return status 200 content-type text/plain string "dev\n" if isdev
    http-request deny
`
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	for _, c := range []struct{ cred, want string }{
		{"alice:a", "admin"}, {"bob:pw", "dev"}, {"carol:c", "403"}, {"alice:b", "401"}, {"bob:x", "401"},
	} {
		req := "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic " + base64.StdEncoding.EncodeToString([]byte(c.cred)) + "\r\nConnection: close\r\n\r\n"
		h, g := rawExchange(t, hp, req, time.Second), rawExchange(t, gp, req, time.Second)
		if !strings.Contains(h, c.want) {
			t.Errorf("%s: haproxy's answer lacks %q: %q", c.cred, c.want, clip(h))
		}
		if h != g {
			t.Errorf("%s:\nhaproxy: %q\ngohaka:  %q", c.cred, clip(h), clip(g))
		}
	}
}
