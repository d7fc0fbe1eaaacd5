package parser

import (
	"strings"
	"testing"
)

// TestHTTPErrorLines: `http-error` lines are checked as haproxy 2.6 checks
// them (messages as `haproxy -c` printed them for the same lines, an
// errorfiles name without its http-errors section too), kept for the
// runtime when valid, and passed on from defaults.
func TestHTTPErrorLines(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"http-error", "http-error : expects at least a <status> as arguments."},
		{"http-error status", "http-error : 'status' expects <status_code> as argument"},
		{"http-error status 999 content-type text/plain string x", "http-error : Unexpected status code '999'"},
		{"http-error status 503 string x", "http-error : a content type must be defined when non-empty payload is configured"},
		{"http-error string x", "http-error : a content type must be defined when non-empty payload is configured"},
		{"http-error status 503 errorfile /nonexistent/503.http", "http-error : error opening file '/nonexistent/503.http'."},
		{"http-error status 503 foo bar", "http-error : unknown keyword 'foo'."},
		{"http-error status 503 errorfiles nosuch", "proxy 'fe': unknown http-errors section 'nosuch' (at e.cfg:6)."},
		{"errorfiles nosuch", "proxy 'fe': unknown http-errors section 'nosuch' (at e.cfg:6)."},
		{"http-error status 503 content-type text/plain hdr x-a b string down", ""},
		{"http-error status 403 default-errorfiles", ""},
	} {
		src := "defaults\n    mode http\n    http-error status 504 content-type text/plain string late\nfrontend fe\n    bind 127.0.0.1:1\n    " + c.line + "\n"
		cfg, ds := LoadHAProxyBytes("e.cfg", []byte(src), Options{})
		got := lastProblem(ds)
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
		if c.want != "" {
			continue
		}
		var lines []string
		for _, l := range cfg.Frontends()[0].Settings {
			if l.Words[0] == "http-error" {
				lines = append(lines, strings.Join(l.Words, " "))
			}
		}
		if len(lines) != 2 || !strings.Contains(lines[0], "504") || lines[1] != c.line {
			t.Errorf("%q: kept %q, want the defaults' 504 line and this one", c.line, lines)
		}
	}
}

// lastProblem is the message of the last error or not-implemented
// warning ("" when none).
func lastProblem(ds Diags) string {
	got := ""
	for _, d := range ds {
		if d.Sev == Error || d.NotImpl {
			got = d.Msg
		}
	}
	return got
}
