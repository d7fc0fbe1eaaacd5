package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestWaitThenReadsOnce: waitThen calls its read only once the peer has
// written (no read that finds nothing first), sees a readiness that came
// before the wait, and ends on a deadline and on a close.
func TestWaitThenReadsOnce(t *testing.T) {
	c, s := tcpPair(t)
	p := newPeeker(c)
	if p.ctx == 0 {
		t.Fatal("no poller handle for a *net.TCPConn: the layout pollHandle expects has changed")
	}
	buf := make([]byte, 64)
	calls, got := 0, 0
	fn := func(fd uintptr) bool {
		calls++
		m, err := rawRead(int(fd), buf)
		if err == syscall.EAGAIN {
			return false
		}
		got = m
		return true
	}
	go func() { time.Sleep(50 * time.Millisecond); s.Write([]byte("late")) }()
	if err := p.waitThen(fn); err != nil || calls != 1 || string(buf[:got]) != "late" {
		t.Fatalf("late write: err %v, %d reads, got %q; want one read of \"late\"", err, calls, buf[:got])
	}
	// bytes already there: the readiness reported before the wait counts
	s.Write([]byte("early"))
	time.Sleep(20 * time.Millisecond)
	calls = 0
	if err := p.waitThen(fn); err != nil || calls != 1 || string(buf[:got]) != "early" {
		t.Fatalf("early write: err %v, %d reads, got %q", err, calls, buf[:got])
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if err := p.waitThen(fn); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline: got %v", err)
	}
	c.SetReadDeadline(time.Time{})
	go func() { time.Sleep(30 * time.Millisecond); c.Close() }()
	if err := p.waitThen(fn); err == nil {
		t.Fatal("close: waitThen returned no error")
	}
}

// TestHTTPKeepAliveReadsPerRequest counts the read system calls of the
// process while a blocking client sends keep-alive requests through a
// proxying frontend to a blocking server: each of those reads once per
// request, and the proxy twice (the request, the response) as haproxy
// does, where a read tried before waiting would add two that find nothing.
func TestHTTPKeepAliveReadsPerRequest(t *testing.T) {
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fp := freePort(t)
	r := startRuntime(t, proxyingConfig(fp, srv.Addr().String(), "", ""))
	defer r.Stop()
	resp := []byte("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
	go func() {
		c, err := srv.Accept()
		if err != nil {
			return
		}
		fd := blockingFD(t, c)
		buf := make([]byte, 4096)
		for {
			if n, err := syscall.Read(fd, buf); err != nil || n == 0 {
				return
			}
			syscall.Write(fd, resp)
		}
	}()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fd := blockingFD(t, c)
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 4096)
	exchange := func() {
		syscall.Write(fd, req)
		n := 0
		for !bytes.HasSuffix(buf[:n], []byte("ok\n")) {
			m, err := syscall.Read(fd, buf[n:])
			if err != nil || m == 0 {
				t.Fatalf("read: %v", err)
			}
			n += m
		}
	}
	exchange() // the first request connects to the server
	const n = 200
	before, empty := readSyscalls(t), emptyReads.Load()
	for i := 0; i < n; i++ {
		exchange()
	}
	per := float64(readSyscalls(t)-before) / n
	// read(2) by the client and the server, 1 each; the proxy receives
	// with recvfrom(2), which /proc does not count, so its reads that
	// found nothing are counted by emptyReads
	if per > 2.25 {
		t.Fatalf("%.2f read(2) calls per request, want 2 (the proxy reading with read(2)?)", per)
	}
	wasted := float64(emptyReads.Load()-empty) / n
	if wasted > 0.1 {
		t.Fatalf("%.2f proxy reads per request found nothing, want none (reading before waiting?)", wasted)
	}
	t.Logf("%.2f read(2) calls (client, server) and %.2f empty proxy reads per keep-alive request", per, wasted)
	// a client that pauses longer than trustIdle: the server connection
	// has had nothing from its server, the poller says so, no look needed
	looks := idleLooks.Load()
	for i := 0; i < 3; i++ {
		time.Sleep(trustIdle + 20*time.Millisecond)
		exchange()
	}
	if d := idleLooks.Load() - looks; d != 0 {
		t.Fatalf("%d looks at the idle server connection after pauses, want none (the poller reported nothing)", d)
	}
}

// blockingFD returns a blocking duplicate of c's descriptor.
func blockingFD(t *testing.T, c net.Conn) int {
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fd := int(f.Fd()) // Fd puts it in blocking mode
	return fd
}

// readSyscalls is syscr of /proc/self/io: the read system calls so far.
func readSyscalls(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscr: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatal("no syscr in /proc/self/io")
	return 0
}

// TestReadMarked: the poller's read mark of a socket appears once the
// peer writes or closes, and a wait takes it; a layout pollHandle does not
// recognise leaves no mark to read (readMarked then always answers true).
func TestReadMarked(t *testing.T) {
	c, s := tcpPair(t)
	p := newPeeker(c)
	if p.mark == nil {
		t.Fatalf("no read mark on %s: the runtime's pollDesc layout (pdFD, pdRG) has changed", runtime.Version())
	}
	settle := func() { time.Sleep(20 * time.Millisecond) } // the poller runs while this goroutine sleeps
	settle()
	if p.readMarked() {
		t.Fatal("marked before the peer wrote")
	}
	s.Write([]byte("x"))
	settle()
	if !p.readMarked() {
		t.Fatal("not marked after the peer wrote")
	}
	buf := make([]byte, 8)
	if err := p.waitThen(func(fd uintptr) bool { _, err := rawRead(int(fd), buf); return err != syscall.EAGAIN }); err != nil {
		t.Fatal(err)
	}
	if p.readMarked() {
		t.Fatal("still marked after a wait and a read")
	}
	s.Close()
	settle()
	if !p.readMarked() {
		t.Fatal("not marked after the peer closed")
	}
	if (&peeker{}).readMarked() != true || (*peeker)(nil).readMarked() != true {
		t.Fatal("a peeker without a mark must answer true (look with a system call)")
	}
}
