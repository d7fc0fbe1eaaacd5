package proxy

import (
	"net"
	"syscall"
)

// Sending with send(2). net.Conn's Write is write(2), which reaches the
// socket through the file layer (position lock, permission and notify
// hooks) and tells the scheduler it may block; haproxy sends with
// send(2). The http paths write small heads and bodies to plain sockets
// many times a second: peeker.send makes the same non-blocking send(2)
// through the descriptor's raw connection, which keeps Go's locking,
// deadlines and waiting for writability when the socket buffer is full.

// send writes all of b to p's socket; it returns what was sent and, if
// not all, why.
func (p *peeker) send(b []byte) (int, error) {
	p.out, p.sent, p.serr = b, 0, nil
	// first without the write lock and the poller reset a wait needs:
	// there is nearly always room for a head or a small body
	err := p.rc.Control(p.sendCtl)
	if err == nil && p.serr == nil && p.sent < len(b) {
		err = p.rc.Write(p.sendFn)
	}
	n := p.sent
	p.out = nil
	if p.serr != nil {
		return n, p.serr
	}
	return n, err
}

// sendNow is sendOnce under Control, where a full buffer just ends the
// try.
func (p *peeker) sendNow(fd uintptr) { p.sendOnce(fd) }

// sendOnce sends what is left; false asks the raw connection to wait
// until the socket is writable and call again.
func (p *peeker) sendOnce(fd uintptr) bool {
	for p.sent < len(p.out) {
		m, err := rawSend(int(fd), p.out[p.sent:])
		if err == syscall.EAGAIN {
			return false
		}
		if err != nil {
			p.serr = &net.OpError{Op: "write", Net: "tcp", Err: err}
			return true
		}
		p.sent += m
	}
	return true
}
