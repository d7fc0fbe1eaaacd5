package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohaka/gohaka/proxy/testport"
)

// buildBinary builds gohaka once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gohaka")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// localPort is a free port below the ephemeral range (testport).
func localPort(t *testing.T) int { return testport.Free(t) }

// startGohaka runs `gohaka run` on a tcp config in front of a slow server
// and returns the process and the frontend port.
func startGohaka(t *testing.T, bin string, backend int) (*exec.Cmd, int) {
	fp := localPort(t)
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", fp, backend)), 0o644)
	cmd := exec.Command(bin, "run", "-f", cfg)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp)); err == nil {
			c.Close()
			return cmd, fp
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("gohaka run did not listen")
	return nil, 0
}

// slowServer sends "start\n", waits for "go\n", then sends "done\n".
func slowServer(t *testing.T) int {
	return serveLocal(t, func(c net.Conn) {
		fmt.Fprint(c, "start\n")
		r := bufio.NewReader(c)
		if l, _ := r.ReadString('\n'); l == "go\n" {
			fmt.Fprint(c, "done\n")
		}
	})
}

// serveLocal runs handle on each connection to a new loopback listener
// (closed afterwards, and with the test) and returns its port.
func serveLocal(t *testing.T, handle func(c net.Conn)) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSignalsSoftAndHardStop: SIGUSR1 stops listening at once but lets a
// live connection finish; SIGTERM ends live connections at once.
func TestSignalsSoftAndHardStop(t *testing.T) {
	bin := buildBinary(t)
	backend := slowServer(t)

	cmd, fp := startGohaka(t, bin, backend)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); l != "start\n" {
		t.Fatalf("no session: %q", l)
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	refused := false
	for i := 0; i < 50 && !refused; i++ {
		if nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp)); err != nil {
			refused = true
		} else {
			nc.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !refused {
		t.Errorf("still listening after SIGUSR1")
	}
	fmt.Fprint(c, "go\n")
	if l, _ := r.ReadString('\n'); l != "done\n" {
		t.Errorf("live session did not finish after SIGUSR1: %q", l)
	}
	c.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after soft stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gohaka did not exit after its last connection ended")
	}

	cmd2, fp2 := startGohaka(t, bin, backend)
	c2, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp2))
	if err != nil {
		t.Fatal(err)
	}
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	r2 := bufio.NewReader(c2)
	r2.ReadString('\n')
	cmd2.Process.Signal(syscall.SIGTERM)
	if _, err := r2.ReadString('\n'); err != io.EOF {
		t.Errorf("SIGTERM should close live sessions, read gave %v", err)
	}
	done2 := make(chan error, 1)
	go func() { done2 <- cmd2.Wait() }()
	select {
	case <-done2:
	case <-time.After(10 * time.Second):
		t.Fatal("gohaka did not exit on SIGTERM")
	}
}

// TestRunRefusesBadConfig: a config with errors starts nothing.
func TestRunRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.cfg")
	os.WriteFile(p, []byte("listen l\n    bind 127.0.0.1:1\n    balanse roundrobin\n"), 0o644)
	rc, _, errOut := runCLI("gohaka", "run", "-f", p)
	if rc != 1 || !strings.Contains(errOut, "nothing started") {
		t.Errorf("rc %d: %s", rc, errOut)
	}
}
