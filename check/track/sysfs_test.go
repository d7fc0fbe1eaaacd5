package track

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadFileValue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weight")
	if ReadFileValue(p) != 0 {
		t.Fatal("missing file must read 0")
	}
	os.WriteFile(p, []byte("12\n"), 0o644)
	if ReadFileValue(p) != 12 {
		t.Fatal("file value")
	}
}

func TestInterfaceUpLoopbackAndMissing(t *testing.T) {
	if _, err := os.Stat("/sys/class/net/lo/flags"); err != nil {
		t.Skip("no sysfs")
	}
	if !InterfaceUp("lo") {
		t.Fatal("lo should be up")
	}
	if InterfaceUp("nosuch0") || InterfaceUp("../lo") {
		t.Fatal("missing interface must be down")
	}
}

// TestInterfaceInNamespace flips a veth link in a namespace the test owns
// and reads it from a helper process running inside that namespace.
func TestInterfaceInNamespace(t *testing.T) {
	if os.Getenv("GOHAKA_TRACK_HELPER") != "" {
		fmt.Println("STATE", InterfaceUp(os.Getenv("GOHAKA_TRACK_HELPER")))
		return
	}
	ip, err := exec.LookPath("ip")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and iproute2 (ip)")
	}
	ns := fmt.Sprintf("gohaka-trk-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, append([]string{"netns", "exec", ns, ip}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	state := func() string {
		cmd := exec.Command(ip, "netns", "exec", ns, os.Args[0], "-test.run=^TestInterfaceInNamespace$")
		cmd.Env = append(os.Environ(), "GOHAKA_TRACK_HELPER=trk0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v %s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "STATE ") {
				return strings.TrimPrefix(l, "STATE ")
			}
		}
		t.Fatalf("helper printed %s", out)
		return ""
	}
	if s := state(); s != "false" {
		t.Fatalf("new veth reads %s", s)
	}
	run("link", "set", "trk0", "up")
	run("link", "set", "trk1", "up")
	if s := state(); s != "true" {
		t.Fatalf("veth up reads %s", s)
	}
	run("link", "set", "trk1", "down") // peer down: no carrier
	if s := state(); s != "false" {
		t.Fatalf("veth without carrier reads %s", s)
	}
}
