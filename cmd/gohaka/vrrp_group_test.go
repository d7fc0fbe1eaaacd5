package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// groupConf is a sync group of two instances (VIPs .100 and .101), each
// calling notify scripts that append their arguments to log; VI_2 tracks
// a script that passes while flag exists (weight 0: a failure is FAULT).
func groupConf(t *testing.T, dir string, prio int, flag, log string) string {
	sh := filepath.Join(dir, fmt.Sprintf("notify%d.sh", prio))
	os.WriteFile(sh, []byte("#!/bin/sh\necho \"$@\" $(id -un) >> "+log+"\n"), 0o755)
	track := ""
	if flag != "" {
		track = "track_script {\n        chk\n    }"
	}
	inst := func(name string, vrid, vip int) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.%d/24 dev eth0
    }
    notify %s
    %s
}
`, name, vrid, prio, vip, sh, map[bool]string{true: track}[name == "VI_2"])
	}
	conf := fmt.Sprintf(`global_defs {
    router_id test
    script_user nobody
}
vrrp_script chk {
    script "/usr/bin/test -f %s"
    interval 1
}
vrrp_sync_group VG_1 {
    group {
        VI_1
        VI_2
    }
    notify %s
}
`, flag, sh) + inst("VI_1", 51, 100) + inst("VI_2", 52, 101)
	if flag == "" {
		conf = strings.Replace(conf, fmt.Sprintf("vrrp_script chk {\n    script \"/usr/bin/test -f %s\"\n    interval 1\n}\n", flag), "", 1)
	}
	p := filepath.Join(dir, fmt.Sprintf("keepalived%d.conf", prio))
	os.WriteFile(p, []byte(conf), 0o644)
	return p
}

func hasAddr(ns, addr string) bool {
	out, _ := exec.Command("ip", "-n", ns, "-4", "addr", "show", "dev", "eth0").Output()
	return strings.Contains(string(out), addr+"/")
}

func waitAddr(t *testing.T, ns, addr string, want bool, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < bound {
		if hasAddr(ns, addr) == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("namespace %s: %s present=%v not reached in %v", ns, addr, want, bound)
	return 0
}

func readLines(p string) []string {
	b, _ := os.ReadFile(p)
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// TestVRRPSyncGroupWithKeepalived: gohaka (150) and keepalived (100) both
// run sync group VG_1 of VI_1 and VI_2. When gohaka's VI_2 faults (its
// script fails), the group pulls VI_1 along and keepalived takes both
// VIPs; when the script passes, both come home together. Both sides'
// notify scripts log their arguments: gohaka's words and order are
// keepalived's.
func TestVRRPSyncGroupWithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	nsA, nsB := vrrpPair(t)
	bin := vrrpBinary(t)
	// scripts run as script_user nobody: everything they touch is open
	dir, err := os.MkdirTemp("", "gohaka-group")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	flag := filepath.Join(dir, "healthy")
	os.WriteFile(flag, nil, 0o644)
	glog, klog := filepath.Join(dir, "gohaka.log"), filepath.Join(dir, "keepalived.log")
	for _, l := range []string{glog, klog} {
		os.WriteFile(l, nil, 0o666)
		os.Chmod(l, 0o666)
	}
	startInNS(t, nsA, bin, "run", "-k", groupConf(t, dir, 150, flag, glog))
	waitAddr(t, nsA, "192.0.2.100", true, 15*time.Second)
	waitAddr(t, nsA, "192.0.2.101", true, 5*time.Second)
	startKeepalived(t, nsB, groupConf(t, dir, 100, "", klog))
	time.Sleep(4 * time.Second)
	if hasAddr(nsB, "192.0.2.100") || hasAddr(nsB, "192.0.2.101") {
		t.Fatal("keepalived (100) took a VIP from gohaka (150)")
	}
	os.Remove(flag)
	moved := waitAddr(t, nsB, "192.0.2.100", true, 10*time.Second)
	waitAddr(t, nsB, "192.0.2.101", true, 5*time.Second)
	waitAddr(t, nsA, "192.0.2.100", false, 5*time.Second)
	waitAddr(t, nsA, "192.0.2.101", false, 5*time.Second)
	t.Logf("VI_2's script failed -> both VIPs on keepalived after %v", moved)
	os.WriteFile(flag, nil, 0o644)
	back := waitAddr(t, nsA, "192.0.2.100", true, 15*time.Second)
	waitAddr(t, nsA, "192.0.2.101", true, 5*time.Second)
	waitAddr(t, nsB, "192.0.2.100", false, 5*time.Second)
	t.Logf("script passes -> both VIPs home on gohaka after %v", back)
	time.Sleep(500 * time.Millisecond) // let the notify queues drain
	g, k := readLines(glog), readLines(klog)
	for n, l := range g {
		if !strings.HasSuffix(l, "_nobody") {
			t.Errorf("gohaka ran a notify script not as script_user nobody: %s", l)
		}
		g[n] = strings.TrimSuffix(l, "_nobody")
	}
	for n, l := range k {
		k[n] = strings.TrimSuffix(l, "_nobody")
	}
	t.Logf("gohaka notify: %v", g)
	t.Logf("keepalived notify: %v", k)
	// keepalived's own run fixes the shapes: the group's words carry
	// priority 0 (keepalived forks its scripts, so their order in the log
	// varies from run to run; gohaka runs them on one queue)
	if kg := only(k, "GROUP_VG_1_"); len(kg) < 2 || index(kg, "GROUP_VG_1_MASTER_0") < 0 {
		t.Fatalf("keepalived's group notify lines are not the ones this test expects: %v", k)
	}
	want := "GROUP_VG_1_BACKUP_0 GROUP_VG_1_MASTER_0 GROUP_VG_1_FAULT_0 GROUP_VG_1_BACKUP_0 GROUP_VG_1_MASTER_0"
	if got := strings.Join(only(g, "GROUP_"), " "); got != want {
		t.Errorf("gohaka's group notify: %v, want %v", got, want)
	}
	for _, in := range []string{"VI_1", "VI_2"} {
		want := strings.ReplaceAll("I_BACKUP_150 I_MASTER_150 I_FAULT_150 I_BACKUP_150 I_MASTER_150", "I_", "INSTANCE_"+in+"_")
		if got := strings.Join(only(g, "INSTANCE_"+in+"_"), " "); got != want {
			t.Errorf("gohaka's %s notify: %v, want %v", in, got, want)
		}
	}
	for _, st := range []string{"MASTER", "FAULT"} {
		grp := index(g, "GROUP_VG_1_"+st+"_0")
		if grp < index(g, "INSTANCE_VI_1_"+st+"_150") || grp < index(g, "INSTANCE_VI_2_"+st+"_150") {
			t.Errorf("gohaka ran the group's %s notify before its members': %v", st, g)
		}
	}
}

func only(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func index(lines []string, l string) int {
	for n, x := range lines {
		if x == l {
			return n
		}
	}
	return -1
}
