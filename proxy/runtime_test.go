package proxy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/testport"
	"golang.org/x/sys/unix"
)

// startRuntimeLogf is startRuntime with the runtime's messages to logf.
func startRuntimeLogf(t *testing.T, cfgText string, logf func(string, ...any)) *Runtime {
	t.Helper()
	cfg, ds := parser.LoadHAProxyBytes("t.cfg", []byte(cfgText), parser.Options{Offline: true})
	if ds.HasErrors() {
		t.Fatalf("config: %s", ds)
	}
	r, err := New(cfg, Options{Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// startRuntime loads a haproxy config text and runs it; stopped in cleanup.
func startRuntime(t *testing.T, cfgText string) *Runtime {
	t.Helper()
	return startRuntimeLogf(t, cfgText, t.Logf)
}

// serveEach is a loopback server that gives every connection to handle
// (in the accept loop: a handler that takes long starts a goroutine); it
// returns the port.
func serveEach(t testing.TB, handle func(c net.Conn)) int {
	ln := listenLocal(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
	return port(ln.Addr())
}

func listenLocal(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func port(a net.Addr) int { return a.(*net.TCPAddr).Port }

// echoServer echoes everything and half-closes when the client does.
func echoServer(t *testing.T) net.Listener {
	ln := listenLocal(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// a plain loop: io.Copy between sockets would splice through
				// Go's own cached pipes and blur the descriptor count
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						break
					}
				}
				c.(*net.TCPConn).CloseWrite()
				c.Close()
			}()
		}
	}()
	return ln
}

func tcpConfig(front int, servers string, extra string) string {
	return fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n%s\nlisten l\n    bind 127.0.0.1:%d\n%s", extra, front, servers)
}

// deadPort is a loopback port that refuses connections for the whole
// test: a socket is bound there but does not listen, so no later
// freePort (a frontend of the test, say) can be given the same number.
func deadPort(t *testing.T) int {
	_, p := boundSocket(t)
	return p
}

// boundSocket is a tcp socket bound to a loopback port for the test's
// duration, and its port.
func boundSocket(t *testing.T) (fd, port int) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// freePort is a free port below the ephemeral range, never given twice
// (testport).
func freePort(t *testing.T) int { return testport.Free(t) }

func TestForwardEchoAndHalfClose(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(be.Addr())), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("hello through gohaka\n")
	c.Write(msg)
	c.(*net.TCPConn).CloseWrite() // client half-close must reach the server
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %q %v", got, err)
	}
}

// TestServerHalfClose: the server finishes first; the client can still
// send, and the server's data arrives followed by EOF.
func TestServerHalfClose(t *testing.T) {
	ln := listenLocal(t)
	gotFromClient := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("banner\n"))
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		gotFromClient <- string(b)
		c.Close()
	}()
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(ln.Addr())), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if line != "banner\n" {
		t.Fatalf("banner %q %v", line, err)
	}
	c.Write([]byte("after server fin"))
	c.(*net.TCPConn).CloseWrite()
	select {
	case s := <-gotFromClient:
		if s != "after server fin" {
			t.Errorf("server got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client data after the server's FIN never arrived")
	}
}

// TestBulkTakesSplicePath proves, with the engine's own counters, that bulk
// data moves through splice(2) and small messages through the buffer.
func TestBulkTakesSplicePath(t *testing.T) {
	const size = 64 << 20
	ln := listenLocal(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 1<<20)
		rand.Read(buf)
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				break
			}
		}
		c.Close()
	}()
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(ln.Addr())), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	n, err := io.Copy(io.Discard, c)
	c.Close()
	if n != size {
		t.Fatalf("received %d bytes, want %d (%v)", n, size, err)
	}
	st := r.Stats()
	t.Logf("splice %d bytes, copy %d bytes, pipes made %d", st.SpliceBytes.Load(), st.CopyBytes.Load(), st.PipesMade.Load())
	if st.SpliceBytes.Load() < size*9/10 {
		t.Errorf("only %d of %d bytes went through splice", st.SpliceBytes.Load(), size)
	}
	waitFor(t, func() bool { return st.PipesInUse.Load() == 0 }, "pipes returned to the pool")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("timed out waiting for: %s", what)
}

func fdCount() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// TestNoFDLeak runs many short sessions and checks the process gives back
// every descriptor.
func TestNoFDLeak(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(be.Addr())), ""))
	before := fdCount()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
			if err != nil {
				return
			}
			c.Write(bytes.Repeat([]byte("x"), 40000))
			c.(*net.TCPConn).CloseWrite()
			buf := make([]byte, 32<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { r.mu.Lock(); n := len(r.sessions); r.mu.Unlock(); return n == 0 }, "sessions to end")
	waitFor(t, func() bool { return fdCount() <= before+len(r.pipes.idle)*2 }, "descriptors back")
	if fdCount() > before+len(r.pipes.idle)*2 {
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			t.Log(e.Name(), l)
		}
		t.Logf("before %d now %d idle pipes %d made %d", before, fdCount(), len(r.pipes.idle), r.pipes.stats.PipesMade.Load())
	}
}

// TestSourceBalancingEndToEnd: clients from different loopback addresses
// land on the server the balance package picks for them.
func TestSourceBalancingEndToEnd(t *testing.T) {
	var servers strings.Builder
	names := map[int]string{}
	for i := 0; i < 3; i++ {
		ln := listenLocal(t)
		name := fmt.Sprintf("s%d", i+1)
		names[port(ln.Addr())] = name
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintln(c, name)
				c.Close()
			}
		}()
		fmt.Fprintf(&servers, "    server %s 127.0.0.1:%d weight %d\n", name, port(ln.Addr()), i+1)
	}
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, "    balance source\n"+servers.String(), ""))
	be := r.backends["l"]
	for i := 1; i < 40; i++ {
		src := netip.AddrFrom4([4]byte{127, 0, byte(i), byte(i * 7)})
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		want := be.servers[be.bal.PickSource(src)].srv.Name
		if strings.TrimSpace(line) != want {
			t.Errorf("client %s got %q, want %s", src, line, want)
		}
	}
}

// TestQueueTimeout: a server at maxconn queues the next client; after
// `timeout queue` the queued client is closed.
func TestQueueTimeout(t *testing.T) {
	ln := listenLocal(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    timeout queue 300ms\n    server s1 127.0.0.1:%d maxconn 1\n", port(ln.Addr())), ""))
	first, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	time.Sleep(100 * time.Millisecond)
	second, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = second.Read(make([]byte, 1))
	if err != io.EOF {
		t.Errorf("queued client should be closed after timeout queue, got %v", err)
	}
}

func TestRejectRuleAndRouting(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	cfg := tcpConfig(fp, fmt.Sprintf("    acl blocked src 127.0.0.66\n    tcp-request connection reject if blocked\n    server s1 127.0.0.1:%d\n", port(be.Addr())), "")
	startRuntime(t, cfg)
	try := func(src string) error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte("ping"))
		b := make([]byte, 4)
		_, err = io.ReadFull(c, b)
		return err
	}
	if err := try("127.0.0.5"); err != nil {
		t.Errorf("allowed client: %v", err)
	}
	if err := try("127.0.0.66"); err == nil {
		t.Errorf("rejected client got an answer")
	}
}

func TestSendProxyHeader(t *testing.T) {
	ln := listenLocal(t)
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 200)
		n, _ := c.Read(b)
		got <- b[:n]
		c.Close()
	}()
	fp := freePort(t)
	startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d send-proxy\n", port(ln.Addr())), ""))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := fmt.Sprintf("PROXY TCP4 127.0.0.9 127.0.0.1 %d %d\r\n", port(c.LocalAddr()), fp)
	select {
	case b := <-got:
		if string(b) != want {
			t.Errorf("header %q, want %q", b, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no header")
	}
}

func TestProxyHeaderRoundTrip(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		for _, pair := range [][2]string{{"192.0.2.1:1234", "192.0.2.2:80"}, {"[2001:db8::1]:5", "[2001:db8::2]:443"}} {
			src, dst := netip.MustParseAddrPort(pair[0]), netip.MustParseAddrPort(pair[1])
			a, b := net.Pipe()
			go func() { a.Write(append(proxyHeader(v2, src, dst), "rest"...)); a.Close() }()
			pp, err := readProxyInfo(b, time.Second)
			rest, _ := io.ReadAll(b)
			if err != nil || pp.src != src || pp.dst != dst || string(rest) != "rest" {
				t.Errorf("v2=%v %v: got %v %v %v rest %q", v2, pair, pp.src, pp.dst, err, rest)
			}
		}
	}
	a, b := net.Pipe()
	go func() { a.Write([]byte("GARBAGE-NOT-PROXY-HEADER")); a.Close() }()
	if _, err := readProxyInfo(b, time.Second); err == nil {
		t.Errorf("garbage accepted as a PROXY header")
	}
}
