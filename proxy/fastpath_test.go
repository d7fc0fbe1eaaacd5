package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// silentServer is a loopback listener that never accepts, with its
// backlog filled: the SYN of any further connection is dropped, so a
// connect to it neither succeeds nor fails until someone gives up.
func silentServer(t *testing.T) int {
	fd, p := boundSocket(t)
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// a backlog of 0 holds one connection; two make sure it is full
	for i := 0; i < 2; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return p
}

// TestConnectTimeoutInLoop: the event loop completes server connects; a
// server that never answers the SYN must end the attempt at `timeout
// connect` and, with a retry and redispatch, the client reaches the live
// server.
func TestConnectTimeoutInLoop(t *testing.T) {
	silent := silentServer(t)
	live := peerAddrServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    retries 1\n    option redispatch\n    server silent 127.0.0.1:%d\n    server live 127.0.0.1:%d\n", silent, live), "    timeout connect 300ms\n"))
	// round robin sends one of two clients to the silent server first
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		// far longer than the timeout, far shorter than the kernel's SYN retries
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.TrimSpace(l) != "127.0.0.1" {
			t.Fatalf("client %d got %q (%v): the silent server's connect did not time out into a redispatch", i, l, err)
		}
	}
	be := r.backends["l"]
	econ, redis := be.servers[0].st.ctr.econ.Load(), be.ctr.wredis.Load()
	if econ == 0 || redis != econ {
		t.Errorf("silent server: %d connection errors and %d redispatches counted, want one redispatch per error", econ, redis)
	}
}

// TestConnectTimeoutCloses: without a retry left the client is closed at
// `timeout connect`.
func TestConnectTimeoutCloses(t *testing.T) {
	silent := silentServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    retries 0\n    server silent 127.0.0.1:%d\n", silent), "    timeout connect 200ms\n"))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client not closed after the connect timeout: %v", err)
	}
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sessions) == 0 }, "the session to end")
}

// TestPlainPathAddresses: the plain path reads addresses from raw socket
// calls: an IPv6 server, a client of a wildcard bind, and the frontend
// address the rules see must all be right.
func TestPlainPathAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback")
	}
	t.Cleanup(func() { ln.Close() })
	go answerPeerAddr(ln)
	fp := freePort(t)
	cfg := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nlisten l\n    bind :%d\n"+
		"    acl local dst 127.0.0.1\n    tcp-request connection reject if !local\n    server s1 [::1]:%d\n", fp, port(ln.Addr()))
	r := startRuntime(t, cfg)
	if len(r.frontends[0].rawLns) == 0 {
		t.Fatal("a plain tcp listener is not served by the plain path")
	}
	if got := readLine(t, "tcp", fmt.Sprintf("127.0.0.1:%d", fp)); got != "::1" {
		t.Errorf("IPv6 server saw %q, want ::1", got)
	}
	if got := readLine(t, "tcp", fmt.Sprintf("127.0.0.2:%d", fp)); got != "" {
		t.Errorf("a client to 127.0.0.2 passed a rule that allows dst 127.0.0.1 only: %q", got)
	}
}
