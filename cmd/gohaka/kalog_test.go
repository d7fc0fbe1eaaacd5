package main

import (
	"bufio"
	"bytes"
	"io"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKALogSyslogLine: the keepalived persona's syslog datagram carries
// the -S facility, level info and the Keepalived_vrrp[PID] tag.
func TestKALogSyslogLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	fac, ok := kaFacility("3")
	if !ok || fac != syslog.LOG_LOCAL3 {
		t.Fatalf("-S 3 gives %v", fac)
	}
	if _, ok := kaFacility("8"); ok {
		t.Error("-S 8 accepted")
	}
	var con bytes.Buffer
	l := newKALog(&con, fac, path, true)
	defer l.close()
	l.logf("(%s) Entering %s STATE", "VI_1", "MASTER")
	buf := make([]byte, 512)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	// local3 (19) * 8 + info (6) = 158
	re := regexp.MustCompile(`^<158>\w{3} [ \d]\d \d\d:\d\d:\d\d Keepalived_vrrp\[\d+\]: \(VI_1\) Entering MASTER STATE\n?$`)
	if !re.Match(buf[:n]) {
		t.Errorf("syslog datagram %q", buf[:n])
	}
	if !consoleLine.MatchString(strings.TrimSpace(con.String())) {
		t.Errorf("console line %q", con.String())
	}
}

var consoleLine = regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$`)

// kaConsole runs a keepalived (real or gohaka's persona) with -n -l in a
// namespace until its instance is MASTER, stops it, and returns the
// messages of its console lines (timestamps checked and stripped).
func kaConsole(t *testing.T, ns, conf string, bin ...string) []string {
	dir := t.TempDir()
	args := append([]string{"netns", "exec", ns}, bin...)
	args = append(args, "-n", "-l", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), "GOHAKA_SYSLOG_SOCKET="+filepath.Join(dir, "none.sock"))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var mu sync.Mutex
	var msgs []string
	master := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			m := consoleLine.FindStringSubmatch(sc.Text())
			mu.Lock()
			if m == nil {
				msgs = append(msgs, "UNSTAMPED: "+sc.Text())
			} else {
				msgs = append(msgs, m[1])
			}
			mu.Unlock()
			if !seen && strings.Contains(sc.Text(), "Entering MASTER STATE") {
				seen = true
				close(master)
			}
		}
	}()
	select {
	case <-master:
	case <-time.After(15 * time.Second):
		t.Errorf("%v: no MASTER within 15 s", bin)
	}
	stopProc(cmd)
	pw.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return msgs
}

// TestKeepalivedPersonaConsoleLog: invoked as keepalived with -l, gohaka
// writes console lines with keepalived's timestamp layout, and its VRRP
// lines and start/stop lines are the ones real keepalived 2.2 writes for
// the same config.
func TestKeepalivedPersonaConsoleLog(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed")
	}
	t.Parallel()
	hosts := vrrpHosts(t, 2)
	link := filepath.Join(t.TempDir(), "keepalived")
	if err := os.Symlink(vrrpBinary(t), link); err != nil {
		t.Fatal(err)
	}
	conf := kaConf(t, "MASTER", 150)
	real := kaConsole(t, hosts[0], conf, "keepalived")
	ours := kaConsole(t, hosts[1], conf, link)
	pick := func(msgs []string) []string {
		var out []string
		for _, m := range msgs {
			if strings.HasPrefix(m, "(VI_1)") || m == "Startup complete" || m == "Stopping" ||
				strings.HasPrefix(m, "Stopped Keepalived") || strings.HasPrefix(m, "Starting Keepalived") ||
				strings.HasPrefix(m, "Configuration file") || strings.HasPrefix(m, "UNSTAMPED") {
				// versions differ in the parentheses: keep the words
				if i := strings.Index(m, " ("); i > 0 && strings.Contains(m, "Keepalived v") {
					m = m[:i]
				}
				out = append(out, m)
			}
		}
		return out
	}
	r, o := pick(real), pick(ours)
	t.Logf("keepalived: %q", r)
	t.Logf("gohaka:     %q", o)
	// keepalived's parent writes "Startup complete" while its VRRP child
	// writes the first state, so only the state lines' own order is fixed
	states := func(l []string) (vr, other []string) {
		for _, m := range l {
			if strings.HasPrefix(m, "(VI_1)") {
				vr = append(vr, m)
			} else {
				other = append(other, m)
			}
		}
		sort.Strings(other)
		return vr, other
	}
	rv, ro := states(r)
	ov, oo := states(o)
	if strings.Join(rv, "\n") != strings.Join(ov, "\n") || strings.Join(ro, "\n") != strings.Join(oo, "\n") {
		t.Errorf("console lines differ:\nkeepalived %q\ngohaka     %q", r, o)
	}
}
