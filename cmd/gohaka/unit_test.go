package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unitFile is what a test needs of a systemd service unit.
type unitFile struct {
	env         []string // Environment= assignments, in order
	envFiles    []string
	startPre    []string
	start       string
	reload      []string
	typ         string
	killMode    string
	successExit []int
}

// readUnit reads the [Service] lines of a unit file.
func readUnit(t *testing.T, path string) unitFile {
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%s: %v (the Debian package is not installed)", path, err)
	}
	defer f.Close()
	var u unitFile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "Environment":
			u.env = append(u.env, unitWords(v)...)
		case "EnvironmentFile":
			u.envFiles = append(u.envFiles, v)
		case "ExecStart":
			u.start = v
		case "ExecStartPre":
			u.startPre = append(u.startPre, v)
		case "ExecReload":
			u.reload = append(u.reload, v)
		case "Type":
			u.typ = v
		case "KillMode":
			u.killMode = v
		case "SuccessExitStatus":
			for _, w := range strings.Fields(v) {
				n, _ := strconv.Atoi(w)
				u.successExit = append(u.successExit, n)
			}
		}
	}
	return u
}

// unitWords splits a unit value into words as systemd does: whitespace
// separates, double or single quotes group.
func unitWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote, any := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in, any = c, true, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in, any = true, true
		}
	}
	if in || any && cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// envFile reads KEY=VALUE lines (comments skipped, quotes removed).
func envFile(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' || !strings.Contains(l, "=") {
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		out = append(out, k+"="+strings.Trim(v, `"'`))
	}
	return out
}

// expandExec turns an Exec line into argv as systemd does: a word that is
// exactly $VAR becomes the variable's words (split on whitespace), ${VAR}
// is replaced in place; a leading "-" (failure ignored) is dropped.
func expandExec(line string, env map[string]string) (argv []string, ignoreFail bool) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "-") {
		line, ignoreFail = line[1:], true
	}
	for _, w := range unitWords(line) {
		if strings.HasPrefix(w, "$") && !strings.HasPrefix(w, "${") {
			argv = append(argv, strings.Fields(env[w[1:]])...)
			continue
		}
		for k, v := range env {
			w = strings.ReplaceAll(w, "${"+k+"}", v)
		}
		argv = append(argv, w)
	}
	return argv, ignoreFail
}

// unitRunner runs a unit's Exec lines as systemd would, with the program
// path replaced (the links to gohaka, or the real program) and an
// EnvironmentFile of the test's own read after the unit's Environment=
// (like a drop-in); the system's /etc/default files are not read.
type unitRunner struct {
	u      unitFile
	env    map[string]string
	prog   string // the path in the unit
	binary string // what runs instead
	prefix []string
}

func newUnitRunner(u unitFile, prog, binary string, override map[string]string) *unitRunner {
	r := &unitRunner{u: u, env: map[string]string{}, prog: prog, binary: binary}
	for _, kv := range u.env {
		k, v, _ := strings.Cut(kv, "=")
		r.env[k] = v
	}
	for k, v := range override {
		r.env[k] = v
	}
	return r
}

func (r *unitRunner) command(line string) (*exec.Cmd, bool) {
	argv, ignore := expandExec(line, r.env)
	if argv[0] == r.prog {
		argv[0] = r.binary
		argv = append(append([]string{}, r.prefix...), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(os.Environ(), cmd.Env...)
	return cmd, ignore
}

// reload runs the ExecReload lines in order; the first failure ends the
// reload (systemd's rule) and its exit code is returned.
func (r *unitRunner) reload(mainPID int) (int, string) {
	r.env["MAINPID"] = strconv.Itoa(mainPID)
	return r.runLines(r.u.reload)
}

// runLines runs Exec lines in order until one fails.
func (r *unitRunner) runLines(lines []string) (int, string) {
	for _, l := range lines {
		cmd, ignore := r.command(l)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 0 && !ignore {
			return code, string(out)
		}
	}
	return 0, ""
}

// cleanExit says whether systemd counts the main process's end as clean.
func (r *unitRunner) cleanExit(cmd *exec.Cmd) bool {
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		s := ws.Signal()
		return s == syscall.SIGTERM || s == syscall.SIGINT || s == syscall.SIGHUP || s == syscall.SIGPIPE
	}
	code := ws.ExitStatus()
	for _, c := range r.u.successExit {
		if c == code {
			return true
		}
	}
	return code == 0
}

// unitResult is what one run of a unit's life showed.
type unitResult struct {
	MainIsPidfile   bool
	ReloadCode      int
	NewWorker       bool
	BadReloadCode   int
	SameAfterBad    bool
	CleanStop       bool
	Leftovers       int
	PidfileAfterEnd bool
}

// haproxyUnitLife starts, reloads (good then bad config) and stops the
// Debian haproxy unit with binary standing for /usr/sbin/haproxy.
func haproxyUnitLife(t *testing.T, u unitFile, binary string, backend int) unitResult {
	dir := t.TempDir()
	fp := localPort(t)
	cfg := tcpConfig(t, dir, fp, backend, "")
	good, _ := os.ReadFile(cfg)
	envf := filepath.Join(dir, "default-haproxy")
	os.WriteFile(envf, []byte(fmt.Sprintf("CONFIG=%s\nPIDFILE=%s\nEXTRAOPTS=\"-S %s\"\n", cfg, filepath.Join(dir, "haproxy.pid"), filepath.Join(dir, "master.sock"))), 0o644)
	override := map[string]string{}
	for _, kv := range envFile(envf) {
		k, v, _ := strings.Cut(kv, "=")
		override[k] = v
	}
	r := newUnitRunner(u, "/usr/sbin/haproxy", binary, override)
	sock, notes := notifySocket(t)
	cmd, _ := r.command(u.start)
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	main := cmd.Process.Pid
	t.Cleanup(func() {
		for _, c := range children(main) {
			syscall.Kill(c, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	var res unitResult
	if m := nextNotify(t, notes, "RELOADING=1"); m != fmt.Sprintf("READY=1\nMAINPID=%d", main) {
		t.Errorf("%s: start notify %q", binary, m)
	}
	res.MainIsPidfile = readPID(t, r.env["PIDFILE"]) == main
	if err := served0(fp); err != nil {
		t.Errorf("%s: not serving after start: %v\n%s", binary, err, out)
	}
	first := waitChildren(t, main, 1)
	var msg string
	res.ReloadCode, msg = r.reload(main)
	if res.ReloadCode != 0 {
		t.Errorf("%s: reload exit %d: %s", binary, res.ReloadCode, msg)
	}
	if m := nextNotify(t, notes, "RELOADING=1"); m != fmt.Sprintf("READY=1\nMAINPID=%d", main) {
		t.Errorf("%s: reload notify %q", binary, m)
	}
	for i := 0; i < 100; i++ {
		if c := children(main); len(c) == 1 && c[0] != first[0] {
			res.NewWorker = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := served0(fp); err != nil {
		t.Errorf("%s: not serving after reload: %v", binary, err)
	}
	now := children(main)
	os.WriteFile(cfg, append(good, "    frobnicate\n"...), 0o644)
	res.BadReloadCode, _ = r.reload(main)
	time.Sleep(200 * time.Millisecond)
	res.SameAfterBad = fmt.Sprint(children(main)) == fmt.Sprint(now) && served0(fp) == nil
	// stop: no ExecStop, KillMode=mixed: SIGTERM to the main process,
	// then SIGKILL to what is left of the cgroup
	workers := children(main)
	syscall.Kill(main, syscall.SIGTERM)
	waitExit(t, cmd)
	res.CleanStop = r.cleanExit(cmd)
	for _, w := range workers {
		if alive(w) {
			res.Leftovers++
		}
	}
	_, err := os.Stat(r.env["PIDFILE"])
	res.PidfileAfterEnd = err == nil
	return res
}

// TestDebianHAProxyUnit runs the installed haproxy package's own systemd
// unit lines (ExecStart with -Ws under a notify socket, both ExecReload
// lines, stop as KillMode=mixed does) against gohaka linked as haproxy
// and against haproxy 2.6: what systemd would see must be the same.
func TestDebianHAProxyUnit(t *testing.T) {
	u := readUnit(t, "/lib/systemd/system/haproxy.service")
	if u.typ != "notify" || len(u.reload) != 2 || !strings.Contains(u.start, "-Ws") {
		t.Fatalf("unexpected unit: %+v", u)
	}
	backend := echoServer(t)
	got := haproxyUnitLife(t, u, hapLink(t), backend)
	want := haproxyUnitLife(t, u, realHAProxy(t), backend)
	t.Logf("gohaka: %+v", got)
	t.Logf("haproxy: %+v", want)
	if got != want {
		t.Errorf("systemd would see gohaka %+v, haproxy %+v", got, want)
	}
	if !got.MainIsPidfile || got.ReloadCode != 0 || !got.NewWorker || got.BadReloadCode == 0 || !got.SameAfterBad || !got.CleanStop || got.Leftovers != 0 {
		t.Errorf("gohaka under the unit: %+v", got)
	}
}

// kaUnitResult is what one run of the keepalived unit showed.
type kaUnitResult struct {
	MainIsPidfile   bool
	ReloadCode      int
	AliveAfterHUP   bool
	VIPAfterHUP     bool
	CleanStop       bool
	VIPAfterStop    bool
	PidfileAfterEnd bool
}

// keepalivedUnitLife starts, reloads and stops the Debian keepalived unit
// in a namespace of its own, binary standing for /usr/sbin/keepalived.
func keepalivedUnitLife(t *testing.T, u unitFile, binary string, notify bool) kaUnitResult {
	ns := testNetns(t)
	for _, a := range [][]string{{"link", "set", "gkp0", "up"}, {"addr", "add", "192.0.2.1/24", "dev", "eth0"}} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, a...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", a, err, out)
		}
	}
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "k.pid")
	args := fmt.Sprintf("-l -P -f %s -p %s -r %s -c %s", kaConf(t, "MASTER", 100), pidfile, filepath.Join(dir, "v.pid"), filepath.Join(dir, "c.pid"))
	r := newUnitRunner(u, "/usr/sbin/keepalived", binary, map[string]string{"DAEMON_ARGS": args})
	r.prefix = []string{"ip", "netns", "exec", ns}
	sock, notes := notifySocket(t)
	cmd, _ := r.command(u.start)
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	main := cmd.Process.Pid
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var res kaUnitResult
	if notify {
		if m := nextNotify(t, notes); m != "READY=1" {
			t.Errorf("%s: start notify %q", binary, m)
		}
	}
	waitVIP(t, ns, true, 10*time.Second)
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.MainIsPidfile = readPID(t, pidfile) == main
	res.ReloadCode, _ = r.reload(main)
	if notify {
		if m := nextNotify(t, notes); m != "RELOADING=1" {
			t.Errorf("%s: reload notify %q", binary, m)
		}
		if m := nextNotify(t, notes); m != "READY=1" {
			t.Errorf("%s: after reload notify %q", binary, m)
		}
	}
	time.Sleep(time.Second)
	res.AliveAfterHUP, res.VIPAfterHUP = alive(main), hasVIP(ns)
	// stop: KillMode=control-group (the default) sends SIGTERM to all
	syscall.Kill(main, syscall.SIGTERM)
	waitExit(t, cmd)
	res.CleanStop = r.cleanExit(cmd)
	res.VIPAfterStop = hasVIP(ns)
	_, err := os.Stat(pidfile)
	res.PidfileAfterEnd = err == nil
	return res
}

// TestDebianKeepalivedUnit runs the installed keepalived package's own
// systemd unit lines (ExecStart --dont-fork $DAEMON_ARGS, ExecReload kill
// -HUP, SIGTERM stop) against gohaka linked as keepalived and against
// keepalived 2.2, each in a namespace: same outcome. gohaka also speaks
// sd_notify (Type=notify); keepalived does only when its parent is
// systemd, so its notify messages are not compared.
func TestDebianKeepalivedUnit(t *testing.T) {
	t.Parallel() // mostly waits on VRRP timers
	u := readUnit(t, "/lib/systemd/system/keepalived.service")
	if u.typ != "notify" || len(u.reload) != 1 {
		t.Fatalf("unexpected unit: %+v", u)
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("keepalived is not installed")
	}
	link := filepath.Join(t.TempDir(), "keepalived")
	if err := os.Symlink(vrrpBinary(t), link); err != nil {
		t.Fatal(err)
	}
	got := keepalivedUnitLife(t, u, link, true)
	want := keepalivedUnitLife(t, u, "/usr/sbin/keepalived", false)
	t.Logf("gohaka: %+v", got)
	t.Logf("keepalived: %+v", want)
	if got != want {
		t.Errorf("systemd would see gohaka %+v, keepalived %+v", got, want)
	}
	if !got.MainIsPidfile || got.ReloadCode != 0 || !got.AliveAfterHUP || !got.VIPAfterHUP || !got.CleanStop || got.VIPAfterStop || got.PidfileAfterEnd {
		t.Errorf("gohaka under the unit: %+v", got)
	}
}

// greeter sends word and a newline to each connection, then waits for the
// client to close.
func greeter(t *testing.T, word string) int {
	return serveLocal(t, func(c net.Conn) {
		fmt.Fprintf(c, "%s\n", word)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.Copy(io.Discard, c)
	})
}

// greeting returns the first line the proxy relays from its backend.
func greeting(fp int) string {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fp), 2*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(l)
}

// TestGohakaUnit runs contrib/gohaka.service's lines as systemd would:
// the check before start, start under a notify socket, a reload that
// switches haproxy.cfg to another backend in-process while a live
// connection on the old config finishes, a reload with a bad file that
// fails at the check and changes nothing, and a clean stop.
func TestGohakaUnit(t *testing.T) {
	u := readUnit(t, "../../contrib/gohaka.service")
	dir := t.TempDir()
	fp := localPort(t)
	one, two := greeter(t, "one"), greeter(t, "two")
	cfg := tcpConfig(t, dir, fp, one, "")
	first, _ := os.ReadFile(cfg)
	second := strings.Replace(string(first), fmt.Sprintf("127.0.0.1:%d\n", one), fmt.Sprintf("127.0.0.1:%d\n", two), 1)
	ka := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(ka, []byte("global_defs {\n    router_id test\n}\n"), 0o644)
	r := newUnitRunner(u, "/usr/local/sbin/gohaka", vrrpBinary(t), map[string]string{"CONFIG": cfg, "KACONFIG": ka})
	if code, out := r.runLines(u.startPre); code != 0 {
		t.Fatalf("ExecStartPre exit %d: %s", code, out)
	}
	sock, notes := notifySocket(t)
	cmd, _ := r.command(u.start)
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	main := cmd.Process.Pid
	if m := nextNotify(t, notes); m != "READY=1" {
		t.Fatalf("start notify %q", m)
	}
	if g := greeting(fp); g != "one" {
		t.Fatalf("before reload: %q\n%s", g, out)
	}
	live, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	lr := bufio.NewReader(live)
	live.SetDeadline(time.Now().Add(20 * time.Second))
	lr.ReadString('\n')

	os.WriteFile(cfg, []byte(second), 0o644)
	if code, msg := r.reload(main); code != 0 {
		t.Fatalf("reload exit %d: %s", code, msg)
	}
	for _, want := range []string{"RELOADING=1", "READY=1"} {
		if m := nextNotify(t, notes); m != want {
			t.Errorf("reload notify %q, want %q", m, want)
		}
	}
	if g := greeting(fp); g != "two" {
		t.Errorf("after reload: %q\n%s", g, out)
	}
	fmt.Fprint(live, "still here\n")
	live.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := live.Read(make([]byte, 1)); err == nil || !os.IsTimeout(err) {
		t.Errorf("live connection of the old config cut by the reload: %v", err)
	}

	os.WriteFile(cfg, []byte(second+"    frobnicate\n"), 0o644)
	if code, _ := r.reload(main); code == 0 {
		t.Error("reload with a bad haproxy.cfg succeeded")
	}
	if g := greeting(fp); g != "two" {
		t.Errorf("after a failed reload: %q", g)
	}
	syscall.Kill(main, syscall.SIGTERM)
	if m := nextNotify(t, notes); m != "STOPPING=1" {
		t.Errorf("stop notify %q", m)
	}
	waitExit(t, cmd)
	if !r.cleanExit(cmd) {
		t.Errorf("stop not clean: %v", cmd.ProcessState)
	}
}
