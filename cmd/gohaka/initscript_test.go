package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// initScript runs /etc/init.d/NAME ACTION unchanged in a private mount
// namespace where binary is bind-mounted over the program path and the
// test's own file over /etc/default/NAME (which the script sources), so
// nothing outside the test sees either.
func initScript(t *testing.T, name, prog, binary, defaults, action string) (int, string) {
	return initScriptIn(t, nil, name, prog, binary, defaults, action)
}

// initScriptIn is initScript with more mounts (source, target pairs) and
// the command prefixed (e.g. ip netns exec NS).
func initScriptIn(t *testing.T, prefix []string, name, prog, binary, defaults, action string, mounts ...string) (int, string) {
	script := fmt.Sprintf("mount --bind %q %q && mount --bind %q /etc/default/%s && ", binary, prog, defaults, name)
	for i := 0; i+1 < len(mounts); i += 2 {
		script += fmt.Sprintf("mount --bind %q %q && ", mounts[i], mounts[i+1])
	}
	script += fmt.Sprintf("exec /etc/init.d/%s %s", name, action)
	args := append(append([]string{}, prefix...), "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "_SYSTEMCTL_SKIP_REDIRECT=1")
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// initResult is what the init script's users see.
type initResult struct {
	StartCode, StatusCode, ReloadCode, BadReloadCode, StopCode int
	Serving, NewPID, OldGone, SameAfterBad, Gone, PidfileAfter bool
}

func pidIn(path string) int {
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// waitGone waits (bounded) for pid to exit.
func waitGone(pid int) bool {
	for i := 0; i < 200 && alive(pid); i++ {
		time.Sleep(25 * time.Millisecond)
	}
	return !alive(pid)
}

// haproxyInitLife runs start, status, reload, a reload with a bad
// config, and stop through Debian's /etc/init.d/haproxy.
func haproxyInitLife(t *testing.T, binary string, backend int) initResult {
	dir := t.TempDir()
	fp := localPort(t)
	cfg := tcpConfig(t, dir, fp, backend, "")
	good, _ := os.ReadFile(cfg)
	pidfile := filepath.Join(dir, "haproxy.pid")
	defaults := filepath.Join(dir, "default")
	os.WriteFile(defaults, []byte(fmt.Sprintf("CONFIG=%s\nPIDFILE=%s\nRUNDIR=%s\n", cfg, pidfile, filepath.Join(dir, "run"))), 0o644)
	var pids []int
	t.Cleanup(func() {
		for _, p := range pids {
			if alive(p) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	run := func(action string) int {
		code, out := initScript(t, "haproxy", "/usr/sbin/haproxy", binary, defaults, action)
		if p := pidIn(pidfile); p > 0 {
			pids = append(pids, p)
		}
		t.Logf("%s %s: %d %s", filepath.Base(binary), action, code, strings.TrimSpace(out))
		return code
	}
	var r initResult
	r.StartCode = run("start")
	first := pidIn(pidfile)
	r.Serving = served0(fp) == nil
	r.StatusCode = run("status")
	r.ReloadCode = run("reload")
	second := pidIn(pidfile)
	r.NewPID = second != first && second > 0
	r.OldGone = waitGone(first)
	r.Serving = r.Serving && served0(fp) == nil
	os.WriteFile(cfg, append(good, "    frobnicate\n"...), 0o644)
	r.BadReloadCode = run("reload")
	r.SameAfterBad = pidIn(pidfile) == second && alive(second) && served0(fp) == nil
	r.StopCode = run("stop")
	r.Gone = waitGone(second)
	_, err := os.Stat(pidfile)
	r.PidfileAfter = err == nil
	return r
}

// TestDebianHAProxyInitScript: Debian's own /etc/init.d/haproxy (start
// with -D -p, status, reload with -sf, reload refused on a bad config,
// stop through start-stop-daemon --exec) drives gohaka bind-mounted over
// /usr/sbin/haproxy exactly as it drives haproxy 2.6.
func TestDebianHAProxyInitScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	if _, err := os.Stat("/etc/init.d/haproxy"); err != nil {
		t.Skip("the Debian haproxy package's init script is not installed")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1)")
	}
	backend := echoServer(t)
	// the binary mounted over /usr/sbin/haproxy must be gohaka itself (a
	// symlink would point outside); its name there selects haproxy mode
	got := haproxyInitLife(t, vrrpBinary(t), backend)
	want := haproxyInitLife(t, "/usr/sbin/haproxy", backend)
	t.Logf("gohaka: %+v", got)
	t.Logf("haproxy: %+v", want)
	if got != want {
		t.Errorf("the init script sees gohaka %+v, haproxy %+v", got, want)
	}
	if got.StartCode != 0 || got.StatusCode != 0 || got.ReloadCode != 0 || got.BadReloadCode == 0 || got.StopCode != 0 ||
		!got.Serving || !got.NewPID || !got.OldGone || !got.SameAfterBad || !got.Gone || got.PidfileAfter {
		t.Errorf("gohaka through the init script: %+v", got)
	}
}

// kaInitResult is what keepalived's init script users see.
type kaInitResult struct {
	StartCode, ReloadCode, StopCode         int
	VIP, SamePIDAfterHUP, VIPAfterHUP, Gone bool
	VIPAfterStop, PidfileAfter              bool
}

// keepalivedInitLife runs start, reload and stop through Debian's
// /etc/init.d/keepalived in a network namespace of its own; /run and
// /etc/keepalived are the test's own directories there.
func keepalivedInitLife(t *testing.T, binary string) kaInitResult {
	ns := testNetns(t)
	for _, a := range [][]string{{"link", "set", "gkp0", "up"}, {"addr", "add", "192.0.2.1/24", "dev", "eth0"}} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, a...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", a, err, out)
		}
	}
	dir := t.TempDir()
	etc, runDir := filepath.Join(dir, "etc"), filepath.Join(dir, "run")
	os.Mkdir(etc, 0o755)
	os.Mkdir(runDir, 0o755)
	conf, _ := os.ReadFile(kaConf(t, "MASTER", 100))
	os.WriteFile(filepath.Join(etc, "keepalived.conf"), conf, 0o644)
	defaults := filepath.Join(dir, "default")
	os.WriteFile(defaults, []byte("DAEMON_ARGS=\"-P -l\"\n"), 0o644)
	pidfile := filepath.Join(runDir, "keepalived.pid")
	var pids []int
	t.Cleanup(func() {
		for _, p := range pids {
			if alive(p) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	run := func(action string) int {
		code, out := initScriptIn(t, []string{"ip", "netns", "exec", ns}, "keepalived", "/usr/sbin/keepalived", binary, defaults, action,
			runDir, "/run", etc, "/etc/keepalived")
		if p := pidIn(pidfile); p > 0 {
			pids = append(pids, p)
		}
		t.Logf("%s %s: %d %s", filepath.Base(binary), action, code, strings.TrimSpace(out))
		return code
	}
	var r kaInitResult
	r.StartCode = run("start")
	for i := 0; i < 100 && pidIn(pidfile) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	first := pidIn(pidfile)
	for i := 0; i < 100 && !hasVIP(ns); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	r.VIP = hasVIP(ns)
	r.ReloadCode = run("reload")
	time.Sleep(time.Second)
	r.SamePIDAfterHUP = pidIn(pidfile) == first && first > 0 && alive(first)
	r.VIPAfterHUP = hasVIP(ns)
	r.StopCode = run("stop")
	r.Gone = waitGone(first)
	r.VIPAfterStop = hasVIP(ns)
	_, err := os.Stat(pidfile)
	r.PidfileAfter = err == nil
	return r
}

// TestDebianKeepalivedInitScript: Debian's own /etc/init.d/keepalived
// (start-stop-daemon with /var/run/keepalived.pid and --exec, reload by
// SIGHUP, stop) drives gohaka bind-mounted over /usr/sbin/keepalived
// exactly as it drives keepalived 2.2.
func TestDebianKeepalivedInitScript(t *testing.T) {
	t.Parallel() // mostly waits on VRRP timers
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	if _, err := os.Stat("/etc/init.d/keepalived"); err != nil {
		t.Skip("the Debian keepalived package's init script is not installed")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1)")
	}
	got := keepalivedInitLife(t, vrrpBinary(t))
	want := keepalivedInitLife(t, "/usr/sbin/keepalived")
	t.Logf("gohaka: %+v", got)
	t.Logf("keepalived: %+v", want)
	if got != want {
		t.Errorf("the init script sees gohaka %+v, keepalived %+v", got, want)
	}
	if got.StartCode != 0 || got.ReloadCode != 0 || got.StopCode != 0 || !got.VIP || !got.SamePIDAfterHUP ||
		!got.VIPAfterHUP || !got.Gone || got.VIPAfterStop || got.PidfileAfter {
		t.Errorf("gohaka through the init script: %+v", got)
	}
}
