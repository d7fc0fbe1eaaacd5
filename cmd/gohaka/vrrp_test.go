package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vrrpPair makes two host namespaces, each with an eth0 on 192.0.2.0/24,
// plugged into a bridge that lives in a third namespace (the switch), so
// that a port can be cut without taking the other host's carrier down. All
// three are deleted in cleanup.
func vrrpPair(t *testing.T) (a, b string) {
	h := vrrpHosts(t, 2)
	return h[0], h[1]
}

// vrrpHosts makes n host namespaces on one switch namespace's bridge;
// host i has eth0 with 192.0.2.(i+1)/24 and 2001:db8::(i+1)/64, and its
// switch port is p<i>.
func vrrpHosts(t *testing.T, n int) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	id := fmt.Sprintf("%d%d", os.Getpid()%1000, netCounter.Add(1))
	sw := "gohaka-sw-" + id
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	var hosts []string
	for i := 0; i < n; i++ {
		hosts = append(hosts, fmt.Sprintf("gohaka-v%c-%s", 'a'+i, id))
	}
	for _, ns := range append([]string{sw}, hosts...) {
		run("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run("-n", ns, "link", "set", "lo", "up")
		// no duplicate address detection: link-local addresses usable at once
		exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").Run()
	}
	run("-n", sw, "link", "add", "br0", "type", "bridge")
	run("-n", sw, "link", "set", "br0", "up")
	for i, ns := range hosts {
		port := fmt.Sprintf("p%d", i)
		run("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run("-n", sw, "link", "set", port, "master", "br0")
		run("-n", sw, "link", "set", port, "up")
		run("-n", ns, "addr", "add", fmt.Sprintf("192.0.2.%d/24", i+1), "dev", "eth0")
		run("-n", ns, "addr", "add", fmt.Sprintf("2001:db8::%d/64", i+1), "dev", "eth0", "nodad")
		run("-n", ns, "link", "set", "eth0", "up")
		switchMu.Lock()
		switchNS[ns] = sw
		switchMu.Unlock()
	}
	return hosts
}

// switchNS maps a host namespace to its switch namespace.
var switchNS = map[string]string{}

func kaConf(t *testing.T, state string, prio int) string {
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(p, []byte(fmt.Sprintf(`global_defs {
    router_id test
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
}
`, state, prio)), 0o644)
	return p
}

// hasVIP reports whether a namespace carries the VIP.
func hasVIP(ns string) bool {
	out, _ := exec.Command("ip", "-n", ns, "-4", "addr", "show", "dev", "eth0").Output()
	return strings.Contains(string(out), "192.0.2.100/")
}

// waitVIP polls every 10 ms until the namespace has (or lacks) the VIP
// and returns how long it took; the bound is generous and only stops a
// broken run.
func waitVIP(t *testing.T, ns string, want bool, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < bound {
		if hasVIP(ns) == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("namespace %s: VIP present=%v not reached in %v", ns, want, bound)
	return 0
}

func startInNS(t *testing.T, ns string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func startKeepalived(t *testing.T, ns, conf string) *exec.Cmd {
	dir := t.TempDir()
	return startInNS(t, ns, "keepalived", "-n", "-l", "-D", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
}

// stopProc sends SIGTERM to a process started through `ip netns exec`
// (which execs, so the PID is the program's) and waits for it.
func stopProc(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
	}
}

// TestVRRPInteropWithKeepalived runs gohaka's speaker in one namespace and
// real keepalived 2.2 in the other, in one virtual router:
//   - keepalived (priority 150) wins the election, gohaka (100) stays backup;
//   - keepalived stops (SIGTERM, priority 0 advert): gohaka takes the VIP
//     after Skew_Time;
//   - keepalived comes back at priority 150 and preempts: gohaka lets go;
//   - keepalived's link goes down: gohaka takes over after
//     Master_Down_Interval, and lets go again when the link is back;
//   - with keepalived at priority 50, gohaka is master; gohaka stops: its
//     priority 0 advert makes keepalived take over at once.
func TestVRRPInteropWithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	nsA, nsB := vrrpPair(t)
	bin := vrrpBinary(t)

	ka := startKeepalived(t, nsB, kaConf(t, "MASTER", 150))
	waitVIP(t, nsB, true, 15*time.Second)
	g := startInNS(t, nsA, bin, "run", "-k", kaConf(t, "BACKUP", 100))
	time.Sleep(4 * time.Second) // longer than gohaka's Master_Down_Interval
	if hasVIP(nsA) {
		t.Fatal("gohaka took the VIP while keepalived (higher priority) is master")
	}
	ka.Process.Signal(syscall.SIGTERM)
	took := waitVIP(t, nsA, true, 10*time.Second)
	stopProc(ka)
	t.Logf("keepalived stopped -> gohaka holds the VIP after %v (Skew_Time at priority 100 is 609 ms)", took)
	if hasVIP(nsB) {
		t.Error("keepalived left the VIP behind")
	}

	ka2 := startKeepalived(t, nsB, kaConf(t, "BACKUP", 150))
	back := waitVIP(t, nsB, true, 15*time.Second) // from keepalived's start
	waitVIP(t, nsA, false, 5*time.Second)
	t.Logf("keepalived (150) back -> preempts gohaka after %v", back)

	// a dead master: its switch port is cut, no priority-0 advert gets out
	cut := time.Now()
	exec.Command("ip", "-n", switchOf(nsB), "link", "set", "p1", "down").Run()
	dead := waitVIP(t, nsA, true, 10*time.Second)
	t.Logf("keepalived's switch port cut -> gohaka holds the VIP after %v (Master_Down_Interval at priority 100 is 3.609 s)", dead)
	if dead < 2*time.Second {
		t.Errorf("took over after %v, before Master_Down_Interval could expire", time.Since(cut))
	}
	exec.Command("ip", "-n", switchOf(nsB), "link", "set", "p1", "up").Run()
	waitVIP(t, nsB, true, 15*time.Second)
	waitVIP(t, nsA, false, 5*time.Second)
	stopProc(ka2)
	waitVIP(t, nsA, true, 10*time.Second)

	ka3 := startKeepalived(t, nsB, kaConf(t, "BACKUP", 50))
	time.Sleep(4 * time.Second)
	if hasVIP(nsB) || !hasVIP(nsA) {
		t.Fatal("with keepalived at priority 50, gohaka (100) must stay master")
	}
	g.Process.Signal(syscall.SIGTERM)
	moved := waitVIP(t, nsB, true, 10*time.Second)
	stopProc(g)
	t.Logf("gohaka stopped -> keepalived holds the VIP after %v (Skew_Time at priority 50 is 805 ms)", moved)
	if hasVIP(nsA) {
		t.Error("gohaka left the VIP behind on shutdown")
	}
	stopProc(ka3)
}

// TestVRRPTrackScriptWithKeepalived: gohaka (priority 100) tracks a script
// with weight -60 against keepalived at priority 80. While the script
// passes gohaka is master; when it fails gohaka's priority drops to 40 and
// keepalived takes the VIP; when it passes again gohaka takes it back.
func TestVRRPTrackScriptWithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	nsA, nsB := vrrpPair(t)
	bin := vrrpBinary(t)
	flag := filepath.Join(t.TempDir(), "healthy")
	os.WriteFile(flag, []byte("ok"), 0o644)
	conf := filepath.Join(t.TempDir(), "g.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`vrrp_script chk {
    script "/usr/bin/test -f %s"
    interval 1
    weight -60
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
    track_script {
        chk
    }
}
`, flag)), 0o644)
	startInNS(t, nsA, bin, "run", "-k", conf)
	waitVIP(t, nsA, true, 15*time.Second)
	startKeepalived(t, nsB, kaConf(t, "BACKUP", 80))
	time.Sleep(5 * time.Second)
	if !hasVIP(nsA) || hasVIP(nsB) {
		t.Fatal("with the script passing, gohaka (100) must stay master over keepalived (80)")
	}
	os.Remove(flag)
	lost := waitVIP(t, nsB, true, 20*time.Second)
	waitVIP(t, nsA, false, 5*time.Second)
	t.Logf("script failed -> keepalived (80) took the VIP from gohaka (100-60=40) after %v", lost)
	os.WriteFile(flag, []byte("ok"), 0o644)
	back := waitVIP(t, nsA, true, 20*time.Second)
	waitVIP(t, nsB, false, 5*time.Second)
	t.Logf("script passes again -> gohaka (100) took it back after %v", back)
}

// TestVRRPOwnInterfaceFault: when the instance's own link goes down the
// speaker enters FAULT and removes its VIP; when the link is back it
// becomes backup and, alone, master again.
func TestVRRPOwnInterfaceFault(t *testing.T) {
	t.Parallel()
	nsA, _ := vrrpPair(t)
	bin := vrrpBinary(t)
	extra := "    virtual_ipaddress_excluded {\n        2001:db8::200/64 dev eth0\n" +
		"        198.51.100.150/24 brd 198.51.100.255 scope link label eth0:vip dev eth0\n    }\n" +
		"    virtual_routes {\n        203.0.113.0/24 via 192.0.2.254 dev eth0\n    }\n"
	startInNS(t, nsA, bin, "run", "-k", pairConf(t, "BACKUP", 100, extra))
	waitVIP(t, nsA, true, 15*time.Second)
	route := func() string {
		out, _ := exec.Command("ip", "-n", nsA, "route", "show", "203.0.113.0/24").Output()
		return string(out)
	}
	addr6, _ := exec.Command("ip", "-n", nsA, "-6", "addr", "show", "dev", "eth0").Output()
	if !strings.Contains(string(addr6), "2001:db8::200/64") || !strings.Contains(route(), "via 192.0.2.254") {
		t.Errorf("master without its excluded VIP or virtual route:\n%s\n%s", addr6, route())
	}
	addr4, _ := exec.Command("ip", "-n", nsA, "-4", "addr", "show", "dev", "eth0").Output()
	if !strings.Contains(string(addr4), "inet 198.51.100.150/24 brd 198.51.100.255 scope link eth0:vip") {
		t.Errorf("VIP with brd, scope and label not added as written:\n%s", addr4)
	}
	exec.Command("ip", "-n", nsA, "link", "set", "eth0", "down").Run()
	gone := waitVIP(t, nsA, false, 10*time.Second)
	addr6, _ = exec.Command("ip", "-n", nsA, "-6", "addr", "show", "dev", "eth0").Output()
	if strings.Contains(string(addr6), "2001:db8::200/64") {
		t.Errorf("FAULT left the excluded VIP behind:\n%s", addr6)
	}
	t.Logf("own link down -> VIP removed after %v (FAULT)", gone)
	exec.Command("ip", "-n", nsA, "link", "set", "eth0", "up").Run()
	back := waitVIP(t, nsA, true, 15*time.Second)
	t.Logf("link up -> master again after %v", back)
}

// TestVRRPReloadKeepsState: SIGHUP with the same instance keeps the master
// and its VIP without a flap; a config with errors changes nothing; a new
// VIP list takes effect.
func TestVRRPReloadKeepsState(t *testing.T) {
	t.Parallel()
	nsA, _ := vrrpPair(t)
	bin := vrrpBinary(t)
	conf := kaConf(t, "BACKUP", 100)
	g := startInNS(t, nsA, bin, "run", "-k", conf)
	waitVIP(t, nsA, true, 15*time.Second)
	g.Process.Signal(syscall.SIGHUP)
	for i := 0; i < 150; i++ { // 1.5 s: the VIP must never disappear
		if !hasVIP(nsA) {
			t.Fatal("VIP flapped on a reload that changed nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	good, _ := os.ReadFile(conf)
	os.WriteFile(conf, []byte(strings.Replace(string(good), "priority 100", "priority 300", 1)), 0o644)
	g.Process.Signal(syscall.SIGHUP)
	time.Sleep(time.Second)
	if !hasVIP(nsA) {
		t.Fatal("a bad config on reload took the VIP away")
	}
	os.WriteFile(conf, []byte(strings.Replace(string(good), "192.0.2.100/24", "192.0.2.101/24", 1)), 0o644)
	g.Process.Signal(syscall.SIGHUP)
	waitVIP(t, nsA, false, 5*time.Second)
	start := time.Now()
	for time.Since(start) < 15*time.Second {
		out, _ := exec.Command("ip", "-n", nsA, "-4", "addr", "show", "dev", "eth0").Output()
		if strings.Contains(string(out), "192.0.2.101/") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the new VIP never appeared after the reload")
}

// TestVRRPTrackFileWithKeepalived: gohaka (priority 100) tracks a file with
// weight -1 against keepalived at priority 80. Writing 60 into the file
// drops gohaka to 40 and keepalived takes the VIP; writing 0 gives it back.
func TestVRRPTrackFileWithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	nsA, nsB := vrrpPair(t)
	bin := vrrpBinary(t)
	prio := filepath.Join(t.TempDir(), "prio")
	os.WriteFile(prio, []byte("0\n"), 0o644)
	conf := filepath.Join(t.TempDir(), "g.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`vrrp_track_file tf {
    file %s
    weight -1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
    track_file {
        tf
    }
}
`, prio)), 0o644)
	startInNS(t, nsA, bin, "run", "-k", conf)
	waitVIP(t, nsA, true, 15*time.Second)
	startKeepalived(t, nsB, kaConf(t, "BACKUP", 80))
	time.Sleep(3 * time.Second)
	if !hasVIP(nsA) || hasVIP(nsB) {
		t.Fatal("with 0 in the file, gohaka (100) must stay master over keepalived (80)")
	}
	os.WriteFile(prio, []byte("60\n"), 0o644)
	lost := waitVIP(t, nsB, true, 20*time.Second)
	waitVIP(t, nsA, false, 5*time.Second)
	t.Logf("file 60 -> keepalived (80) took the VIP from gohaka (100-60=40) after %v", lost)
	os.WriteFile(prio, []byte("0\n"), 0o644)
	back := waitVIP(t, nsA, true, 20*time.Second)
	t.Logf("file 0 -> gohaka (100) took it back after %v", back)
}
