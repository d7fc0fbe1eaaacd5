package proxy

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// TestHealthChecksTakeServerOutAndBack: a server whose listener goes away
// is marked DOWN by its checks and gets no new traffic; when it listens
// again it is marked UP and serves again. The transitions are logged in
// haproxy's words.
func TestHealthChecksTakeServerOutAndBack(t *testing.T) {
	var logMu sync.Mutex
	var logs []string
	ln1, ln2 := listenLocal(t), listenLocal(t)
	p1 := port(ln1.Addr())
	go serveLine(ln1, "s1")
	go serveLine(ln2, "s2")
	fp := freePort(t)
	text := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 500ms\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d check inter 100ms fall 2 rise 2\n    server s2 127.0.0.1:%d check inter 100ms fall 2 rise 2\n", fp, p1, port(ln2.Addr()))
	cfg, ds := parser.LoadHAProxyBytes("t.cfg", []byte(text), parser.Options{Offline: true})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	r, err := New(cfg, Options{Logf: func(f string, a ...any) {
		logMu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		logMu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	names := func(n int) map[string]int {
		m := map[string]int{}
		for i := 0; i < n; i++ {
			l, _ := nameFrom(netipZero(), fp)
			m[l]++
		}
		return m
	}
	if m := names(6); m["s1"] == 0 || m["s2"] == 0 {
		t.Fatalf("both servers should serve at first: %v", m)
	}
	ln1.Close()
	waitFor(t, func() bool { return strings.Contains(joined(&logMu, &logs), "Server l/s1 is DOWN") }, "s1 marked DOWN")
	if m := names(6); m["s2"] != 6 {
		t.Errorf("a DOWN server still gets traffic: %v", m)
	}
	ln1b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p1))
	if err != nil {
		t.Skipf("could not listen again on the same port: %v", err)
	}
	t.Cleanup(func() { ln1b.Close() })
	go serveLine(ln1b, "s1")
	waitFor(t, func() bool { return strings.Contains(joined(&logMu, &logs), "Server l/s1 is UP") }, "s1 back UP")
	if m := names(6); m["s1"] == 0 {
		t.Errorf("s1 did not get traffic again: %v", m)
	}
	all := joined(&logMu, &logs)
	for _, want := range []string{"Server l/s1 is DOWN, reason: Layer4 connection problem", "1 active and 0 backup servers left.", "2 active and 0 backup servers online."} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
}

func joined(mu *sync.Mutex, l *[]string) string {
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(*l, "\n")
}

// TestAllDownClosesClients: with every server down and no backup, a tcp
// client is closed at once.
func TestAllDownClosesClients(t *testing.T) {
	dead := deadPort(t)
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d check inter 100ms fall 1\n", dead), ""))
	time.Sleep(400 * time.Millisecond)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client got data with no server up")
	}
}

// TestAgentDrainAndWeight: an agent answering "drain" stops new traffic to
// its server; one answering "50%" halves its weight.
func TestAgentDrainAndWeight(t *testing.T) {
	agentReply := func(reply string) int {
		return serveEach(t, func(c net.Conn) {
			fmt.Fprintf(c, "%s\n", reply)
			c.Close()
		})
	}
	serve := func(name string) int {
		return serveEach(t, func(c net.Conn) {
			fmt.Fprintln(c, name)
			c.Close()
		})
	}
	s1, s2 := serve("s1"), serve("s2")
	drainAgent, halfAgent := agentReply("drain"), agentReply("50%")
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d weight 10 agent-check agent-port %d agent-inter 100ms\n    server s2 127.0.0.1:%d weight 10 agent-check agent-port %d agent-inter 100ms\n", s1, drainAgent, s2, halfAgent), ""))
	be := r.backends["l"]
	waitFor(t, func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		ss := be.bal.Servers()
		return ss[0].State != 0 && ss[1].Weight == 5
	}, "agent replies applied (s1 drained, s2 at 50%)")
	for i := 0; i < 6; i++ {
		if l, _ := nameFrom(netipZero(), fp); l != "s2" {
			t.Errorf("drained s1 got a new connection (%q)", l)
		}
	}
}
