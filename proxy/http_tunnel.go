package proxy

// This file holds tunnels after an Upgrade, idle waits and closing (http mode).

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// tunnel forwards raw bytes both ways after a 101 Switching Protocols.
func (h *hconn) tunnel() {
	if h.n > 0 { // bytes the client sent after its request, before the 101
		h.sc.Write(h.buf[:h.n])
	}
	h.n = 0
	if h.sn > 0 {
		h.c.Write(h.sbuf[:h.sn])
		h.sn = 0
	}
	h.c.SetDeadline(time.Time{})
	h.sc.SetDeadline(time.Time{})
	idle := h.be.px.Timeouts.Tunnel
	if h.q.tunTimeout > 0 { // http-request set-timeout tunnel
		idle = h.q.tunTimeout
	}
	if idle == 0 {
		idle = max(h.fe.px.Timeouts.Client, h.be.px.Timeouts.Server)
	}
	to := halfTimeouts{idle: idle}
	st, ok := h.sc.(*releasingConn)
	inner := h.c
	if cc, ok := inner.(*countConn); ok { // the counting wrapper cannot splice
		inner = cc.halfCloser
	}
	cs, plain := inner.(sockConn)
	if !ok || !plain { // TLS on a side: no splice
		if sh, ok := h.sc.(halfCloser); ok {
			streamPump(inner, sh, [2]halfTimeouts{to, to}, func(int64, int64, error, bool) {})
		}
		return
	}
	upDone, downDone := make(chan struct{}), make(chan struct{})
	go func() {
		_, err := forwardHalf(cs, st.TCPConn, h.r.pipes, to, downDone)
		if err != nil {
			h.c.Close()
			st.Close()
		}
		close(upDone)
	}()
	_, err := forwardHalf(st.TCPConn, cs, h.r.pipes, to, upDone)
	if err != nil {
		h.c.Close()
		st.Close()
	}
	close(downDone)
	<-upDone
}

// lingerClose half-closes a client connection and drops what it still
// sends for a moment, so that an error page is not lost to a reset.
func lingerClose(c halfCloser) {
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	junk := bufPool.Get() // off the collected heap, as the connection's own buffers
	defer bufPool.Put(junk)
	for i := 0; i < 64; i++ {
		if _, err := c.Read(*junk); err != nil {
			return
		}
	}
}

// peeker looks at a socket without reading from it; made once per
// connection, it allocates nothing per call.
type peeker struct {
	rc    syscall.RawConn
	errno syscall.Errno
	one   [1]byte
	fn    func(fd uintptr) bool
	// for waitThen (pollwait.go): the runtime poller's handle (0: none),
	// waitLoop as a value made once, the read it calls and its error
	ctx    uintptr
	mark   *atomic.Uintptr // the poller's read readiness of it (readMarked)
	waitFn func(fd uintptr)
	then   func(fd uintptr) bool
	werr   error
	// for send (rawsend.go): what is left to send, its error, sendOnce
	// as a value made once
	out     []byte
	sent    int
	serr    error
	sendFn  func(fd uintptr) bool
	sendCtl func(fd uintptr)
}

func newPeeker(c interface {
	SyscallConn() (syscall.RawConn, error)
}) *peeker {
	p := &peeker{}
	p.rc, _ = c.SyscallConn()
	p.fn = p.peek
	p.sendFn, p.sendCtl = p.sendOnce, p.sendNow
	if p.ctx, p.mark = pollHandle(c, p.rc); p.ctx != 0 {
		p.waitFn = p.waitLoop
	}
	return p
}

func (p *peeker) peek(fd uintptr) bool {
	_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.one[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	p.errno = e
	return true // a look, never a wait
}

// idleLooks counts idleOpen's system calls.
var idleLooks atomic.Int64

// idleOpen reports whether an idle connection has neither data nor an end
// pending (a server connection that may be used again).
func (p *peeker) idleOpen() bool {
	if p.rc == nil {
		return false
	}
	idleLooks.Add(1)
	if p.rc.Read(p.fn) != nil {
		return false
	}
	return p.errno == syscall.EAGAIN
}

// closeIdleHTTP ends the http connections that wait for a next request, as
// haproxy does on a soft stop; busy ones end after their response.
func (r *Runtime) closeIdleHTTP() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.sessions {
		if s.httpIdle != nil && s.httpIdle.Load() {
			s.client.Close()
		}
	}
}
