package parser

import (
	"strings"
	"testing"
)

// TestServerVerifyNeedsCA: `ssl` on a server without a CA file is fatal
// unless verification is turned off, with haproxy 2.6's message.
func TestServerVerifyNeedsCA(t *testing.T) {
	base := "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n%s\nlisten l\n  bind 127.0.0.1:9999\n  server s1 127.0.0.1:80 ssl %s\n"
	for _, c := range []struct {
		global, extra, srv string
		fatal              bool
	}{
		{"", "", "", true},
		{"", "", "verify required", true},
		{"", "", "verify none", false},
		{"", "  default-server verify none", "", false},
		{"global\n  ssl-server-verify none\n", "", "", false},
	} {
		text := c.global + strings.Replace(base, "%s", c.extra, 1)
		text = strings.Replace(text, "%s", c.srv, 1)
		_, ds := LoadHAProxyBytes("v.cfg", []byte(text), Options{Offline: true})
		found := false
		for _, d := range ds {
			if strings.Contains(d.Msg, "verify is enabled by default but no CA file specified") && d.Sev == Error {
				found = true
				if d.Pos.Line != strings.Count(text[:strings.Index(text, "server s1")], "\n")+1 {
					t.Errorf("reported at line %d", d.Pos.Line)
				}
			}
		}
		if found != c.fatal {
			t.Errorf("global %q extra %q server %q: fatal=%v, want %v (%s)", c.global, c.extra, c.srv, found, c.fatal, ds)
		}
	}
}
