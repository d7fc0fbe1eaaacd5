package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var nocgo struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// noCgoBinary builds gohaka with CGO_ENABLED=0 (as `make build` does):
// only such a binary can set capabilities on every thread.
func noCgoBinary(t *testing.T) string {
	dir := filepath.Dir(vrrpBinary(t))
	nocgo.once.Do(func() {
		nocgo.path = filepath.Join(dir, "gohaka-nocgo")
		cmd := exec.Command("go", "build", "-o", nocgo.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		nocgo.out, nocgo.err = cmd.CombinedOutput()
	})
	if nocgo.err != nil {
		t.Fatalf("build: %v\n%s", nocgo.err, nocgo.out)
	}
	return nocgo.path
}

// taskStatus returns the named lines of /proc/PID/task/*/status for every
// thread of the process (credentials and capabilities are per thread).
func taskStatus(t *testing.T, pid int, keys ...string) []map[string]string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var out []map[string]string
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			if contains(keys, k) {
				m[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("no threads for pid %d", pid)
	}
	return out
}

// waitUID waits (bounded) until the process's main thread runs as uid:
// the drop follows the listeners' start.
func waitUID(t *testing.T, pid int, uid string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if st := taskStatus(t, pid, "Uid"); strings.HasPrefix(st[0]["Uid"], uid+" ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nobodyIDs returns nobody's uid and nogroup's gid, or skips.
func nobodyIDs(t *testing.T) (string, string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	u, err1 := user.Lookup("nobody")
	g, err2 := user.LookupGroup("nogroup")
	if err1 != nil || err2 != nil {
		t.Skip("no user nobody or group nogroup")
	}
	return u.Uid, g.Gid
}

// checkDropped asserts that every thread of pid runs as uid/gid with
// exactly the capability mask caps.
func checkDropped(t *testing.T, pid int, uid, gid, caps string) {
	t.Helper()
	for i, st := range taskStatus(t, pid, "Uid", "Gid", "Groups", "CapEff", "CapPrm") {
		if want := strings.Repeat(uid+" ", 3) + uid; st["Uid"] != want {
			t.Errorf("thread %d Uid %q, want %q", i, st["Uid"], want)
		}
		if want := strings.Repeat(gid+" ", 3) + gid; st["Gid"] != want {
			t.Errorf("thread %d Gid %q, want %q", i, st["Gid"], want)
		}
		if st["Groups"] != gid {
			t.Errorf("thread %d Groups %q, want %q", i, st["Groups"], gid)
		}
		if st["CapEff"] != caps || st["CapPrm"] != caps {
			t.Errorf("thread %d CapEff %s CapPrm %s, want %s", i, st["CapEff"], st["CapPrm"], caps)
		}
	}
}

// TestPrivilegeDrop: `user nobody`, `group nogroup`, `chroot` and
// `ulimit-n` in global: the serving process (every thread) is chrooted and
// runs as nobody:nogroup with
// only CAP_NET_BIND_SERVICE, its open-file limit is ulimit-n, and it
// still serves. A cgo build drops the user too, without capabilities,
// and says so.
func TestPrivilegeDrop(t *testing.T) {
	uid, gid := nobodyIDs(t)
	backend := echoServer(t)
	for _, c := range []struct {
		name, bin, caps string
	}{
		{"CGO_ENABLED=0", noCgoBinary(t), "0000000000000400"},
		{"cgo", vrrpBinary(t), "0000000000000000"},
	} {
		fp := localPort(t)
		jail := t.TempDir()
		cfg := tcpConfig(t, t.TempDir(), fp, backend, "    user nobody\n    group nogroup\n    ulimit-n 4000\n    chroot "+jail+"\n")
		cmd, out := startMaster(t, c.bin, nil, "run", "-f", cfg)
		var err error
		for i := 0; i < 100; i++ {
			if err = served0(fp); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: not serving: %v\n%s", c.name, err, out)
		}
		waitUID(t, cmd.Process.Pid, uid)
		checkDropped(t, cmd.Process.Pid, uid, gid, c.caps)
		lim, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
		if !strings.Contains(strings.Join(strings.Fields(string(lim)), " "), "Max open files 4000 4000 files") {
			t.Errorf("%s: open-file limit not 4000:\n%s", c.name, lim)
		}
		if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", cmd.Process.Pid)); root != jail {
			t.Errorf("%s: root directory %q, want the chroot %q", c.name, root, jail)
		}
		if err := served0(fp); err != nil {
			t.Errorf("%s: not serving after the drop: %v", c.name, err)
		}
		warned := strings.Contains(out.String(), "without capabilities")
		if warned != (c.name == "cgo") {
			t.Errorf("%s: warning about capabilities %v:\n%s", c.name, warned, out)
		}
	}
}

// TestPrivilegeDropVRRP: with VRRP instances in the same process the
// speaker keeps CAP_NET_ADMIN and CAP_NET_RAW: it still adds the VIP when
// it becomes master after the drop, and removes it when stopped.
func TestPrivilegeDropVRRP(t *testing.T) {
	t.Parallel() // mostly waits on VRRP timers
	uid, gid := nobodyIDs(t)
	ns := testNetns(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "gkp0", "up").CombinedOutput(); err != nil {
		t.Fatalf("veth peer up: %v %s", err, out)
	}
	// an address of its own: without one an IPv4 instance stays in FAULT
	if out, err := exec.Command("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0").CombinedOutput(); err != nil {
		t.Fatalf("address: %v %s", err, out)
	}
	bin := noCgoBinary(t)
	cfg := tcpConfig(t, t.TempDir(), 8443, 9, "    user nobody\n    group nogroup\n")
	cmd := startInNS(t, ns, bin, "run", "-f", cfg, "-k", kaConf(t, "BACKUP", 100))
	waitUID(t, cmd.Process.Pid, uid)
	waitVIP(t, ns, true, 10*time.Second)
	checkDropped(t, cmd.Process.Pid, uid, gid, "0000000000003400")
	stopProc(cmd)
	if hasVIP(ns) {
		t.Error("VIP left on the interface after SIGTERM")
	}
}
