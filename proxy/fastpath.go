package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The plain tcp path: a listener without TLS or PROXY protocol accepts
// with accept4(2) on its raw descriptor and connects to the server with a
// non-blocking connect(2) that the event loop completes. The connection
// never becomes a Go net.Conn, so the netpoller registration, the
// descriptor duplication and the goroutine hand-offs of the general path
// are saved. Whatever this path does not handle (a server queue, TLS to a
// server, a `source` address, a failed first attempt) is handed to the
// general path, which carries on from where this one stopped.

// rawListener returns, for a listener of fe that can use the plain tcp
// path, a duplicate of its socket for an event loop to accept on; -1 if
// the general path serves it.
func rawListener(fe *frontend, ln net.Listener, tc *tls.Config) int {
	if tc != nil || fe.http != nil || fe.inspect {
		return -1
	}
	if _, ok := fe.px.Binds[0].Options["accept-proxy"]; ok {
		return -1
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return -1
	}
	var fd int
	var derr error
	rc, err := tl.SyscallConn()
	if err != nil {
		return -1
	}
	if err := rc.Control(func(lfd uintptr) { fd, derr = unix.FcntlInt(lfd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || derr != nil {
		return -1
	}
	return fd // non-blocking, as Go made the listener
}

// fastConnect tells whether connections to be can be made by the loop:
// no `source` address to bind first.
func (be *backend) fastConnect() bool {
	if be.http != nil || be.px.Source != "" {
		return false
	}
	for _, sv := range be.servers {
		if sv.srv.Source != "" {
			return false
		}
	}
	return true
}

// rawLn is a listener of the plain tcp path: an event loop accepts on
// it when it is readable, so a connection costs no goroutine wake-up.
// Full maxconn gates pause it (out of the loop's epoll) until a slot is
// free, as haproxy stops polling a full listener.
type rawLn struct {
	mu        sync.Mutex // held around accept(2) and close: the descriptor stays valid
	fd        int
	fe        *frontend
	l         *evLoop
	local     netip.AddrPort
	wildcard  bool
	keepAlive bool
	closed    bool
	paused    bool
}

// startRaw hands a plain-path listener to an event loop.
func (r *Runtime) startRaw(fe *frontend, fd int, addr net.Addr, l *evLoop) (*rawLn, error) {
	ln := &rawLn{fd: fd, fe: fe, l: l, local: addrPort(addr), keepAlive: fe.px.OptionOn("clitcpka") || fe.px.OptionOn("tcpka")}
	ln.wildcard = ln.local.Addr().IsUnspecified()
	if err := l.addListener(fd, func() { r.acceptBatch(ln) }); err != nil {
		return nil, err
	}
	return ln, nil
}

// close stops accepting and closes the descriptor.
func (ln *rawLn) close() {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed {
		return
	}
	ln.closed = true
	ln.l.removeListener(ln.fd)
	rawClose(ln.fd)
}

// acceptBatch accepts until the listener is drained (it is registered
// edge-triggered) or a gate is full; it runs in the event loop.
func (r *Runtime) acceptBatch(ln *rawLn) {
	fe := ln.fe
	for {
		if !fe.slots.tryEnter() {
			r.pause(ln, fe.slots)
			return
		}
		if !r.global.tryEnter() {
			fe.slots.leave()
			r.pause(ln, r.global)
			return
		}
		ln.mu.Lock()
		if ln.closed || ln.paused {
			ln.mu.Unlock()
			r.release(fe)
			return
		}
		// counted before the accept, under the lock close takes: once
		// SoftStop has closed the listeners its wait covers every
		// connection accepted (counted after, one could be cut by
		// stopLoops before its session began)
		r.wg.Add(1)
		fd, src, err := rawAccept(ln.fd)
		ln.mu.Unlock()
		if err != nil {
			r.wg.Done()
			r.release(fe)
			switch err {
			case unix.EAGAIN:
				return
			case unix.ECONNABORTED, unix.EINTR:
				continue
			}
			r.opts.Logf("%s '%s': accept: %v", fe.px.Kind, fe.px.Name, err)
			r.pause(ln, nil) // out of descriptors, say: try again shortly
			return
		}
		rawSetInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if ln.keepAlive {
			rawSetInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		}
		dst := ln.local
		if ln.wildcard {
			dst = rawSockname(fd)
		}
		r.serveRaw(fe, fd, connInfo{src: src, dst: dst}, func() {
			r.release(fe)
			r.wg.Done()
		})
	}
}

// pause takes a listener out of its loop until gate g has a free slot
// (nil: for 10 ms).
func (r *Runtime) pause(ln *rawLn, g *gate) {
	ln.mu.Lock()
	if ln.closed || ln.paused {
		ln.mu.Unlock()
		return
	}
	ln.paused = true
	ln.l.pauseListener(ln.fd)
	ln.mu.Unlock()
	go func() {
		if g != nil {
			g.enter()
			g.leave()
		} else {
			time.Sleep(10 * time.Millisecond)
		}
		ln.mu.Lock()
		defer ln.mu.Unlock()
		if !ln.closed {
			ln.paused = false
			ln.l.resumeListener(ln.fd) // EPOLL_CTL_ADD reports what is pending
		}
	}()
}

// fdEnd is a connection of the plain path, for the session books: its
// descriptor belongs to an event loop. The net.Addr forms are only made
// when asked for (show sess, a log line).
type fdEnd struct {
	local, remote netip.AddrPort
}

func (e *fdEnd) LocalAddr() net.Addr  { return tcpAddr(e.local) }
func (e *fdEnd) RemoteAddr() net.Addr { return tcpAddr(e.remote) }
func (e *fdEnd) Close() error         { return nil }

// tcpAddr is a net.Addr for ap, nil when unknown.
func tcpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// serveRaw sets an accepted client descriptor up: rules, routing, the
// server pick, and a connect the event loop completes. It never blocks.
func (r *Runtime) serveRaw(fe *frontend, fd int, ci connInfo, done func()) {
	s := r.openSession(fe, &fdEnd{local: ci.dst, remote: ci.src})
	var tracked [3]bool
	connOK := r.tcpPhase(fe, &ci, fe.connRules, &tracked)
	if !connOK { // haproxy resets what its connection rules reject
		unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	}
	if !connOK || !r.admit(fe, s, &ci, &tracked) {
		rawClose(fd)
		r.track(s, false)
		done()
		return
	}
	be := fe.route(ci)
	if be == nil {
		r.endSession(s, fdCloser(fd), done)
		return
	}
	r.mu.Lock()
	s.info.be = be
	r.mu.Unlock()
	be.ctr.sessionStart(time.Now())
	if !be.fast {
		go r.forwardFD(s, fe, be, fd, ci, done, attemptsFrom{})
		return
	}
	idx, _ := r.pick(be, ci, 0, nil)
	if idx < 0 {
		s.info.connErr = true
		r.connErrf(be, "no server is available")
		r.endSession(s, fdCloser(fd), done)
		return
	}
	sv := be.servers[idx]
	r.noteAttempt(be, sv, 0, true)
	from := attemptsFrom{tried: []int{idx}, picked: true, pick: idx}
	addr, perr := netip.ParseAddrPort(sv.address())
	aok := perr == nil && addr.Addr().Zone() == ""
	now := time.Now()
	s.info.queueStart = now
	if !aok || sv.tls != nil || !sv.limit.tryAcquire(func() int { return int(be.sessions.Load()) }, be.fullconn) {
		// a queue to wait in, TLS, or a name: the general path
		go r.forwardFD(s, fe, be, fd, ci, done, from)
		return
	}
	s.info.connStart = now
	release := func() { be.mu.Lock(); be.bal.Release(idx); be.mu.Unlock() }
	sfd, err := rawConnect(addr, be.px.OptionOn("srvtcpka") || be.px.OptionOn("tcpka"))
	if err != nil {
		sv.limit.release()
		release()
		r.connectFailed(s, fe, be, sv, fd, ci, done, from, fmt.Errorf("server '%s' (%s): connect: %w", sv.srv.Name, addr, err))
		return
	}
	be.sessions.Add(1)
	end := r.endFor(s, be, sv, release, done)
	tn := &tunnel{end: end, connecting: true}
	tn.to = sessionTimeouts(fe, be)
	if d := be.px.Timeouts.Connect; d > 0 {
		tn.connDue = now.Add(d)
	}
	if sv.srv.SendProxy || sv.srv.SendProxyV2 {
		tn.half[0].pend = proxyHeader(sv.srv.SendProxyV2, ci.src, ci.dst)
	}
	srvEnd := &fdEnd{remote: addr}
	wantLocal := fe.logsBackendAddr()
	tn.onConnect = func(err error, at time.Time) {
		if err == nil {
			s.info.connected = at
			sv.st.ctr.sessionStart(at)
			if wantLocal {
				srvEnd.local = rawSockname(tn.fd[1])
			}
			return
		}
		// the loop gave the client descriptor back
		be.sessions.Add(-1)
		sv.limit.release()
		release()
		r.mu.Lock()
		s.server, s.srv, s.kill = nil, nil, nil
		r.mu.Unlock()
		go r.connectFailed(s, fe, be, sv, fd, ci, done, from, fmt.Errorf("server '%s' (%s): connect: %w", sv.srv.Name, addr, err))
	}
	tn.fd = [2]int{fd, sfd}
	l := r.loopFor(fd)
	r.mu.Lock()
	s.server, s.srv = srvEnd, sv
	s.kill = func() { l.kill(tn) }
	r.mu.Unlock()
	if err := l.add(tn); err != nil {
		rawClose(fd)
		rawClose(sfd)
		end(0, 0, err, false)
	}
}

// connectFailed books a failed first attempt of the plain path and hands
// the session to the general path for the retries.
func (r *Runtime) connectFailed(s *session, fe *frontend, be *backend, sv *server, fd int, ci connInfo, done func(), from attemptsFrom, err error) {
	c, cerr := fdConn(fd)
	if cerr != nil {
		s.info.connErr = true
		r.endSession(s, nil, done)
		return
	}
	r.mu.Lock()
	s.client = c
	r.mu.Unlock()
	if r.attemptFailed(be, sv, err, &s.info, c, from.attempt) {
		r.connErrf(be, "%v", err)
		r.endSession(s, c, done)
		return
	}
	r.forward(s, fe, be, c, ci, done, attemptsFrom{attempt: from.attempt + 1, tried: from.tried, lastErr: err})
}

// forwardFD hands a plain-path client to the general path.
func (r *Runtime) forwardFD(s *session, fe *frontend, be *backend, fd int, ci connInfo, done func(), from attemptsFrom) {
	c, err := fdConn(fd)
	if err != nil {
		if from.picked {
			be.mu.Lock()
			be.bal.Release(from.pick)
			be.mu.Unlock()
		}
		r.endSession(s, nil, done)
		return
	}
	r.mu.Lock()
	s.client = c
	r.mu.Unlock()
	r.forward(s, fe, be, c, ci, done, from)
}

// fdCloser closes a bare descriptor.
type fdCloser int

func (fd fdCloser) Close() error { return rawClose(int(fd)) }

// fdConn turns a descriptor into a net.Conn (which owns it from then on).
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "client")
	defer f.Close()
	return net.FileConn(f)
}

// sessionTimeouts are the per-side inactivity timeouts of a tcp session:
// timeout client/client-fin and server/server-fin, or timeout tunnel.
func sessionTimeouts(fe *frontend, be *backend) [2]halfTimeouts {
	t, bt := fe.px.Timeouts, be.px.Timeouts
	to := [2]halfTimeouts{{idle: t.Client, fin: t.ClientFin}, {idle: bt.Server, fin: bt.ServerFin}}
	if bt.Tunnel > 0 {
		to[0].idle, to[1].idle = bt.Tunnel, bt.Tunnel
	}
	return to
}

// logsBackendAddr tells whether fe's session log line shows the local
// address of server connections (%bi, %bp).
func (fe *frontend) logsBackendAddr() bool {
	f := sessionFormat(fe.px)
	return strings.Contains(f, "%bi") || strings.Contains(f, "%bp")
}

// rawAccept accepts one connection, non-blocking, close-on-exec.
func rawAccept(lfd int) (int, netip.AddrPort, error) {
	var sa unix.RawSockaddrAny
	n := uint32(unsafe.Sizeof(sa))
	fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, errnoErr(e)
	}
	return int(fd), fromSockaddr(&sa), nil
}

// rawSockname is a socket's local address.
func rawSockname(fd int) netip.AddrPort {
	var sa unix.RawSockaddrAny
	n := uint32(unsafe.Sizeof(sa))
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}
	}
	return fromSockaddr(&sa)
}

func fromSockaddr(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), ntohs(p.Port))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr), ntohs(p.Port))
	}
	return netip.AddrPort{}
}

// ntohs reads a port stored in network byte order.
func ntohs(v uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&v))
	return uint16(b[0])<<8 | uint16(b[1])
}

func rawSetInt(fd, level, opt, v int) error {
	val := int32(v)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&val)), 4, 0)
	return errnoErr(e)
}

// rawConnect opens a non-blocking socket to addr and starts connecting;
// the connection completes (or fails) in an event loop.
func rawConnect(addr netip.AddrPort, keepAlive bool) (int, error) {
	family := unix.AF_INET
	if !addr.Addr().Is4() {
		family = unix.AF_INET6
	}
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		return -1, errnoErr(e)
	}
	rawSetInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if keepAlive {
		rawSetInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	}
	port := addr.Port()
	pb := [2]byte{byte(port >> 8), byte(port)}
	var ptr unsafe.Pointer
	var n uintptr
	var sa4 unix.RawSockaddrInet4
	var sa6 unix.RawSockaddrInet6
	if family == unix.AF_INET {
		sa4.Family = unix.AF_INET
		sa4.Port = *(*uint16)(unsafe.Pointer(&pb))
		sa4.Addr = addr.Addr().As4()
		ptr, n = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		sa6.Family = unix.AF_INET6
		sa6.Port = *(*uint16)(unsafe.Pointer(&pb))
		sa6.Addr = addr.Addr().As16()
		ptr, n = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	_, _, e = unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(ptr), n)
	if e != 0 && e != unix.EINPROGRESS {
		rawClose(int(fd))
		return -1, e
	}
	return int(fd), nil
}

// rawSockError is a connecting socket's pending error (SO_ERROR).
func rawSockError(fd int) error {
	var v int32
	n := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return e
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}
