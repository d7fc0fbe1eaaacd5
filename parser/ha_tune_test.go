package parser

import "testing"

// TestNoEffectTuning: the haproxy tuning lines that have nothing to tune
// in gohaka are accepted without a warning, and checked with haproxy
// 2.6's messages (as `haproxy -c` printed them).
func TestNoEffectTuning(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"tune.ssl.default-dh-param 2048", ""},
		{"tune.idle-pool.shared on", ""},
		{"tune.ssl.capture-buffer-size 96", ""},
		{"tune.ssl.default-dh-param", "'tune.ssl.default-dh-param' expects an integer argument."},
		{"tune.ssl.default-dh-param abc", "'tune.ssl.default-dh-param' expects a value >= 1024."},
		{"tune.ssl.default-dh-param 512", "'tune.ssl.default-dh-param' expects a value >= 1024."},
		{"tune.ssl.default-dh-param 2048 x", "'tune.ssl.default-dh-param' cannot handle unexpected argument 'x'."},
		{"tune.idle-pool.shared", "'tune.idle-pool.shared' expects either 'on' or 'off' but got ''."},
		{"tune.idle-pool.shared maybe", "'tune.idle-pool.shared' expects either 'on' or 'off' but got 'maybe'."},
		{"tune.ssl.capture-buffer-size", "'tune.ssl.capture-buffer-size' expects an integer argument."},
		{"tune.ssl.capture-buffer-size x", ""},
		{"tune.ssl.capture-buffer-size -1", "'tune.ssl.capture-buffer-size' expects a positive numeric value."},
		{"tune.ssl.capture-cipherlist-size", "'tune.ssl.capture-cipherlist-size' expects an integer argument."},
		{"tune.ssl.default-dh-params 2048", "unknown keyword 'tune.ssl.default-dh-params' in 'global' section; did you mean 'tune.ssl.default-dh-param' maybe ?"},
		{"tune.maxaccept 100", "'tune.maxaccept' is a known haproxy keyword that gohaka does not implement yet (in global); it is ignored"},
	} {
		_, ds := LoadHAProxyBytes("t.cfg", []byte("global\n    "+c.line+"\n"), Options{})
		if got := lastProblem(ds); got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
		for _, d := range ds {
			if c.want == "" {
				t.Errorf("%q: %s", c.line, d.Msg)
			}
		}
	}
}

// TestCipherSuitesLines: a TLS 1.3 suite list that holds the three Go's
// TLS offers is what gohaka does (no warning); one that leaves a suite
// out is warned about, naming it.
func TestCipherSuitesLines(t *testing.T) {
	all := "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
	for _, c := range []struct{ line, want string }{
		{"ssl-default-bind-ciphersuites " + all, ""},
		{"ssl-default-server-ciphersuites TLS_CHACHA20_POLY1305_SHA256:" + all + ":TLS_AES_128_CCM_SHA256", ""},
		{"ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384",
			"'ssl-default-bind-ciphersuites': gohaka cannot leave out the TLS 1.3 suite(s) TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256 (Go's TLS offers all of TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256); they stay offered"},
	} {
		_, ds := LoadHAProxyBytes("t.cfg", []byte("global\n    "+c.line+"\n"), Options{})
		if got := lastProblem(ds); got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
		if len(ds) > 1 || c.want == "" && len(ds) > 0 {
			t.Errorf("%q: %d diagnostics: %v", c.line, len(ds), ds)
		}
	}
}
