package proxy

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// Content inspection in tcp mode: rules and use_backend conditions that
// look at what the client sent first (req.ssl_sni for TLS passthrough
// routing, req.ssl_hello_type, req.len) see the bytes peeked from the
// socket, waited for up to `tcp-request inspect-delay`.

// contentFetches are the fetches that read the client's first bytes.
var contentFetches = map[string]bool{"req_ssl_sni": true, "req.ssl_sni": true, "req_ssl_hello_type": true,
	"req.ssl_hello_type": true, "req.len": true, "req_len": true, "req.payload": true}

// inspectDelay is the proxy's `tcp-request inspect-delay` (its
// defaults' when it has none), 0 if neither sets one.
func inspectDelay(px *parser.Proxy) time.Duration {
	for p := px; p != nil; p = p.DefaultsSection() {
		for _, l := range p.Settings {
			if l.Words[0] == "tcp-request inspect-delay" && len(l.Words) > 1 {
				d, _ := parser.ParseTime(l.Words[1])
				return d
			}
		}
	}
	return 0
}

// peekHello returns the bytes the client has sent, without taking them
// from the socket: once a whole TLS record is there (or what came cannot
// be one), the buffer is full, the client has closed or delay has passed;
// with no delay, what is there now.
func peekHello(c net.Conn, delay time.Duration, size int) []byte {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	bp := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(bp)
	if cap(*bp) < size {
		*bp = make([]byte, size)
	}
	buf := (*bp)[:size]
	n := 0
	if delay > 0 {
		c.SetReadDeadline(time.Now().Add(delay))
		defer c.SetReadDeadline(time.Time{})
	}
	rc.Read(func(fd uintptr) bool {
		m, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return delay == 0
		case err != nil || m == 0:
			return true // closed or failed: rules see what came
		}
		n = m
		return delay == 0 || n == len(buf) || recordDone(buf[:n])
	})
	return append([]byte(nil), buf[:n]...) // the rules keep it: a copy of its size
}

// peekBufs hold the buffers clients' first bytes are peeked into.
var peekBufs = sync.Pool{New: func() any { return new([]byte) }}

// recordDone tells whether b holds a whole TLS record, or enough to know
// it is no TLS handshake.
func recordDone(b []byte) bool {
	if b[0] != 0x16 {
		return true
	}
	return len(b) >= 5 && len(b) >= 5+(int(b[3])<<8|int(b[4]))
}

// helloType is the type of the handshake message a TLS record starts
// (1: a ClientHello); false when b is no handshake record.
func helloType(b []byte) (int, bool) {
	if len(b) < 6 || b[0] != 0x16 || b[1] != 3 {
		return 0, false
	}
	return int(b[5]), true
}

// helloSNI is the server name a ClientHello in b asks for.
func helloSNI(b []byte) (string, bool) {
	if t, ok := helloType(b); !ok || t != 1 || !recordDone(b) {
		return "", false
	}
	rec := b[5 : 5+(int(b[3])<<8|int(b[4]))]
	p := tlsReader{b: rec, ok: true}
	p.skip(1 + 3 + 2 + 32) // type, length, version, random
	p.skip(p.n(1))         // session id
	p.skip(p.n(2))         // cipher suites
	p.skip(p.n(1))         // compression methods
	exts := tlsReader{b: p.take(p.n(2)), ok: p.ok}
	for exts.ok && len(exts.b) >= 4 {
		typ, body := exts.n(2), exts.take(exts.n(2))
		if typ != 0 { // server_name
			continue
		}
		list := tlsReader{b: body, ok: exts.ok}
		names := tlsReader{b: list.take(list.n(2)), ok: list.ok}
		for names.ok && len(names.b) >= 3 {
			kind, name := names.n(1), names.take(names.n(2))
			if kind == 0 && names.ok && len(name) > 0 {
				return string(name), true
			}
		}
	}
	return "", false
}

// tlsReader reads a TLS structure; ok turns false (and stays so) once a
// read goes past its end.
type tlsReader struct {
	b  []byte
	ok bool
}

// n reads a size-byte big-endian number.
func (r *tlsReader) n(size int) int {
	v := 0
	for _, c := range r.take(size) {
		v = v<<8 | int(c)
	}
	return v
}

func (r *tlsReader) take(k int) []byte {
	if !r.ok || k > len(r.b) {
		r.ok, r.b = false, nil
		return nil
	}
	out := r.b[:k]
	r.b = r.b[k:]
	return out
}

func (r *tlsReader) skip(k int) { r.take(k) }
