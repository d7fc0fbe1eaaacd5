package proxy

import (
	"testing"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// TestHTTPMatchers checks the match methods and fetches on one request
// (the differential test checks the common ones against haproxy).
func TestHTTPMatchers(t *testing.T) {
	q := &hreq{method: []byte("GET"), uri: []byte("http://h.example/a/b/c.php?x=1&id=42"), major: 1, minor: 1,
		hdrs: []h1.Header{{Name: []byte("Host"), Value: []byte("www.Example.com")}, {Name: []byte("X-L"), Value: []byte("a, b")}}}
	cases := []struct {
		fetch  string
		flags  []string
		values []string
		want   bool
	}{
		{"path", nil, []string{"/a/b/c.php"}, true},
		{"path_beg", nil, []string{"/a/"}, true},
		{"path_end", nil, []string{".php"}, true},
		{"path_dir", nil, []string{"b"}, true},
		{"path_dir", nil, []string{"a/b"}, true},
		{"path_dir", nil, []string{"c"}, false},
		{"path_sub", nil, []string{"b/c"}, true},
		{"path_reg", nil, []string{`^/a/.*\.php$`}, true},
		{"path_len", nil, []string{"10"}, true},
		{"url_param(id)", nil, []string{"42"}, true},
		{"urlp(x)", []string{"-m", "int"}, []string{"ge", "1"}, true},
		{"query", []string{"-m", "sub"}, []string{"id="}, true},
		{"hdr(host)", nil, []string{"www.example.com"}, false},
		{"hdr(host)", []string{"-i"}, []string{"www.example.com"}, true},
		{"hdr_dom(host)", []string{"-i"}, []string{"example.com"}, true},
		{"hdr_dom(host)", nil, []string{"xample.com"}, false},
		{"hdr_cnt(x-l)", nil, []string{"2"}, true},
		{"req.fhdr(x-l)", nil, []string{"a, b"}, true},
		{"hdr(x-l)", nil, []string{"b"}, true},
		{"hdr(x-none)", []string{"-m", "found"}, nil, false},
		{"hdr(x-l)", []string{"-m", "found"}, nil, true},
		{"hdr_len(host)", nil, []string{"10:20"}, true},
		{"method", nil, []string{"GET"}, true},
		{"method", []string{"-i"}, []string{"get"}, false},
		{"base", []string{"-m", "beg", "-i"}, []string{"www.example.com/a"}, true},
		{"url", []string{"-m", "end"}, []string{"id=42"}, true},
		{"always_false", nil, nil, false},
		{"HTTP_1.1", nil, nil, true},
	}
	for _, c := range cases {
		m, err := compileHTTP(c.fetch, c.flags, c.values, parser.Pos{}, nil)
		if err != nil {
			t.Errorf("%s: %v", c.fetch, err)
			continue
		}
		if got := m.match(q); got != c.want {
			t.Errorf("%s %v %v: %v, want %v", c.fetch, c.flags, c.values, got, c.want)
		}
	}
}
