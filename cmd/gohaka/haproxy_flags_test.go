package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHAProxyChdirFlag: `-C dir` reads relative -f paths from dir, and a
// missing dir fails with haproxy 2.6's line and exit code.
func TestHAProxyChdirFlag(t *testing.T) {
	real := realHAProxy(t)
	link := hapLink(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rel.cfg"), []byte("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nlisten l\n    bind 127.0.0.1:1\n    server s1 127.0.0.1:2\n"), 0o644)
	pidRe := regexp.MustCompile(`\(\d+\)|path to executable is .*`)
	for _, args := range [][]string{{"-C", dir, "-c", "-f", "rel.cfg"}, {"-C", filepath.Join(dir, "missing"), "-c", "-f", "rel.cfg"}} {
		run := func(bin string) (int, string) {
			out, _ := exec.Command(bin, args...).CombinedOutput()
			code := 0
			if c := exec.Command(bin, args...); c.Run() != nil {
				code = c.ProcessState.ExitCode()
			}
			return code, pidRe.ReplaceAllString(string(out), "X")
		}
		hc, ho := run(real)
		gc, gout := run(link)
		if hc != gc || ho != gout {
			t.Errorf("%v: haproxy %d %q, gohaka %d %q", args, hc, ho, gc, gout)
		}
	}
}

// TestHAProxyMaxconnFlag: `-n 1` sets the global maxconn over the
// config's: a second client is not served while the first holds the
// only slot, and is once it leaves.
func TestHAProxyMaxconnFlag(t *testing.T) {
	link := hapLink(t)
	backend := slowServer(t)
	fp := localPort(t)
	cfg := tcpConfig(t, t.TempDir(), fp, backend, "    maxconn 100\n")
	startMaster(t, link, nil, "-db", "-n", "1", "-f", cfg)
	dial := func() (net.Conn, *bufio.Reader) {
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp)); err == nil {
				return c, bufio.NewReader(c)
			}
			time.Sleep(30 * time.Millisecond)
		}
		t.Fatal("no listener")
		return nil, nil
	}
	c1, r1 := dial()
	defer c1.Close()
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, _ := r1.ReadString('\n'); l != "start\n" {
		t.Fatalf("first client: %q", l)
	}
	c2, r2 := dial()
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if l, _ := r2.ReadString('\n'); l != "" {
		t.Fatalf("second client served past maxconn 1: %q", l)
	}
	c1.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := r2.ReadString('\n'); !strings.HasPrefix(l, "start") {
		t.Fatalf("second client after the first left: %q %v", l, err)
	}
}
