package main

import (
	"bufio"
	"fmt"
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

// asHAProxy links the built binary under the name haproxy.
func asHAProxy(t *testing.T) string {
	bin := buildBinary(t)
	link := filepath.Join(filepath.Dir(bin), "haproxy")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	return link
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile content %q", b)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestDaemonPidfileAndSoftReload: `haproxy -D -p pidfile -f cfg` starts a
// daemon that writes its pid; `haproxy -D -p pidfile -f cfg -sf OLD`
// starts a new one on the same port and the old one finishes its live
// connection, then exits — no refused connection on the way.
func TestDaemonPidfileAndSoftReload(t *testing.T) {
	hap := asHAProxy(t)
	backend := slowServer(t)
	fp := localPort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "h.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", fp, backend)), 0o644)
	pidfile := filepath.Join(dir, "h.pid")
	out, err := exec.Command(hap, "-D", "-p", pidfile, "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -D: %v %s", err, out)
	}
	old := readPID(t, pidfile)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); l != "start\n" {
		t.Fatalf("daemon not serving: %q", l)
	}
	out, err = exec.Command(hap, "-D", "-p", pidfile, "-f", cfg, "-sf", strconv.Itoa(old)).CombinedOutput()
	if err != nil {
		t.Fatalf("reload: %v %s", err, out)
	}
	nw := readPID(t, pidfile)
	if nw == old {
		t.Fatal("pidfile still names the old process")
	}
	for i := 0; i < 20; i++ {
		nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatalf("connection refused during reload: %v", err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		if l, _ := bufio.NewReader(nc).ReadString('\n'); l != "start\n" {
			t.Errorf("new connection %d not served: %q", i, l)
		}
		nc.Close()
	}
	if !alive(old) {
		t.Fatal("old process quit before its live connection ended")
	}
	fmt.Fprint(c, "go\n")
	if l, _ := r.ReadString('\n'); l != "done\n" {
		t.Errorf("live connection on the old process cut: %q", l)
	}
	c.Close()
	for i := 0; i < 100 && alive(old); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(old) {
		t.Error("old process still running after its last connection ended")
	}
	syscall.Kill(nw, syscall.SIGTERM)
}

// TestDaemonBadConfig: a daemon that cannot start makes the parent fail.
func TestDaemonBadConfig(t *testing.T) {
	hap := asHAProxy(t)
	cfg := filepath.Join(t.TempDir(), "bad.cfg")
	os.WriteFile(cfg, []byte("listen l\n    bind 127.0.0.1:1\n    frobnicate\n"), 0o644)
	if err := exec.Command(hap, "-D", "-f", cfg).Run(); err == nil {
		t.Error("haproxy -D with a bad config exited 0")
	}
}

// TestMakeInstallLinks: `make install` puts gohaka and the two links in
// sbin, and each name takes its program's command line.
func TestMakeInstallLinks(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dest := t.TempDir()
	out, err := exec.Command("make", "-C", "../..", "install", "DESTDIR="+dest, "BIN="+filepath.Join(dest, "gohaka-built")).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	sbin := filepath.Join(dest, "usr/local/sbin")
	for _, n := range []string{"haproxy", "keepalived"} {
		if l, err := os.Readlink(filepath.Join(sbin, n)); err != nil || l != "gohaka" {
			t.Errorf("%s link: %q %v", n, l, err)
		}
	}
	v, _ := exec.Command(filepath.Join(sbin, "haproxy"), "-v").CombinedOutput()
	if !strings.HasPrefix(string(v), "HAProxy version 2.6.12") {
		t.Errorf("haproxy -v through the link: %q", v)
	}
	k, _ := exec.Command(filepath.Join(sbin, "keepalived"), "-v").CombinedOutput()
	if !strings.HasPrefix(string(k), "Keepalived v2.2.7") {
		t.Errorf("keepalived -v through the link: %q", k)
	}
}
