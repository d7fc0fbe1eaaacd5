package proxy

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tarpit holds a request an http-request tarpit rule denied for the
// frontend's `timeout tarpit` (its `timeout connect` when unset) before
// the answer goes; the time is the log's Tw.
func (h *hconn) tarpit() {
	d := h.fe.px.Timeouts.Tarpit
	if d == 0 {
		d = h.fe.px.Timeouts.Connect
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-h.r.quit: // stopping
	}
	h.ob.tw = time.Since(start)
}

// silentDrop makes the coming close send nothing to the client
// (http-request silent-drop): the socket is put in TCP repair mode, which
// needs CAP_NET_ADMIN, else its packets get a TTL of 1 and it is reset,
// so that the reset dies before reaching a client beyond one hop.
func (h *hconn) silentDrop() {
	h.clientEOF = true // no lingering close: nothing more is read
	var c syscall.Conn
	switch x := h.c.(type) {
	case *countConn:
		c, _ = x.halfCloser.(syscall.Conn)
	case syscall.Conn:
		c = x
	}
	if c == nil {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) == nil {
			return
		}
		if h.ci.src.Addr().Unmap().Is4() {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 1)
		} else {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1)
		}
		unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	})
}
