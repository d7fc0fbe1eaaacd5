package track

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDifferentialKeepalived runs keepalived 2.2 in a network namespace with
// a vrrp_script whose exit status flips, and checks that the priorities it
// logs are the ones Tracker, ScriptDelta and Priority compute for the same
// exit codes.
func TestDifferentialKeepalived(t *testing.T) {
	const ka = "/usr/sbin/keepalived"
	ip, err := exec.LookPath("ip")
	if _, e2 := os.Stat(ka); e2 != nil || err != nil || os.Geteuid() != 0 {
		t.Skip("needs root, iproute2 and keepalived at " + ka)
	}
	const seq = "1 1 1 0 0 1 1 0 0"
	script := flipScript(t, seq)
	dir := filepath.Dir(script)
	cfg := fmt.Sprintf(`global_defs {
  script_user root
}
vrrp_script chk {
  script "%s"
  interval 1
  weight -10
  rise 2
  fall 2
}
vrrp_instance VI_1 {
  state BACKUP
  interface trk0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/32
  }
  track_script {
    chk
  }
}
`, script)
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(cfg), 0o644)
	ns := fmt.Sprintf("gohaka-ka-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"link", "add", "trk0", "type", "veth", "peer", "name", "trk1"},
		{"addr", "add", "192.0.2.1/24", "dev", "trk0"},
		{"link", "set", "trk1", "up"}, {"link", "set", "trk0", "up"},
	} {
		if out, err := exec.Command(ip, append([]string{"netns", "exec", ns, ip}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	cmd := exec.Command(ip, "netns", "exec", ns, ka, "-n", "-l", "-D", "-P", "-f", conf,
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	re := regexp.MustCompile(`Changing effective priority from \d+ to (\d+)`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				mu.Lock()
				got = append(got, m[1])
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		cmd.Wait()
	})
	time.Sleep(8500 * time.Millisecond)
	b, _ := os.ReadFile(filepath.Join(dir, "cnt"))
	runs := ParseFileValue(string(b))
	codes := strings.Fields(seq)
	tr := NewTracker(2, 2, false)
	prio := 100
	var want []string
	for i := 0; i < runs && i < len(codes); i++ {
		tr.Observe(codes[i] == "0")
		d, _ := ScriptDelta(Weight{W: -10}, tr.Status())
		if p := Priority(100, d); p != prio {
			prio = p
			want = append(want, itoa(p))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("runs %d: keepalived %v, gohaka %v", runs, got, want)
	// keepalived may not have logged the very last run yet
	if len(want) < 2 || !(strings.Join(got, " ") == strings.Join(want, " ") ||
		strings.Join(got, " ") == strings.Join(want[:len(want)-1], " ")) {
		t.Fatalf("after %d runs keepalived logged priorities %v, gohaka computes %v", runs, got, want)
	}
}
