package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func stdLogConfig(sock string, fe, sp int) string {
	return fmt.Sprintf(`global
    stats socket %s
    log stdout format raw local0
    log stderr format short local1
defaults
    mode tcp
    log global
    option tcplog
    option dontlognull
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen fe1
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, sock, fe, sp)
}

// lineReader collects the lines of a stream that start like a log line.
func lineReader(r io.Reader, keep func(string) bool) chan string {
	ch := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if keep(sc.Text()) {
				ch <- sc.Text()
			}
		}
	}()
	return ch
}

func nextLine(t *testing.T, ch chan string, what string) string {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(5 * time.Second):
		t.Fatalf("no log line on %s", what)
	}
	return ""
}

// TestStdoutStderrLogsMatchHAProxy compares `log stdout format raw` and
// `log stderr format short` lines of haproxy 2.6 and gohaka for the same
// connection.
func TestStdoutStderrLogsMatchHAProxy(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	sp := replyServers(t, 1)
	isLog := func(l string) bool { return strings.HasPrefix(l, "127.0.0.1:") || strings.HasPrefix(l, "<6>") }
	// haproxy
	hfe := freePort(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "h.cfg")
	hsock := filepath.Join(dir, "h.sock")
	os.WriteFile(p, []byte(stdLogConfig(hsock, hfe, sp[0])), 0o644)
	cmd := exec.Command(bin, "-db", "-f", p)
	hout, _ := cmd.StdoutPipe()
	herr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	hso, hse := lineReader(hout, isLog), lineReader(herr, isLog)
	// gohaka, with its stdout and stderr on pipes while it starts
	gfe := freePort(t)
	or, ow, _ := os.Pipe()
	er, ew, _ := os.Pipe()
	saveOut, saveErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = ow, ew
	startRuntime(t, stdLogConfig(filepath.Join(dir, "g.sock"), gfe, sp[0]))
	os.Stdout, os.Stderr = saveOut, saveErr
	t.Cleanup(func() { ow.Close(); ew.Close() })
	gso, gse := lineReader(or, isLog), lineReader(er, isLog)
	// haproxy answers on its stats socket once every listener is bound:
	// no probe connection that could still be open when the real one is
	// logged
	waitFor(t, func() bool {
		c, err := net.Dial("unix", hsock)
		if err != nil {
			return false
		}
		defer c.Close()
		io.WriteString(c, "show backend\n")
		b, _ := io.ReadAll(c)
		return strings.Contains(string(b), "fe1")
	}, "haproxy")
	hit(t, hfe, 1)
	hit(t, gfe, 1)
	pairs := [][2]string{{nextLine(t, hso, "haproxy stdout"), nextLine(t, gso, "gohaka stdout")},
		{nextLine(t, hse, "haproxy stderr"), nextLine(t, gse, "gohaka stderr")}}
	for _, pr := range pairs {
		if normLog(pr[0]) != normLog(pr[1]) {
			t.Errorf("haproxy %q\ngohaka  %q", pr[0], pr[1])
		}
	}
	t.Logf("stdout %q, stderr %q", normLog(pairs[0][1]), normLog(pairs[1][1]))
}
