package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckJSONAndStrict(t *testing.T) {
	t.Setenv("GOHAKA_STUB_RESOLVER", "127.0.0.1")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "h.cfg")
	os.WriteFile(cfg, []byte("global\n    tune.maxaccept 100\n\ndefaults\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\n\nlisten l\n    bind 127.0.0.1:18080\n    server s1 127.0.0.1:18081\n"), 0o644)
	rc, out, _ := runCLI("gohaka", "check", "-f", cfg, "--format", "json")
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	if rc != 0 || !rep.Valid || rep.Proxies != 1 || rep.Servers != 1 || rep.Warnings != 1 || len(rep.Diagnostics) != 1 || rep.Diagnostics[0].Line != 2 {
		t.Errorf("rc %d report %+v", rc, rep)
	}
	rc, out, _ = runCLI("gohaka", "check", "-f", cfg, "--strict")
	if rc != 1 || !strings.Contains(out, "h.cfg:2:5: error: 'tune.maxaccept' is a known haproxy keyword that gohaka does not implement yet") {
		t.Errorf("--strict: rc %d\n%s", rc, out)
	}
	rc, _, errOut := runCLI("gohaka", "check")
	if rc != 1 || !strings.Contains(errOut, "give at least one") {
		t.Errorf("no file: rc %d %q", rc, errOut)
	}
}

func TestDemoConfigIsValid(t *testing.T) {
	rc, out, _ := runCLI("gohaka", "check", "-f", "../../testdata/demo/haproxy.cfg")
	if rc != 0 || !strings.Contains(out, "valid: 5 proxies, 2 servers, 0 warnings, 0 errors") {
		t.Errorf("demo config: rc %d\n%s", rc, out)
	}
}
