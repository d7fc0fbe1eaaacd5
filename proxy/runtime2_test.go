package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// peerAddrServer answers with the address the connection came from.
func peerAddrServer(t *testing.T) int {
	ln := listenLocal(t)
	go answerPeerAddr(ln)
	return port(ln.Addr())
}

// answerPeerAddr tells every client of ln its address, then closes.
func answerPeerAddr(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(c, c.RemoteAddr().(*net.TCPAddr).IP)
		c.Close()
	}
}

func readLine(t *testing.T, network, addr string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil && strings.Contains(err.Error(), "reset") {
		return "" // a connection rule's reject resets at once, as haproxy's
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	l, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(l)
}

func TestBindForms(t *testing.T) {
	be := peerAddrServer(t)
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "fe.sock")
	cfg := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nlisten l\n"+
		"    bind 127.0.0.1:%d,[::1]:%d\n    bind 127.0.0.1:%d-%d\n    bind %s\n    server s1 127.0.0.1:%d\n", p1, p2, p3, p3, sock, be)
	startRuntime(t, cfg)
	for _, a := range []struct{ n, a string }{{"tcp", fmt.Sprintf("127.0.0.1:%d", p1)}, {"tcp", fmt.Sprintf("[::1]:%d", p2)}, {"tcp", fmt.Sprintf("127.0.0.1:%d", p3)}, {"unix", sock}} {
		if got := readLine(t, a.n, a.a); got != "127.0.0.1" {
			t.Errorf("via %s %s: %q", a.n, a.a, got)
		}
	}
}

func TestSourceAddress(t *testing.T) {
	be := peerAddrServer(t)
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    source 127.0.0.42\n    server s1 127.0.0.1:%d\n", be), ""))
	if got := readLine(t, "tcp", fmt.Sprintf("127.0.0.1:%d", fp)); got != "127.0.0.42" {
		t.Errorf("server saw %q, want the source address 127.0.0.42", got)
	}
}

// TestRetriesRedispatch: the first server refuses connections; with
// retries and option redispatch every client still gets served.
func TestRetriesRedispatch(t *testing.T) {
	be := peerAddrServer(t)
	dead := deadPort(t) // nothing listens there
	fp := freePort(t)
	// a short connect timeout keeps the turn-around between retries short
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    retries 2\n    option redispatch\n    server dead 127.0.0.1:%d\n    server live 127.0.0.1:%d\n", dead, be), "    timeout connect 200ms\n"))
	for i := 0; i < 6; i++ {
		if got := readLine(t, "tcp", fmt.Sprintf("127.0.0.1:%d", fp)); got != "127.0.0.1" {
			t.Errorf("client %d not served: %q", i, got)
		}
	}
}

// TestClientTimeout: an idle client is closed after `timeout client`.
func TestClientTimeout(t *testing.T) {
	be := serveEach(t, func(c net.Conn) { go func() { io.Copy(io.Discard, c); c.Close() }() })
	fp := freePort(t)
	cfg := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 200ms\n    timeout server 30s\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", fp, be)
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("idle client should be closed by gohaka, got %v", err)
	}
}

// TestFrontendMaxconn: with maxconn 1 a second client waits until the
// first one leaves.
func TestFrontendMaxconn(t *testing.T) {
	checkOneSlot(t, "", "    maxconn 1\n")
}

// TestGlobalMaxconn: the same with the global maxconn (the listener is
// taken out of its event loop until the slot frees).
func TestGlobalMaxconn(t *testing.T) {
	checkOneSlot(t, "global\n    maxconn 1\n", "")
}

// checkOneSlot runs two clients through a config allowing one connection
// (global and frontend settings given): the second waits for the first.
func checkOneSlot(t *testing.T, global, feLimit string) {
	be := serveEach(t, func(c net.Conn) {
		go func() {
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					break
				}
				c.Write([]byte(l))
			}
			c.Close()
		}()
	})
	fp := freePort(t)
	cfg := fmt.Sprintf("%sdefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\nfrontend f\n    bind 127.0.0.1:%d\n%s    default_backend b\n\nbackend b\n    server s1 127.0.0.1:%d\n", global, fp, feLimit, be)
	startRuntime(t, cfg)
	first, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	first.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(first, "one")
	bufio.NewReader(first).ReadString('\n')
	second, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	defer second.Close()
	fmt.Fprintln(second, "two")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := second.Read(make([]byte, 4)); err == nil {
		t.Fatalf("second client served while the first holds the only slot")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(second).ReadString('\n'); l != "two\n" {
		t.Errorf("second client not served after the slot freed: %q %v", l, err)
	}
}

// TestAcceptProxy: a bind with accept-proxy takes the client address from
// the PROXY header, and send-proxy passes it on.
func TestAcceptProxy(t *testing.T) {
	ln := listenLocal(t)
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		got <- l
		c.Close()
	}()
	fp := freePort(t)
	cfg := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nlisten l\n    bind 127.0.0.1:%d accept-proxy\n    server s1 127.0.0.1:%d send-proxy\n", fp, port(ln.Addr()))
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PROXY TCP4 192.0.2.10 192.0.2.20 5555 443\r\n"))
	select {
	case l := <-got:
		if l != "PROXY TCP4 192.0.2.10 192.0.2.20 5555 443\r\n" {
			t.Errorf("server got %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the server")
	}
}

// TestAbortOnClose: with option abortonclose a queued client that leaves
// gives its place up at once, and the next client gets the slot.
func TestAbortOnClose(t *testing.T) {
	ln := listenLocal(t)
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    option abortonclose\n    timeout queue 30s\n    server s1 127.0.0.1:%d maxconn 1\n", port(ln.Addr())), ""))
	first, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	defer first.Close()
	<-accepted
	second, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	sv := r.backends["l"].servers[0]
	waitFor(t, func() bool { return sv.limit.queued() == 1 }, "second client queued")
	second.Close()
	waitFor(t, func() bool { return sv.limit.queued() == 0 }, "aborted client to leave the queue")
	first.Close()
	third, _ := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	defer third.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("slot not handed to the next client")
	}
}

// TestDynamicMaxconn: with minconn and fullconn a server's limit grows with
// the backend's load, from minconn up to maxconn.
func TestDynamicMaxconn(t *testing.T) {
	l := srvLimit{maxconn: 100, minconn: 10}
	for _, c := range []struct{ load, want int }{{0, 10}, {50, 10}, {500, 50}, {1000, 100}, {5000, 100}} {
		if got := l.limit(c.load, 1000); got != c.want {
			t.Errorf("load %d: limit %d, want %d", c.load, got, c.want)
		}
	}
	if (&srvLimit{maxconn: 7}).limit(999, 1000) != 7 {
		t.Errorf("without minconn the limit is maxconn")
	}
}

// TestTransparentAndInterfaceBinds: `transparent` binds an address no
// interface carries (a backup node's VIP); without it the bind fails.
// `interface lo` pins a listener to lo. No traffic is sent to the VIP.
func TestTransparentAndInterfaceBinds(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("IP_TRANSPARENT needs root (CAP_NET_ADMIN)")
	}
	vip := "192.0.2.199"
	p := freePort(t)
	lns, err := listen(&parser.Bind{Addr: parser.Addr{Raw: vip, Family: "ipv4", Host: vip, Port: p, PortEnd: p},
		Options: map[string][]string{"transparent": nil, "backlog": {"64"}}}, false, nil)
	if err != nil {
		t.Fatalf("transparent bind on %s: %v", vip, err)
	}
	lns[0].Close()
	if _, err := listen(&parser.Bind{Addr: parser.Addr{Raw: vip, Family: "ipv4", Host: vip, Port: p, PortEnd: p}, Options: map[string][]string{}}, false, nil); err == nil {
		t.Errorf("a plain bind on a non-local address should fail")
	}
	lo, err := listen(&parser.Bind{Addr: parser.Addr{Raw: "127.0.0.1", Family: "ipv4", Host: "127.0.0.1", Port: p, PortEnd: p}, Options: map[string][]string{"interface": {"lo"}}}, false, nil)
	if err != nil {
		t.Fatalf("interface lo: %v", err)
	}
	lo[0].Close()
}

// TestClientFinTimeout: once the server has closed its side, a client that
// stays silent is dropped after `timeout client-fin`, well before the (long)
// `timeout client`: the server sees its connection end.
func TestClientFinTimeout(t *testing.T) { checkClientFin(t, 0) }

// checkClientFin runs the client-fin case with a server that half-closes
// after wait (a late half-close must bring the deadline forward).
func checkClientFin(t *testing.T, wait time.Duration) {
	ln := listenLocal(t)
	ended := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		time.Sleep(wait)
		c.Write([]byte("bye\n"))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		ended <- struct{}{}
		c.Close()
	}()
	fp := freePort(t)
	cfg := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 60s\n    timeout client-fin 200ms\n    timeout server 60s\n\nlisten l\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", fp, port(ln.Addr()))
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(c); string(b) != "bye\n" || err != nil {
		t.Fatalf("read %q %v", b, err)
	}
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("silent half-closed client kept long after timeout client-fin")
	}
}

// TestRetryTurnAround: as haproxy, a failed connect is retried only after
// min(timeout connect, 1s): with `retries 2` and a refusing server the
// client is closed after about 2s, never at once.
func TestRetryTurnAround(t *testing.T) {
	dead := deadPort(t)
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    retries 2\n    server dead 127.0.0.1:%d\n", dead), ""))
	start := time.Now()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	io.ReadAll(c)
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Errorf("closed after %v: the two retries did not wait (haproxy: 2s)", took)
	}
}
