package main

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy"
)

// TestCheckWarnsWhatRunRefuses: a config haproxy takes but gohaka's
// runtime does not (an action it lacks) passes check with a
// not-implemented warning at the action's line, which --strict turns
// into an error; run refuses it with the same line.
func TestCheckWarnsWhatRunRefuses(t *testing.T) {
	t.Setenv("GOHAKA_STUB_RESOLVER", "127.0.0.1")
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cfg, []byte("defaults\n    mode http\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\n\n"+
		"frontend f\n    bind 127.0.0.1:18080\n    http-request set-priority-class int(1)\n    default_backend b\n\nbackend b\n    server s1 127.0.0.1:18081\n"), 0o644)
	rc, out, _ := runCLI("gohaka", "check", "-f", cfg)
	want := "h.cfg:9:5: warning: gohaka run refuses this config: 'http-request set-priority-class' is not available in gohaka's http runtime yet"
	if rc != 0 || !strings.Contains(out, want) || !strings.Contains(out, "1 warnings, 0 errors") {
		t.Errorf("check: rc %d, want 0 and %q:\n%s", rc, want, out)
	}
	rc, out, _ = runCLI("gohaka", "check", "-f", cfg, "--strict")
	if rc != 1 || !strings.Contains(out, "h.cfg:9:5: error: gohaka run refuses") {
		t.Errorf("check --strict: rc %d\n%s", rc, out)
	}
}

// checkedCorpusRunFloor is how many corpus configs haproxy accepts pass
// check without a not-implemented warning and run (all of them since
// table_server_id).
const checkedCorpusRunFloor = 105

// TestCheckedCorpusConfigsRun: every corpus config haproxy 2.6 accepted
// that `gohaka check` passes without a not-implemented warning is taken
// by the runtime; the count of those check now warns about is logged.
func TestCheckedCorpusConfigsRun(t *testing.T) {
	dir := haproxyCorpus(t)
	f, err := os.Open(filepath.Join(dir, "EXPECTED.tsv"))
	if err != nil {
		t.Skipf("corpus not available (%v)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	clean, warned := 0, 0
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 2 || c[0] == "file" || c[1] != "0" || strings.HasSuffix(c[0], "/") {
			continue
		}
		cfg, ds := parser.Load(parser.Options{HAProxy: []string{filepath.Join(dir, c[0])}, Dir: dir, Offline: true,
			Env: func(string) (string, bool) { return "", false }, Resolver: parser.StaticResolver(netip.MustParseAddr("127.0.0.1"))})
		if ds.HasErrors() || ds.Strict().HasErrors() {
			continue
		}
		if _, ok := runtimeRefusal(cfg); ok {
			warned++
			continue
		}
		clean++
		if _, err := proxy.New(cfg, proxy.Options{}); err != nil {
			t.Errorf("%s: check passes it cleanly, run refuses it: %v", c[0], err)
		}
	}
	if clean < checkedCorpusRunFloor {
		t.Fatalf("%d corpus configs pass check cleanly and run, fewer than the %d before", clean, checkedCorpusRunFloor)
	}
	t.Logf("%d corpus configs pass check without a not-implemented warning (all taken by the runtime); %d more get check's run-refusal warning", clean, warned)
}
