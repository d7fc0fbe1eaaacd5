package proxy

import (
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
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
// as expected, or the descriptor found there is not rc's. mark is where
// the runtime keeps the handle's read readiness (see readMarked), nil
// when that cannot be trusted.
func pollHandle(c any, rc syscall.RawConn) (ctx uintptr, mark *atomic.Uintptr) {
	var base unsafe.Pointer // the netFD
	switch c := c.(type) {
	case *net.TCPConn:
		base = *(*unsafe.Pointer)(unsafe.Pointer(c))
	case *net.UnixConn:
		base = *(*unsafe.Pointer)(unsafe.Pointer(c))
	default:
		return 0, nil
	}
	pollOffsets.once.Do(findPollOffsets)
	if !pollOffsets.ok || base == nil || rc == nil {
		return 0, nil
	}
	rc.Control(func(s uintptr) {
		if *(*int)(unsafe.Add(base, pollOffsets.sysfd)) != int(s) {
			return
		}
		pd := *(*unsafe.Pointer)(unsafe.Add(base, pollOffsets.ctx))
		ctx = uintptr(pd)
		if pd != nil && pollDescShaped && *(*uintptr)(unsafe.Add(pd, pdFD)) == s {
			mark = (*atomic.Uintptr)(unsafe.Add(pd, pdRG))
		}
	})
	return ctx, mark
}

// The runtime's pollDesc (runtime/netpoll.go), which reflect cannot see:
// in Go 1.26 its descriptor number sits at pdFD and its read readiness at
// pdRG (after link, fd, fdseq and the 4-byte atomicInfo). pollHandle
// trusts pdRG only on that Go version and when pdFD holds the socket's
// own descriptor.
const (
	pdFD    = 8
	pdRG    = 32
	pdNil   = 0 // rg: nothing reported since the last wait
	pdReady = 1 // rg: readable, an end or an error reported, not yet waited for
)

var pollDescShaped = strings.HasPrefix(runtime.Version(), "go1.26") && unsafe.Sizeof(uintptr(0)) == 8

// readMarked reports whether the runtime poller has seen the socket of p
// readable (data, an end, an error) since the last wait on it took that
// mark, or cannot tell. An idle server connection that is not marked has
// had nothing from its server that the poller has reported: haproxy
// keeps idle connections in its poller for the same purpose, and reuses
// them without a system call.
func (p *peeker) readMarked() bool {
	return p == nil || p.mark == nil || p.mark.Load() != pdNil
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
