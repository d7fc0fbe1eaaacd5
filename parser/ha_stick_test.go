package parser

import "testing"

// TestStickLines: `stick on src` with a table is kept without a warning;
// without its table it is haproxy's error; another pattern is warned.
func TestStickLines(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"    stick-table type ip size 10 expire 1m\n    stick on src\n", ""},
		{"    stick on src\n", "Proxy 'b': unable to find stick-table 'b'."},
		{"    stick-table type ip size 10\n    stick on src table nosuch\n", "Proxy 'b': unable to find stick-table 'nosuch'."},
		{"    stick-table type string size 10\n    stick on req.cookie(x)\n", "'stick on' is a known haproxy keyword that gohaka does not implement yet (in backend 'b'); it is ignored"},
	} {
		src := "backend b\n    mode tcp\n" + c.body + "    server s 127.0.0.1:1\n"
		_, ds := LoadHAProxyBytes("s.cfg", []byte(src), Options{})
		got := lastProblem(ds)
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.body, got, c.want)
		}
	}
}
