package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

const kaDiagDir = "../../testdata/keepalived"

// testNetns makes a network namespace holding lo and a veth "eth0", as a
// keepalived host with one interface; it is deleted in cleanup.
func testNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	ns := fmt.Sprintf("gohaka-kt-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "gkp0")
	run("-n", ns, "link", "set", "eth0", "up")
	return ns
}

// TestKeepalivedTestCompat runs real keepalived 2.2 -t and gohaka invoked
// as keepalived on the same configs, both seeing a host with lo and eth0:
// the exit codes must match.
func TestKeepalivedTestCompat(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	ns := testNetns(t)
	old := hostFn
	hostFn = func() *parser.KeepalivedHost {
		h := realHost()
		h.Interfaces = map[string]bool{"lo": true, "eth0": true, "gkp0": true}
		h.UserExists = func(u string) bool { return u == "root" || u == "nobody" }
		return h
	}
	t.Cleanup(func() { hostFn = old })
	files, _ := filepath.Glob(filepath.Join(kaDiagDir, "*.conf"))
	if len(files) == 0 {
		t.Fatal("no keepalived test configs")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("ip", "netns", "exec", ns, ka, "-t", "-f", f)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			cmd.Run()
			want := cmd.ProcessState.ExitCode()
			rc, _, gerr := runCLI("keepalived", "-t", "-f", f)
			if rc != want {
				t.Errorf("exit %d, keepalived %d\n--- keepalived\n%s--- gohaka\n%s", rc, want, errb.String(), gerr)
			}
		})
	}
}

// TestCheckKeepalivedGolden compares `gohaka check -k` with golden output.
func TestCheckKeepalivedGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(kaDiagDir, "*.conf"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			rc, out, _ := runCLI("gohaka", "check", "-k", f)
			got := strings.ReplaceAll(out, kaDiagDir+"/", "") + fmt.Sprintf("exit %d\n", rc)
			golden := filepath.Join(kaDiagDir, name+".golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden (go test ./cmd/gohaka -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestCheckCrossFile checks haproxy binds against keepalived VIPs.
func TestCheckCrossFile(t *testing.T) {
	rc, out, _ := runCLI("gohaka", "check", "-f", kaDiagDir+"/lb-pair-haproxy.cfg", "-k", kaDiagDir+"/master-master-1.conf")
	for _, want := range []string{
		"frontend 'vip1_web' binds 192.0.2.100:80, a VIP of vrrp_instance VI_1",
		"VI_1             51    MASTER  150  192.0.2.100/24           vip1_web(192.0.2.100:80)",
		"VI_2             52    BACKUP  100  192.0.2.101/24           vip2_web(192.0.2.101:80)",
		"valid: 3 proxies, 1 servers, 2 vrrp instances",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "vip2_web' binds") {
		t.Errorf("a transparent bind needs no warning:\n%s", out)
	}
	if rc != 0 {
		t.Errorf("rc %d", rc)
	}
}
