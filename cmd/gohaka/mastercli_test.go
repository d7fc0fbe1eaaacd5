package main

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliAsk sends one line to a CLI socket, ends the write side and returns
// the whole answer.
func cliAsk(t *testing.T, sock, line string) string {
	t.Helper()
	// haproxy's master may refuse for a moment while its worker starts
	var c net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if c, err = net.DialTimeout("unix", sock, 2*time.Second); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s: %v", sock, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s\n", line)
	c.(*net.UnixConn).CloseWrite()
	var b strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// waitSock waits (bounded) until a unix socket accepts.
func waitSock(t *testing.T, sock string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never accepted", sock)
}

var procRow = regexp.MustCompile(`(?m)^\d+ +`)
var uptimeCol = regexp.MustCompile(`\d+d\d\dh\d\dm\d\ds`)

// TestMasterCLISameAsHAProxy: haproxy -W -S SOCKET under gohaka and under
// haproxy 2.6: `help`, `show version`, `show cli level`, an unknown PID
// and `show proc` (PIDs and uptimes aside) answer the same; `reload`
// through the socket starts a new worker in both, seen in `show proc`
// with the reload counts.
func TestMasterCLISameAsHAProxy(t *testing.T) {
	real := realHAProxy(t)
	link := hapLink(t)
	answers := map[string][]string{}
	cmds := []string{"help", "show version", "show cli level", "@!99999 show info", "@master show version", "@1 show backend", "show proc", "reload", "show proc"}
	for _, bin := range []string{real, link} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "master.sock")
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		fp := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfg := tcpConfig(t, dir, fp, 9, "    nbthread 1\n")
		_, out := startMaster(t, bin, nil, "-W", "-S", sock, "-f", cfg, "-p", filepath.Join(dir, "pid"))
		out.waitFor(t, "Loading success.", 1)
		waitSock(t, sock)
		var got []string
		for _, c := range cmds {
			a := cliAsk(t, sock, c)
			// right after start haproxy's master may close a CLI
			// connection without an answer: ask again (bounded)
			for i := 0; a == "" && c != "reload" && i < 40; i++ {
				time.Sleep(50 * time.Millisecond)
				a = cliAsk(t, sock, c)
			}
			if c == "reload" {
				out.waitFor(t, "Loading success.", 2)
				time.Sleep(300 * time.Millisecond)
			}
			a = procRow.ReplaceAllString(a, "PID ")
			a = uptimeCol.ReplaceAllString(a, "UPTIME")
			got = append(got, a)
		}
		answers[bin] = got
	}
	for i, c := range cmds {
		if h, g := answers[real][i], answers[link][i]; h != g {
			t.Errorf("%q:\nhaproxy: %q\ngohaka:  %q", c, h, g)
		}
	}
	t.Logf("@1 show backend: %q", answers[link][5])
	if !strings.Contains(answers[link][8], "1 [failed: 0]") {
		t.Errorf("after reload, show proc:\n%s", answers[link][8])
	}
}
