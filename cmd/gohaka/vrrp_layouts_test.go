package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// instConf is one vrrp_instance on eth0 with PASS authentication.
func instConf(name string, vrid int, state string, prio int, vip, extra string) string {
	return fmt.Sprintf(`vrrp_instance %s {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        %s dev eth0
    }
%s}
`, name, state, vrid, prio, vip, extra)
}

func writeConf(t *testing.T, parts ...string) string {
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	s := "global_defs {\n    router_id test\n}\n"
	for _, x := range parts {
		s += x
	}
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

// TestVRRPMasterMasterWithKeepalived: the classic master/master layout,
// gohaka on one node and keepalived on the other, two VIPs with swapped
// priorities. Over a 60 s steady run each VIP is on exactly one node at
// every sample; when a node dies the other holds both; when it comes
// back its VIP goes home.
func TestVRRPMasterMasterWithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	h := vrrpHosts(t, 3)
	a, b, c := h[0], h[1], h[2]
	bin := vrrpBinary(t)
	serveName(t, a, "A")
	serveName(t, b, "B")
	const v1, v2 = "192.0.2.100", "192.0.2.101"
	g := &node{ns: a, bin: bin, conf: writeConf(t,
		instConf("VI_1", 51, "MASTER", 150, v1+"/24", ""), instConf("VI_2", 52, "BACKUP", 100, v2+"/24", ""))}
	k := &node{ns: b, conf: writeConf(t,
		instConf("VI_1", 51, "BACKUP", 100, v1+"/24", ""), instConf("VI_2", 52, "MASTER", 150, v2+"/24", ""))}
	g.start(t)
	k.start(t)
	waitAnswer(t, c, v1, "A", 20*time.Second)
	waitAnswer(t, c, v2, "B", 20*time.Second)

	steady := 60 * time.Second
	if testing.Short() {
		steady = 10 * time.Second
	}
	samples, bad := 0, 0
	for end := time.Now().Add(steady); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		samples++
		for _, v := range []string{v1, v2} {
			if hasAddr(a, v) == hasAddr(b, v) {
				bad++
				t.Errorf("sample %d: %s on both nodes or on none", samples, v)
			}
		}
	}
	t.Logf("steady state: %d samples over %v, %d with a VIP on both nodes or none", samples, steady, bad)

	wait := k.kill(syscall.SIGKILL)
	took := waitAnswer(t, c, v2, "A", 15*time.Second)
	wait()
	if ask(c, v1) != "A" {
		t.Error("gohaka lost VI_1 while taking VI_2")
	}
	t.Logf("keepalived node killed -> gohaka holds both VIPs (VI_2 after %v)", took)
	k.start(t)
	home := waitAnswer(t, c, v2, "B", 20*time.Second)
	t.Logf("keepalived back -> VI_2 home after %v", home)

	wait = g.kill(syscall.SIGTERM)
	took = waitAnswer(t, c, v1, "B", 15*time.Second)
	wait()
	t.Logf("gohaka stopped -> keepalived holds both VIPs (VI_1 after %v)", took)
	g.start(t)
	home = waitAnswer(t, c, v1, "A", 20*time.Second)
	if ask(c, v2) != "B" {
		t.Error("VI_2 left keepalived when gohaka came back")
	}
	t.Logf("gohaka back -> VI_1 home after %v", home)
}

// TestVRRPUnicastAndNopreempt: unicast peers both ways between gohaka and
// keepalived (no multicast at all), then nopreempt: a higher-priority
// gohaka that comes back does not take the VIP from a live master.
func TestVRRPUnicastAndNopreempt(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	h := vrrpHosts(t, 3)
	a, b, c := h[0], h[1], h[2]
	bin := vrrpBinary(t)
	serveName(t, a, "A")
	serveName(t, b, "B")
	const vip = "192.0.2.100"
	uni := func(src, peer string) string {
		return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", src, peer)
	}
	// the switch floods no multicast to the hosts: keepalived and gohaka
	// must both send to the peer's address
	for _, port := range []string{"p0", "p1"} {
		if out, err := exec.Command("ip", "-n", switchOf(a), "link", "set", port, "type", "bridge_slave", "mcast_flood", "off").CombinedOutput(); err != nil {
			t.Fatalf("mcast_flood off: %v %s", err, out)
		}
	}
	g := &node{ns: a, bin: bin, conf: writeConf(t, instConf("VI_1", 51, "BACKUP", 150, vip+"/24", uni("192.0.2.1", "192.0.2.2")))}
	k := &node{ns: b, conf: writeConf(t, instConf("VI_1", 51, "BACKUP", 100, vip+"/24", uni("192.0.2.2", "192.0.2.1")))}
	g.start(t)
	waitAnswer(t, c, vip, "A", 20*time.Second)
	k.start(t)
	time.Sleep(5 * time.Second)
	if ask(c, vip) != "A" || hasAddr(b, vip) {
		t.Fatal("unicast: keepalived (100) took the VIP from gohaka (150): it does not hear gohaka's adverts")
	}
	wait := g.kill(syscall.SIGTERM)
	took := waitAnswer(t, c, vip, "B", 10*time.Second)
	wait()
	t.Logf("unicast: gohaka stopped -> keepalived answers after %v", took)
	g.start(t)
	home := waitAnswer(t, c, vip, "A", 20*time.Second)
	t.Logf("unicast: gohaka (150) back -> preempts after %v", home)

	// nopreempt: gohaka comes back at 150 but leaves keepalived master
	g.kill(syscall.SIGTERM)()
	waitAnswer(t, c, vip, "B", 10*time.Second)
	g.conf = writeConf(t, instConf("VI_1", 51, "BACKUP", 150, vip+"/24", uni("192.0.2.1", "192.0.2.2")+"    nopreempt\n"))
	g.start(t)
	time.Sleep(6 * time.Second)
	if ask(c, vip) != "B" || hasAddr(a, vip) {
		t.Fatal("nopreempt: gohaka (150) took the VIP from a live keepalived master")
	}
	k.kill(syscall.SIGTERM)()
	took = waitAnswer(t, c, vip, "A", 10*time.Second)
	t.Logf("nopreempt: gohaka stayed backup; keepalived stopped -> gohaka answers after %v", took)
}

// TestVRRPv3IPv6WithKeepalived: VRRPv3 over IPv6 (ff02::12, link-local
// sources, unsolicited NA) between gohaka (150) and keepalived (100): the
// client reaches the service on the IPv6 VIP on gohaka, on keepalived
// when gohaka stops, and on gohaka again when it is back.
func TestVRRPv3IPv6WithKeepalived(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived); .ci/run installs it")
	}
	h := vrrpHosts(t, 3)
	a, b, c := h[0], h[1], h[2]
	bin := vrrpBinary(t)
	serveName(t, a, "A")
	serveName(t, b, "B")
	const vip = "2001:db8::100"
	inst := func(prio int) string {
		return fmt.Sprintf(`vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    version 3
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/64 dev eth0
    }
}
`, prio, vip)
	}
	g := &node{ns: a, bin: bin, conf: writeConf(t, inst(150))}
	k := &node{ns: b, conf: writeConf(t, inst(100))}
	g.start(t)
	waitAnswer(t, c, vip, "A", 20*time.Second)
	k.start(t)
	time.Sleep(5 * time.Second)
	if ask(c, vip) != "A" {
		t.Fatal("keepalived (100) took the IPv6 VIP from gohaka (150): it does not hear gohaka's v3 adverts")
	}
	wait := g.kill(syscall.SIGTERM)
	took := waitAnswer(t, c, vip, "B", 10*time.Second)
	wait()
	t.Logf("IPv6: gohaka stopped -> keepalived answers on %s after %v", vip, took)
	g.start(t)
	home := waitAnswer(t, c, vip, "A", 20*time.Second)
	t.Logf("IPv6: gohaka back -> answers again after %v (preempt, unsolicited NA)", home)
	wait = k.kill(syscall.SIGKILL)
	wait()
	time.Sleep(4 * time.Second)
	if ask(c, vip) != "A" {
		t.Error("gohaka lost the IPv6 VIP when keepalived died")
	}
}
