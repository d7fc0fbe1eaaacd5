package proxy

import (
	"net"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Waiting before reading. Go's Read tries the system call first and waits
// for the netpoller only when it fails with EAGAIN; on a keep-alive
// connection whose peer answers only after hearing from us (the client's
// next request, the server's response) that first try nearly always fails:
// a system call per wait for nothing. haproxy instead waits for epoll to
// report the socket readable and reads once. waitThen does the same with
// the runtime's own poller: it waits on the descriptor's readiness without
// clearing it first (a readiness that came before the wait is seen, never
// lost; a stale one costs one EAGAIN and a second wait) and then reads.
//
// The runtime's wait is reached by linkname, the descriptor's poller
// handle through net's and internal/poll's types, whose shape reflect
// reads once; pollHandle also checks, on every connection, the descriptor
// number found that way against the one the public API gives, and answers
// 0 (the plain Read path) when anything differs.

// emptyReads counts the http reads of a request or a response that
// found nothing (EAGAIN): the first read on a new connection may, a read
// after a wait only on a stale readiness.
var emptyReads atomic.Int64

//go:linkname runtimePollWait internal/poll.runtime_pollWait
func runtimePollWait(ctx uintptr, mode int) int

// pollOffsets are where the descriptor number and the poller handle sit
// from the netFD a *net.TCPConn or *net.UnixConn points to first, as
// reflect reads net's and internal/poll's types (net.conn{fd *netFD},
// netFD{pfd poll.FD}, poll.FD{Sysfd int, pd pollDesc{runtimeCtx}}); ok is
// false when the types are not shaped so.
var pollOffsets struct {
	once       sync.Once
	sysfd, ctx uintptr
	ok         bool
}

func findPollOffsets() {
	conn, ok := reflect.TypeOf(net.TCPConn{}).FieldByName("conn")
	if !ok || conn.Offset != 0 || conn.Type.Kind() != reflect.Struct {
		return
	}
	fd, ok := conn.Type.FieldByName("fd")
	if !ok || fd.Offset != 0 || fd.Type.Kind() != reflect.Pointer || fd.Type.Elem().Kind() != reflect.Struct {
		return
	}
	pfd, ok := fd.Type.Elem().FieldByName("pfd")
	if !ok || pfd.Type.Kind() != reflect.Struct {
		return
	}
	sysfd, ok := pfd.Type.FieldByName("Sysfd")
	if !ok || sysfd.Type.Kind() != reflect.Int {
		return
	}
	pd, ok := pfd.Type.FieldByName("pd")
	if !ok || pd.Type.Kind() != reflect.Struct {
		return
	}
	rctx, ok := pd.Type.FieldByName("runtimeCtx")
	if !ok || rctx.Type.Kind() != reflect.Uintptr {
		return
	}
	pollOffsets.sysfd = pfd.Offset + sysfd.Offset
	pollOffsets.ctx = pfd.Offset + pd.Offset + rctx.Offset
	pollOffsets.ok = true
}

// the runtime's answers (internal/poll's pollNoError and the rest)
const (
	pollNoError    = 0
	pollErrClosing = 1
	pollErrTimeout = 2
)

// pollHandle returns the poller handle of c (whose raw connection is rc),
// or 0 when c is no socket of the net package or the types are not shaped
// as expected, or the descriptor found there is not rc's.
func pollHandle(c any, rc syscall.RawConn) uintptr {
	var base unsafe.Pointer // the netFD
	switch c := c.(type) {
	case *net.TCPConn:
		base = *(*unsafe.Pointer)(unsafe.Pointer(c))
	case *net.UnixConn:
		base = *(*unsafe.Pointer)(unsafe.Pointer(c))
	default:
		return 0
	}
	pollOffsets.once.Do(findPollOffsets)
	if !pollOffsets.ok || base == nil || rc == nil {
		return 0
	}
	var ctx uintptr
	rc.Control(func(s uintptr) {
		if *(*int)(unsafe.Add(base, pollOffsets.sysfd)) == int(s) {
			ctx = *(*uintptr)(unsafe.Add(base, pollOffsets.ctx))
		}
	})
	return ctx
}

// waitThen waits until the socket of p is readable (or ends, fails, or
// passes its read deadline), then calls fn with the descriptor, and waits
// again while fn answers false (its read found nothing: EAGAIN).
func (p *peeker) waitThen(fn func(fd uintptr) bool) error {
	p.then, p.werr = fn, nil
	err := p.rc.Control(p.waitFn)
	p.then = nil
	if err != nil {
		return err
	}
	return p.werr
}

// waitLoop is waitThen's body, run under Control (which keeps the
// descriptor from being closed and reused meanwhile).
func (p *peeker) waitLoop(fd uintptr) {
	for {
		switch runtimePollWait(p.ctx, 'r') {
		case pollNoError:
		case pollErrTimeout:
			p.werr = os.ErrDeadlineExceeded
			return
		case pollErrClosing:
			p.werr = net.ErrClosed
			return
		default:
			p.werr = syscall.EINVAL
			return
		}
		if p.then(fd) {
			return
		}
	}
}
