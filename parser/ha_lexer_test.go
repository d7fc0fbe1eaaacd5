package parser

import (
	"reflect"
	"testing"
)

func TestHALexer(t *testing.T) {
	env := map[string]string{"HOME": "/root", "EMPTY": "", "LIST": "a  b c", "PORT": "8080"}
	lx := haLexer{env: func(n string) (string, bool) { v, ok := env[n]; return v, ok }}
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"  bind :80  # comment", []string{"bind", ":80"}, ""},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}, ""},
		{`"a b"' c'\ d`, []string{"a b c d"}, ""},
		{`'no $HOME \n here'`, []string{`no $HOME \n here`}, ""},
		{`"$HOME/x" ${HOME} $HOME`, []string{"/root/x", "${HOME}", "$HOME"}, ""},
		{`"${HOME}" "${UNSET-def}" "${EMPTY-def}" "${UNSET}"`, []string{"/root", "def", "", ""}, ""},
		{`x "${LIST[*]}" y`, []string{"x", "a", "b", "c", "y"}, ""},
		{`"a\"b" "c\\d" "\$HOME" "\#"`, []string{`a"b`, `c\d`, "$HOME", "#"}, ""},
		{`a\ b c\#d e\\f \'g\"`, []string{"a b", "c#d", `e\f`, `'g"`}, ""},
		{`"\x41\t" \x42`, []string{"A\t", "B"}, ""},
		{`a#b`, []string{"a"}, ""},
		{`"a#b"`, []string{"a#b"}, ""},
		{`""`, []string{""}, ""},
		{"a\tb\r", []string{"a", "b"}, ""},
		{`log "127.0.0.1 local0`, nil, "unmatched quote"},
		{`a 'b`, nil, "unmatched quote"},
		{`"$1 $ x"`, []string{"$1 $ x"}, ""},
		{`"port:${PORT}"`, []string{"port:8080"}, ""},
	}
	for _, c := range cases {
		got := lx.split(c.in)
		if got.Err != c.err {
			t.Errorf("%q: error %q, want %q", c.in, got.Err, c.err)
			continue
		}
		if c.err == "" && !reflect.DeepEqual(append([]string{}, got.Words...), c.want) {
			t.Errorf("%q: words %q, want %q", c.in, got.Words, c.want)
		}
	}
}

func TestHALexerColumns(t *testing.T) {
	var lx haLexer
	got := lx.split(`  server  s1 "1.2.3.4:80"`)
	if want := []int{3, 11, 14}; !reflect.DeepEqual(got.Cols, want) {
		t.Errorf("columns %v, want %v", got.Cols, want)
	}
}

func TestIfConditions(t *testing.T) {
	env := func(n string) (string, bool) { return map[string]string{"A": "x"}[n], n == "A" }
	cases := map[string]bool{
		"1": true, "0": false, "defined(A)": true, "defined(B)": false,
		"!defined(B)": true, "streq(x,x)": true, "strneq(x,x)": false,
		"version_atleast(2.4)": true, "version_atleast(2.7)": false,
		"version_before(3.0)": true, "feature(LINUX_SPLICE)": true, "feature(QUIC)": false,
		"defined(A) && defined(B)": false, "defined(A) || defined(B)": true,
		"!(defined(A) && defined(B))": true, "0 || 1 && 0": false, "1 || 0 && 0": true,
	}
	for in, want := range cases {
		got, err := evalIfCond([]string{in}, env)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "nosuch(x)", "defined(", "streq(a)"} {
		if _, err := evalIfCond([]string{bad}, env); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	ok := map[string]int64{"10": 10e6, "10ms": 10e6, "1s": 1e9, "2m": 120e9, "1h": 3600e9, "1d": 86400e9, "500us": 500e3}
	for in, want := range ok {
		d, err := parseTime(in)
		if err != nil || int64(d) != want {
			t.Errorf("%q: %v %v, want %d", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "x", "5x", "1.5s", "25d", "2147483648"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, tr, err := parseTimeLax("15min"); err != nil || tr != "in" {
		t.Errorf("15min: trailing %q err %v", tr, err)
	}
}
