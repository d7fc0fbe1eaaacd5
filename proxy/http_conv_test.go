package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// TestConvertersAsHAProxy: each converter chain, applied to a header
// through `http-request return ... lf-string`, gives the same body
// through haproxy 2.6 and gohaka; an ACL on a converted header gives the
// same verdicts, and a map routes to the same backend.
func TestConvertersAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	mp := filepath.Join(dir, "hosts.map")
	os.WriteFile(mp, []byte("# host to backend\nwww.example.com be_a\napi.example.com\tbe_b\n\n"), 0o644)
	bp := filepath.Join(dir, "beg.map")
	os.WriteFile(bp, []byte("/api/v1 v1\n/api v0\n/static st\n"), 0o644)
	rp := filepath.Join(dir, "reg.map")
	os.WriteFile(rp, []byte(`^/u/[0-9]+$ user
\.php$ php
`), 0o644)
	chains := []string{
		"lower", "upper", "lower,upper",
		"field(2,/)", "field(1,/)", "field(-1,/)", "field(3,/)", "field(5,/)", "field(2,/,0)", "field(-2,/,2)", "field(2,/.)",
		"word(1,/)", "word(2,/)", "word(-1,/)", "word(1,/,0)", "word(9,/)", "word(-2,/,0)", "field(-2,/,0)", "word(2,/,2)",
		`regsub(/+,/,g)`, `regsub(^/api,/v2)`, `regsub([a-z]+\.php,page.html)`, `regsub(A,x,gi)`,
		"map(" + mp + ")", "map(" + mp + ",be_default)", "lower,map_str(" + mp + ",none)",
		"map_beg(" + bp + ",no)", "map_reg(" + rp + ",no)", "base64", "hex", "lower,base64",
		"ipmask(24)", "ipmask(255.255.0.0)", "ipmask(24,64)", "ipmask(0)", "ipmask(255.255.255.128,ffff:ffff:ffff:ff00::)", "ipmask(24,ffff:ffff:ffff:ffff:ffff:ffff:ffff:fee0)",
		"sha1,hex", "sha2,hex", "sha2(512),hex", "digest(md5),hex", "digest(sha384),hex", "bytes(2)", "bytes(1,3)", "bytes(40)", "b64dec", "base64,b64dec", "crc32", "crc32(1)",
		"crc32c", "crc32c(1)", "xxh32", "xxh32(1)", "xxh64", "xxh64(1)", "xxh3", "xxh3(1)", "be2dec(-,1)", "be2dec(:,2)", "be2dec(:,3,1)", "be2dec(,8)", "be2hex", "be2hex(:,1)", "be2hex(-,2,1)", "be2hex(,3)",
		"concat(<,txn.w,>)", "concat(,txn.w)", "concat(-)", "concat(,txn.none,!)", "add_item(',',txn.w,_s)", "add_item(',',txn.w)",
		"add_item(',',,_s)", "add_item(',',txn.none)", "set-var(txn.c),concat(:,txn.c)", "lower,set-var(txn.c2),upper,concat(/,txn.c2)",
	}
	values := []string{"/api/v1/Users", "//a//b/", "www.example.com", "WWW.Example.COM", "/u/42", "/x/index.php", "/static/a.css", "plain", "",
		"192.0.2.77", "2001:db8:1:2:3:4:5:6", "::ffff:192.0.2.9", "cGxhaW4="}
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n    http-request set-var(txn.w) str(W)\n"
	for i, c := range chains {
		cfg += fmt.Sprintf("    http-request return status 200 content-type text/plain lf-string \"[%%%%[req.hdr(x-v),%s]]\" if { path /c%d }\n", c, i)
	}
	// an ACL matches a converter's output by its type: int, ip
	cfg += "    http-request return status 200 content-type text/plain string long if { path /acl } { req.hdr(x-v),length gt 12 }\n" +
		"    http-request return status 200 content-type text/plain string net if { path /acl } { req.hdr(x-v),ipmask(24) 192.0.2.0/24 }\n" +
		"    http-request return status 200 content-type text/plain string low if { path /acl } { req.hdr(x-v),crc32 lt 1500000000 }\n" +
		"    http-request return status 200 content-type text/plain string yes if { path /acl } { req.hdr(x-v),lower,field(1,.) -m str www }\n" +
		"    http-request return status 200 content-type text/plain string no if { path /acl }\n" +
		"    use_backend %%[req.hdr(host),lower,map(" + mp + ",be_c)]\n" +
		"backend be_a\n    http-request return status 200 content-type text/plain string a\n" +
		"backend be_b\n    http-request return status 200 content-type text/plain string b\n" +
		"backend be_c\n    http-request return status 200 content-type text/plain string c\n"
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	body := func(port int, req string) string {
		out := rawExchange(t, port, req, 2*time.Second)
		if _, b, ok := strings.Cut(out, "\r\n\r\n"); ok {
			return b
		}
		return "no answer: " + out
	}
	for i, c := range chains {
		for _, v := range values {
			req := fmt.Sprintf("GET /c%d HTTP/1.1\r\nHost: h\r\nX-V: %s\r\nConnection: close\r\n\r\n", i, v)
			if ha, gh := body(hp, req), body(gp, req); ha != gh {
				t.Errorf("%%[req.hdr(x-v),%s] of %q: haproxy %q, gohaka %q", c, v, ha, gh)
			}
		}
	}
	for _, v := range values {
		req := "GET /acl HTTP/1.1\r\nHost: h\r\nX-V: " + v + "\r\nConnection: close\r\n\r\n"
		if ha, gh := body(hp, req), body(gp, req); ha != gh {
			t.Errorf("ACL with converters on %q: haproxy %q, gohaka %q", v, ha, gh)
		}
	}
	for _, host := range []string{"www.example.com", "API.example.com", "other.example.com"} {
		req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
		if ha, gh := body(hp, req), body(gp, req); ha != gh {
			t.Errorf("use_backend by map for %s: haproxy %q, gohaka %q", host, ha, gh)
		}
	}
}

// TestUnknownConverterRefused: a converter gohaka does not have is a
// config error naming it, not a silently different value.
func TestUnknownConverterRefused(t *testing.T) {
	cfg, ds := parser.LoadHAProxyBytes("u.cfg", []byte("defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:1\n    http-request set-header X %[path,json(utf8s)]\n"), parser.Options{Offline: true})
	if ds.HasErrors() {
		t.Fatalf("config: %s", ds)
	}
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "converter 'json'") || !strings.Contains(err.Error(), "u.cfg:5") {
		t.Errorf("New: %v, want an error naming converter 'json' at u.cfg:5", err)
	}
}

// TestConstantsAndArithmeticAsHAProxy: str(), int(), bool() and the
// length, arithmetic and http_date converters give haproxy 2.6's values;
// date, rand and uuid have its shapes.
func TestConstantsAndArithmeticAsHAProxy(t *testing.T) {
	exprs := []string{
		"str(hello)", "str(hello),length", "str(),length", "int(42)", "bool(1)",
		"int(10),add(5)", "int(10),sub(15)", "int(6),mul(7)", "int(7),div(2)", "int(-7),div(2)",
		"int(7),div(0)", "int(7),mod(3)", "int(-7),mod(3)", "int(7),mod(0)",
		"int(1796199708),http_date", "int(0),http_date(3600)", "str(abc),add(1)", "str(12abc),add(1)", "str(-3x),mul(2)",
	}
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n"
	for i, e := range exprs {
		cfg += fmt.Sprintf("    http-request return status 200 content-type text/plain lf-string \"[%%%%[%s]]\" if { path /e%d }\n", e, i)
	}
	cfg += "    http-request return status 200 content-type text/plain lf-string \"%%[date] %%[rand(100)] %%[uuid] %%[date(-10),http_date]\"\n"
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	body := func(port int, path string) string {
		out := rawExchange(t, port, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2*time.Second)
		_, b, _ := strings.Cut(out, "\r\n\r\n")
		return b
	}
	for i, e := range exprs {
		if ha, gh := body(hp, fmt.Sprintf("/e%d", i)), body(gp, fmt.Sprintf("/e%d", i)); ha != gh {
			t.Errorf("%%[%s]: haproxy %q, gohaka %q", e, ha, gh)
		}
	}
	shape := regexp.MustCompile(`^\d{10} \d{1,2} [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$`)
	for _, p := range []int{hp, gp} {
		if b := body(p, "/shape"); !shape.MatchString(b) {
			t.Errorf("port %d: date, rand(100), uuid, http_date: %q", p, b)
		}
	}
}
