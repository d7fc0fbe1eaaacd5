package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestIdleSessionsHoldNoGoroutine: established sessions live in the event
// loops, so holding 300 idle proxied connections adds no goroutine per
// session (the goroutine-per-direction design added two).
func TestIdleSessionsHoldNoGoroutine(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(be.Addr())), ""))
	const n = 300
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// one round trip on each: the session is established end to end
	for _, c := range conns {
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sessions) == n }, "sessions to be tracked")
	// the echo server itself runs one goroutine per connection
	if g := runtime.NumGoroutine(); g > n+100 {
		t.Errorf("%d goroutines for %d idle sessions: the proxy holds goroutines per session", g, n)
	}
	tunnels := 0
	for _, l := range r.loops {
		l.mu.Lock()
		tunnels += len(l.tunnels) / 2
		l.mu.Unlock()
	}
	if tunnels != n {
		t.Errorf("%d tunnels in the loops, want %d", tunnels, n)
	}
}

// TestSlowReaderGetsEveryByte: a client that reads slowly makes the server
// side outrun it; back-pressure must keep every byte, in order.
func TestSlowReaderGetsEveryByte(t *testing.T) {
	data := make([]byte, 8<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	ln := listenLocal(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		// small writes and big ones, so both the copy and the splice paths run
		c.Write(data[:100])
		c.Write(data[100:])
		c.Close()
	}()
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(ln.Addr())), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 3000)
	for i := 0; ; i++ {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if got.Len() != len(data) || sha256.Sum256(got.Bytes()) != want {
		t.Fatalf("got %d bytes (want %d), same content: %v", got.Len(), len(data), sha256.Sum256(got.Bytes()) == want)
	}
	st := r.Stats()
	t.Logf("splice %d bytes, copy %d bytes", st.SpliceBytes.Load(), st.CopyBytes.Load())
	if st.CopyBytes.Load() == 0 || st.SpliceBytes.Load() == 0 {
		t.Errorf("expected both paths to carry bytes")
	}
}

// TestStopEndsLoopSessions: Stop closes sessions the loops hold, and the
// clients see their connection end.
func TestStopEndsLoopSessions(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(be.Addr())), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hi"))
	b := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if _, err := c.Read(b); err == nil {
		t.Fatal("session still open after Stop")
	}
}

// TestTunnelDeadline checks the timeout arithmetic on a fixed clock: each
// side times out after its own idle time, the -fin times take over once a
// direction has been shut, and a side without a timeout never expires.
func TestTunnelDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tn := &tunnel{}
	tn.to[0] = halfTimeouts{idle: 30 * time.Second, fin: time.Second}
	tn.to[1] = halfTimeouts{idle: 10 * time.Second}
	tn.last = [2]time.Time{t0, t0.Add(5 * time.Second)}
	if due, ok := tn.deadline(); !ok || !due.Equal(t0.Add(15*time.Second)) {
		t.Errorf("both open: due %v %v, want server side at +15s", due, ok)
	}
	tn.last[1] = t0.Add(25 * time.Second)
	if due, _ := tn.deadline(); !due.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("server active: due %v, want client side at +30s", due)
	}
	tn.half[1].shut = true // the server finished: the client is on client-fin
	if due, _ := tn.deadline(); !due.Equal(t0.Add(time.Second)) {
		t.Errorf("half-closed: due %v, want client-fin at +1s", due)
	}
	none := &tunnel{}
	if _, ok := none.deadline(); ok {
		t.Error("a tunnel without timeouts has a deadline")
	}
}

// TestFinTimeoutAfterLateHalfClose: the server half-closes only after the
// session is established and has been idle a while, so the loop first
// schedules the long `timeout client`; the half-close must bring the
// `timeout client-fin` deadline forward.
func TestFinTimeoutAfterLateHalfClose(t *testing.T) { checkClientFin(t, 300*time.Millisecond) }

// TestMarkedDownShutsLoopSessions: `on-marked-down shutdown-sessions`
// ends the sessions an event loop holds for the server that went down.
func TestMarkedDownShutsLoopSessions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // keep it open, say nothing
		}
	}()
	defer func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 %s check inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions\n", ln.Addr()), ""))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for s := range r.sessions {
			if s.kill != nil {
				return true
			}
		}
		return false
	}, "the session to reach a loop")
	ln.Close() // checks now fail: the server is marked down
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	if _, err := c.Read(b); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("session still open after its server was marked down: %v", err)
	}
}

// TestEndedTunnelsLeaveTheHeap: a session that ends long before its
// timeout must not stay in its loop's timer heap until then (at thousands
// of short connections a second and a 10 s timeout, that held every
// session of the last 10 s in memory).
func TestEndedTunnelsLeaveTheHeap(t *testing.T) {
	be := echoServer(t)
	fp := freePort(t)
	r := startRuntime(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", port(be.Addr())), ""))
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sessions) == 0 }, "sessions to end")
	for _, l := range r.loops {
		// the loop is idle: nothing else touches its heap now
		if n := len(l.timers); n != 0 {
			t.Errorf("%d ended tunnels still in a loop's timer heap", n)
		}
	}
}

// TestShortWait: a loop that has just handled events takes the next ones
// from its own epoll (already pending, or coming within shortWaitFor)
// instead of parking; it does not wait outside a turn or past the turn's
// budget.
func TestShortWait(t *testing.T) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(epfd)
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		t.Fatal(err)
	}
	l := &evLoop{epfd: epfd, events: make([]unix.EpollEvent, 8)}
	signal := func() { unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) }
	var none time.Time
	signal()
	if n := l.shortWait(none); n != 0 {
		t.Fatalf("outside a turn: %d events taken, want none (park)", n)
	}
	old := time.Now().Add(-2 * shortWaitBudget)
	if n := l.shortWait(old); n != 0 {
		t.Fatalf("past the budget: %d events taken, want none", n)
	}
	now := time.Now()
	if n := l.shortWait(now); n != 1 || l.events[0].Fd != int32(efd) {
		t.Fatalf("pending event in a turn: %d taken, want the eventfd's", n)
	}
	// nothing pending: the wait ends empty
	now = time.Now()
	if n := l.shortWait(now); n != 0 {
		t.Fatalf("nothing pending: %d events", n)
	}
	// one processor shared with goroutines serving connections: no wait
	var others atomic.Int64
	others.Store(1)
	l.others, l.shareP = &others, true
	signal()
	now = time.Now()
	if n := l.shortWait(now); n != 0 {
		t.Fatalf("goroutines waiting for the processor: %d events taken, want none (park)", n)
	}
	others.Store(0)
	if n := l.shortWait(now); n != 1 {
		t.Fatalf("no goroutine serving: %d events taken, want the pending one", n)
	}
}
