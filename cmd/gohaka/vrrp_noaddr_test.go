package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestVRRPNoIPv4AddressIsFault: as keepalived, an IPv4 instance whose
// interface has no IPv4 address of its own stays in FAULT (no VIP, even
// alone on the link, past Master_Down_Interval) and becomes master once
// an address is assigned.
func TestVRRPNoIPv4AddressIsFault(t *testing.T) {
	t.Parallel()
	h := vrrpHosts(t, 1)
	ns := h[0]
	bin := vrrpBinary(t)
	if out, err := exec.Command("ip", "-n", ns, "addr", "del", "192.0.2.1/24", "dev", "eth0").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out := &lockedBuf{}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "run", "-k", kaConf(t, "MASTER", 150))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProc(cmd) })
	time.Sleep(4500 * time.Millisecond) // longer than Master_Down_Interval (3.4 s)
	if hasVIP(ns) {
		t.Fatalf("took the VIP without an address of its own:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "(VI_1) entering FAULT state (no IPv4 address for interface)") {
		t.Errorf("no FAULT line:\n%s", out.String())
	}
	exec.Command("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0").Run()
	took := waitVIP(t, ns, true, 15*time.Second)
	t.Logf("address assigned -> master after %v", took)
	if !strings.Contains(out.String(), "Assigned address 192.0.2.1 for interface eth0") {
		t.Errorf("no 'Assigned address' line:\n%s", out.String())
	}
}
