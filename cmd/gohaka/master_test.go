package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hapLink links the shared gohaka binary under the name haproxy.
func hapLink(t *testing.T) string {
	link := filepath.Join(t.TempDir(), "haproxy")
	if err := os.Symlink(vrrpBinary(t), link); err != nil {
		t.Fatal(err)
	}
	return link
}

// realHAProxy returns the installed haproxy 2.6 or skips.
func realHAProxy(t *testing.T) string {
	if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy)")
	}
	return "/usr/sbin/haproxy"
}

// lockedBuf collects a process's output for a test to read while it runs.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits (bounded) until the output holds s n times.
func (l *lockedBuf) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if strings.Count(l.String(), s) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("output never held %q %d times:\n%s", s, n, l.String())
}

// notifySocket listens like systemd on a unixgram socket and returns its
// path and the messages received.
func notifySocket(t *testing.T) (string, chan string) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

// nextNotify returns the next sd_notify message that is not in skip.
func nextNotify(t *testing.T, ch chan string, skip ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if !contains(skip, m) {
				return m
			}
		case <-deadline:
			t.Fatal("no sd_notify message within 10 s")
			return ""
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tcpConfig writes a tcp-mode config from fp to backend.
func tcpConfig(t *testing.T, dir string, fp, backend int, global string) string {
	cfg := filepath.Join(dir, "h.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("global\n%sdefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", global, fp, backend)), 0o644)
	return cfg
}

// served dials the proxy and reads the slow server's greeting.
func served(fp int) error {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if l, _ := bufio.NewReader(c).ReadString('\n'); l != "start\n" {
		return fmt.Errorf("greeting %q", l)
	}
	return nil
}

// children lists the child PIDs of pid (from /proc/*/stat: a Go
// process forks from any of its threads, so task/*/children is not enough).
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// waitChildren waits (bounded) until pid has n children and returns them.
func waitChildren(t *testing.T, pid, n int) []int {
	t.Helper()
	for i := 0; i < 200; i++ {
		if c := children(pid); len(c) == n {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d has children %v, want %d", pid, children(pid), n)
	return nil
}

// startMaster starts bin with args, output collected, stopped in cleanup.
func startMaster(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, *lockedBuf) {
	out := &lockedBuf{}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range children(cmd.Process.Pid) {
			syscall.Kill(c, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, out
}

// waitExit waits (bounded) for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("process did not exit within 15 s")
	}
	return cmd.ProcessState.ExitCode()
}

// TestMasterWorkerWs: `haproxy -Ws -p pidfile -f cfg` under a notify
// socket: READY=1 with MAINPID, the pidfile holds the master, a reload
// with a bad config keeps the worker serving and logs haproxy's lines, a
// good reload starts a new worker while the old one finishes its live
// connection, SIGTERM stops everything with exit code 0 and STOPPING=1.
func TestMasterWorkerWs(t *testing.T) {
	hap := hapLink(t)
	backend := slowServer(t)
	fp := localPort(t)
	dir := t.TempDir()
	cfg := tcpConfig(t, dir, fp, backend, "")
	good, _ := os.ReadFile(cfg)
	pidfile := filepath.Join(dir, "h.pid")
	sock, notes := notifySocket(t)
	cmd, out := startMaster(t, hap, []string{"NOTIFY_SOCKET=" + sock}, "-Ws", "-p", pidfile, "-f", cfg)
	mp := cmd.Process.Pid
	ready := fmt.Sprintf("READY=1\nMAINPID=%d", mp)
	if m := nextNotify(t, notes, "RELOADING=1"); m != ready {
		t.Fatalf("first notify %q, want %q", m, ready)
	}
	if pid := readPID(t, pidfile); pid != mp {
		t.Errorf("pidfile holds %d, master is %d", pid, mp)
	}
	first := waitChildren(t, mp, 1)[0]
	if err := served(fp); err != nil {
		t.Fatal(err)
	}
	live, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	live.SetDeadline(time.Now().Add(20 * time.Second))
	lr := bufio.NewReader(live)
	if l, _ := lr.ReadString('\n'); l != "start\n" {
		t.Fatalf("live connection: %q", l)
	}

	os.WriteFile(cfg, append(good, "    frobnicate\n"...), 0o644)
	syscall.Kill(mp, syscall.SIGUSR2)
	if m := nextNotify(t, notes); m != "RELOADING=1" {
		t.Errorf("reload notify %q", m)
	}
	if m := nextNotify(t, notes, "RELOADING=1"); m != ready {
		t.Errorf("after a failed reload %q, want %q", m, ready)
	}
	out.waitFor(t, "Loading failure!", 1)
	for _, want := range []string{"Error(s) found in configuration file : " + cfg, "unknown keyword 'frobnicate'"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("failed reload does not say %q:\n%s", want, out)
		}
	}
	if c := children(mp); len(c) != 1 || c[0] != first {
		t.Errorf("after a bad reload workers %v, want [%d]", c, first)
	}
	if err := served(fp); err != nil {
		t.Errorf("not served after a bad reload: %v", err)
	}

	os.WriteFile(cfg, good, 0o644)
	syscall.Kill(mp, syscall.SIGUSR2)
	if m := nextNotify(t, notes, "RELOADING=1"); m != ready {
		t.Errorf("after a good reload %q, want %q", m, ready)
	}
	out.waitFor(t, "Loading success.", 2)
	for i := 0; i < 10; i++ {
		if err := served(fp); err != nil {
			t.Errorf("connection %d after the reload: %v", i, err)
		}
	}
	if !alive(first) {
		t.Fatal("old worker left before its live connection ended")
	}
	fmt.Fprint(live, "go\n")
	if l, _ := lr.ReadString('\n'); l != "done\n" {
		t.Errorf("live connection cut by the reload: %q", l)
	}
	live.Close()
	out.waitFor(t, fmt.Sprintf("Former worker (%d) exited with code 0 (Exit)", first), 1)

	syscall.Kill(mp, syscall.SIGTERM)
	if m := nextNotify(t, notes); m != "STOPPING=1" {
		t.Errorf("stop notify %q", m)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("master exit code %d after SIGTERM, want 0", code)
	}
	for _, want := range []string{"Exiting Master process...", "exited with code 143 (Terminated)", "All workers exited. Exiting... (0)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stop does not log %q:\n%s", want, out)
		}
	}
}

// masterLines keeps the master's [TAG] lines with PIDs blanked.
func masterLines(s string) []string {
	re := regexp.MustCompile(`\d+`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "[") && !strings.Contains(l, "haproxy version") && !strings.Contains(l, "path to executable") {
			out = append(out, re.ReplaceAllString(strings.Join(strings.Fields(l), " "), "N"))
		}
	}
	return out
}

// TestMasterWorkerExitOnFailure: a worker killed by SIGKILL makes the
// master stop with the worker's code (137), and the lines match
// haproxy 2.6's in the same scenario.
func TestMasterWorkerExitOnFailure(t *testing.T) {
	real := realHAProxy(t)
	backend := slowServer(t)
	run := func(bin string) (int, []string) {
		fp := localPort(t)
		cfg := tcpConfig(t, t.TempDir(), fp, backend, "")
		cmd, out := startMaster(t, bin, nil, "-W", "-f", cfg)
		w := waitChildren(t, cmd.Process.Pid, 1)[0]
		out.waitFor(t, "Loading success.", 1)
		syscall.Kill(w, syscall.SIGKILL)
		return waitExit(t, cmd), masterLines(out.String())
	}
	code, lines := run(hapLink(t))
	hcode, hlines := run(real)
	if code != 137 || code != hcode {
		t.Errorf("master exit code %d, haproxy's %d, want 137", code, hcode)
	}
	if strings.Join(lines, "\n") != strings.Join(hlines, "\n") {
		t.Errorf("master lines differ\ngohaka:\n%s\nhaproxy:\n%s", strings.Join(lines, "\n"), strings.Join(hlines, "\n"))
	}
}
