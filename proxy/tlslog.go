package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// logHandshake logs a client's failed TLS handshake as haproxy logs a
// connection that ended before it could become a stream: client address,
// accept date, frontend/listener and what went wrong; with option
// dontlognull, not when the client sent nothing.
func (r *Runtime) logHandshake(s *session, lname string, c net.Conn, err error) {
	ls, fe := r.obs.logs, s.info.fe
	if ls == nil || ls.byProxy[fe.px] == nil {
		return
	}
	msg := "SSL handshake failure" // a protocol error, an alert, a reset
	got := bytesReceived(c)
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		msg = "Timeout during SSL handshake"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		msg = "Connection closed during SSL handshake"
		got-- // the kernel counts the FIN as a byte
	}
	if fe.px.OptionOn("dontlognull") && got == 0 {
		return
	}
	src := s.info.ci.src
	if !src.IsValid() {
		src = addrPort(c.RemoteAddr())
	}
	ls.emit(fe.px, levelInfo, time.Now(), fmt.Sprintf("%s:%d [%s] %s/%s: %s", src.Addr(), src.Port(),
		s.info.start.Format("02/Jan/2006:15:04:05.000"), fe.px.Name, lname, msg))
}

// bytesReceived is what the kernel received on c's socket (TCP_INFO);
// -1 when unknown.
func bytesReceived(c net.Conn) int64 {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := int64(-1)
	rc.Control(func(fd uintptr) {
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = int64(ti.Bytes_received)
		}
	})
	return n
}
