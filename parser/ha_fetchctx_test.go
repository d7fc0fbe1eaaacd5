package parser

import (
	"strings"
	"testing"
)

// TestNeverMatchWarnings: ACLs on the request in http-response rules,
// and on the response in http-request rules, get haproxy 2.6's -c
// warnings (texts as haproxy printed them for this config): named ACLs
// that never match and one with some definitions on the wrong side.
func TestNeverMatchWarnings(t *testing.T) {
	cfg := `defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:8080
    acl p path_beg /x
    acl ok status 200
    acl mixed path_beg /y
    acl mixed status 404
    http-response set-header X-A yes if p
    http-response set-header X-B yes if p ok
    http-response set-header X-C yes if { url_param(a) -m found } || ok
    http-request set-header X-D yes if { status 200 }
    http-response set-header X-M yes if mixed
    http-response set-header X-N yes if { method GET } { res.hdr(x) -m found }
    http-request set-header X-O yes if { hdr(host),lower -m end .com }
    default_backend be
backend be
    http-response set-header X-E yes if { hdr(x) -m found }
    server s 127.0.0.1:8081
`
	_, ds := LoadHAProxyBytes("w.cfg", []byte(cfg), Options{Offline: true})
	var got []string
	for _, d := range ds {
		if d.Sev == Warning {
			got = append(got, d.String())
		}
	}
	want := []string{
		"w.cfg:12:5: warning: acl 'p' will never match because it only involves keywords that are incompatible with 'frontend http-response header rule'",
		"w.cfg:13:5: warning: acl 'p' will never match because it only involves keywords that are incompatible with 'frontend http-response header rule'",
		"w.cfg:14:5: warning: anonymous acl will never match because it uses keyword 'url_param' which is incompatible with 'frontend http-response header rule'",
		"w.cfg:15:5: warning: anonymous acl will never match because it uses keyword 'status' which is incompatible with 'frontend http-request header rule'",
		"w.cfg:16:5: warning: acl 'mixed' involves keywords 'path_beg' which is incompatible with 'frontend http-response header rule'",
		"w.cfg:21:5: warning: anonymous acl will never match because it uses keyword 'hdr' which is incompatible with 'backend http-response header rule'",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
