package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/proxy/h1"
)

// hconn is one client connection in http mode. The fields a keep-alive
// request touches come first, together: with a thousand connections the
// struct is cold when a request arrives, and each cache line it spans
// costs a miss (measured with cachegrind, README "Speed").
type hconn struct {
	r    *Runtime
	fe   *frontend
	s    *session
	c    halfCloser // a socket, or a *tls.Conn on an ssl bind
	bufp *[]byte
	buf  []byte
	n    int // bytes of buf in use

	// the server connection, kept across requests of the same backend
	sc net.Conn
	rc *releasingConn // under sc
	sv *server
	be *backend
	sp *peeker // on sc
	cp *peeker // on c; nil when c is TLS (its records may hold bytes the socket no longer shows)

	outp *[]byte // a pool buffer a message head is built in, held until written (outBuf)
	hdrs []h1.Header
	// srvIdle: sc finished its last response cleanly and may serve again
	srvIdle bool
	// srvReused: sc came from an idle list (aggressive mode trusts it)
	srvReused bool
	clientEOF bool        // the client's end was read: nothing to linger for
	idle      atomic.Bool // waiting for the next request (session.httpIdle points here)
	head      bool        // the request is a HEAD (known before the request's bytes go cold)
	reqs      int         // requests done on this client connection
	pipelined bool        // a request came in the same read as the one before it

	readFn    func(fd uintptr) bool // firstRead's attempt, made once
	srvReadFn func(fd uintptr) bool // waitResponse's read, made once
	srvM      int                   // what it read
	srvErr    error
	sbufp     *[]byte
	sbuf      []byte
	sn        int
	cdl, sdl  connDeadlines // of c and sc

	arena       []byte // values made by rules, reused request after request
	conv        []byte // the same for converted values
	appendFirst func([]byte) bool
	// forceIdx is the server a persistence cookie named (-1: none)
	forceIdx int
	uid      string               // the request's unique-id-format value
	compAlgo string               // the current response is compressed with it (http_comp.go)
	tls      *tls.ConnectionState // of c on an ssl bind
	breq     balance.Request      // what the balancer is given (Src set once)

	req  h1.Msg
	resp h1.Msg
	q    hreq
	ob   httpObs // counters and log of the current request (http_obs.go)

	// seldom used on the way of a keep-alive request
	ci  connInfo
	own []*idleConn // idle server connections kept for this client (http-reuse never)
	ckd cookieDates // of the persistence cookie (maxidle, maxlife)
	ck  h1.Chunks
	// cache is what cache-use and cache-store know of the request
	cache cacheTxn
	// sessVars are the session's variables (sess.*) between requests
	sessVars []hvar
	// sessAddr are the session's src and dst, which set-src and set-dst
	// rules change for one request (addrMoved: the last one did)
	sessAddr  [2]netip.AddrPort
	addrMoved bool
	scPP      ppKey // the PROXY header sc began with
}

// serveHTTP runs an http-mode client connection: requests one after the
// other, keep-alive and pipelining included.
func (r *Runtime) serveHTTP(fe *frontend, s *session, c net.Conn, ci connInfo) {
	if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
		r.serveH2(fe, s, tc, ci)
		return
	}
	cc, ok := c.(halfCloser)
	if !ok {
		return
	}
	h := &hconn{r: r, fe: fe, s: s, c: cc, ci: ci}
	if sc, ok := c.(sockConn); ok {
		h.cp = newPeeker(sc)
	}
	if tc, ok := c.(*tls.Conn); ok {
		st := tc.ConnectionState()
		h.tls = &st
	}
	h.breq.Header, h.breq.Src = h.hdrLookup, ci.src.Addr()
	h.sessVars, h.sessAddr = ci.vars, [2]netip.AddrPort{ci.src, ci.dst}
	r.mu.Lock()
	s.httpIdle = &h.idle // in the connection's own hot cache lines, not the session's
	r.mu.Unlock()
	h.appendFirst = func(v []byte) bool { h.q.arena = append(h.q.arena, v...); return false }
	defer h.closeOwn()
	h.obsStart()
	defer h.dropServer()
	defer h.putBuf()
	defer func() {
		if !h.clientEOF { // the client may still be sending: do not reset it
			lingerClose(cc)
		}
	}()
	first := true
	for !r.stopping.Load() {
		if !h.readHead(first) {
			h.obsNoRequest(first)
			return
		}
		first = false
		ok := h.transaction()
		h.reqs++
		if !ok {
			return
		}
	}
}

func (h *hconn) getBuf() {
	if h.bufp == nil {
		h.bufp = bufPool.Get()
		h.buf = *h.bufp
	}
}

// plainServer reports whether the server connection is a plain socket
// its peeker can read and write directly (not TLS over it).
func (h *hconn) plainServer() bool { return h.sp != nil && h.sc == net.Conn(h.rc) }

// srvWrite writes b to the server connection, with send(2) when it is a
// plain socket (rawsend.go).
func (h *hconn) srvWrite(b []byte) (int, error) {
	if h.plainServer() {
		return h.sp.send(b)
	}
	return h.sc.Write(b)
}

// outBuf is an empty buffer from the pool to build a message head in,
// given back by putOut once written: taken just before use, it is one
// the last request used, still in the processor's cache, where a buffer
// of the connection's own would have gone cold among a thousand others.
func (h *hconn) outBuf() []byte {
	if h.outp == nil {
		h.outp = bufPool.Get()
	}
	return (*h.outp)[:0]
}

func (h *hconn) putOut() {
	if h.outp != nil {
		bufPool.Put(h.outp)
		h.outp = nil
	}
}

// getSbuf takes the buffer for the server's response, when it is about
// to be read (not before the request is sent: see outBuf).
func (h *hconn) getSbuf() {
	if h.sbufp == nil {
		h.sbufp = bufPool.Get()
		h.sbuf = *h.sbufp
		h.sn = 0
	}
}

func (h *hconn) putBuf() {
	h.putOut()
	if h.bufp != nil && h.n == 0 {
		bufPool.Put(h.bufp)
		h.bufp, h.buf = nil, nil
	}
	if h.sbufp != nil {
		bufPool.Put(h.sbufp)
		h.sbufp, h.sbuf = nil, nil
	}
}

func (h *hconn) dropServer() {
	if h.sc != nil && !h.parkServer() {
		h.closeServer(h.srvIdle)
	}
}

// closeServer closes the held server connection; one whose exchange ended
// cleanly with a reset, as haproxy closes a server connection it does not
// keep (closeIdle).
func (h *hconn) closeServer(clean bool) {
	if h.sc != nil {
		if clean {
			closeIdle(h.sc, h.rc)
		} else {
			h.sc.Close()
		}
		h.sv.limit.release()
		h.be.sessions.Add(-1)
		h.r.mu.Lock()
		h.s.server, h.s.srv = nil, nil
		h.r.mu.Unlock()
		h.sc, h.sv, h.be, h.rc, h.srvIdle = nil, nil, nil, nil, false
		h.sdl.forget()
	}
}

// readHead reads until a request head is complete and parsed, answering
// 400/408 itself; false ends the connection.
func (h *hconn) readHead(first bool) bool {
	t := h.fe.px.Timeouts
	reqTO := t.HTTPRequest
	if reqTO == 0 {
		reqTO = t.Client
	}
	if h.n > 0 && !first {
		h.pipelined = true
	}
	if h.n == 0 {
		// wait for the next request without holding a buffer
		idle := reqTO
		if !first && t.HTTPKeepAlive > 0 {
			idle = t.HTTPKeepAlive
		}
		h.putBuf()
		if idle > 0 {
			h.cdl.read(h.c, h.since(h.ob.end), idle)
		}
		// a soft stop closes connections waiting here (closeIdleHTTP)
		h.idle.Store(true)
		if h.r.stopping.Load() {
			return false
		}
		var err error
		if h.cp != nil {
			err = h.firstRead(first)
		} else { // TLS: read the first bytes into a buffer
			h.getBuf()
			var m int
			m, err = h.c.Read(h.buf)
			h.n += m
			if m > 0 {
				err = nil
			}
		}
		h.idle.Store(false)
		if err != nil {
			if first && reqTO > 0 && t.HTTPKeepAlive == 0 {
				h.c.Write(h.parseErrorPage(408)) // nothing came in time on a new connection
			}
			return false
		}
	}
	h.getBuf()
	h.cdl.read(h.c, h.since(h.ob.cc.first), reqTO)
	for {
		if h.n > 0 {
			err := h1.ParseRequest(h.buf[:h.n], &h.req, h.fe.http.limit)
			switch err {
			case nil:
				return true
			case h1.ErrIncomplete:
			case h1.ErrUnprocessable:
				h.c.Write(h.parseErrorPage(422))
				return false
			default:
				h.c.Write(h.parseErrorPage(400))
				return false
			}
			if h.n == len(h.buf) {
				h.c.Write(h.parseErrorPage(400))
				return false
			}
		}
		m, err := h.c.Read(h.buf[h.n:])
		h.n += m
		if err != nil {
			h.clientEOF = err == io.EOF
			if errors.Is(err, os.ErrDeadlineExceeded) && h.n > 0 {
				h.c.Write(h.parseErrorPage(408))
			}
			return false
		}
	}
}

// transaction handles one parsed request; false ends the connection.
func (h *hconn) transaction() bool {
	fe, req := h.fe, &h.req
	head := req.HeadLen
	h.obsBegin()
	defer h.obsEnd()
	if req.Chunked { // haproxy parses what came with the head at once
		var ck h1.Chunks
		if _, err := ck.Feed(h.buf[head:h.n]); err != nil {
			h.obsCount()
			h.c.Write(h.parseErrorPage(400))
			return false
		}
	}
	keepAlive := req.KeepAlive() && !fe.px.OptionOn("httpclose") && !req.Ambiguous && !h.r.stopping.Load()
	h.head = string(req.Method) == "HEAD"
	q := &h.q
	if h.addrMoved { // the previous request's set-src or set-dst was its own
		h.setAddrs(h.sessAddr[0], h.sessAddr[1])
		h.addrMoved = false
	}
	h.hdrs = append(h.hdrs[:0], req.Headers...)
	q.reset(h, fe)
	defer func() {
		if q.sessSet {
			h.sessVars = keepSessVars(nil, q.vars) // new: the old one may be shared (ci.vars)
		}
		// keep what grew for the next request
		h.arena, h.conv = q.arena[:0], q.conv[:0]
		if cap(q.hdrs) > cap(h.hdrs) {
			h.hdrs = q.hdrs[:0]
		}
	}()
	v, resp, be := h.r.route(fe, q, h)
	if q.addrSet { // set-src, set-dst: the session's books and the balancer see it
		h.setAddrs(h.ci.src, h.ci.dst)
		h.addrMoved = true
	}
	switch v {
	case vRespond:
		if q.answered != nil && q.answered.action == "tarpit" {
			h.tarpit()
		}
		return h.answer(resp, keepAlive)
	case vCached:
		return h.serveCached(be, keepAlive) // http_cache_serve.go
	case vRespondClose:
		if q.answered != nil && q.answered.action == "silent-drop" {
			h.silentDrop()
		}
		h.c.Write(h.afterReply(resp))
		return false
	}
	if be == nil {
		return h.answerError(503, nil, keepAlive)
	}
	return h.forward(be, keepAlive)
}

// setAddrs makes src and dst the connection's addresses for its
// requests, the balancer and `show sess`.
func (h *hconn) setAddrs(src, dst netip.AddrPort) {
	h.ci.src, h.ci.dst = src, dst
	h.r.mu.Lock()
	h.s.info.ci.src, h.s.info.ci.dst = src, dst
	h.r.mu.Unlock()
	h.breq.Src = src.Addr()
}

// route runs the frontend's http-request rules, picks the backend
// (use_backend, default_backend) and runs the backend's rules.
func (r *Runtime) route(fe *frontend, q *hreq, h *hconn) (verdict, []byte, *backend) {
	v, resp := vContinue, []byte(nil)
	if q.ci.sc != nil || fe.streamTracks != nil {
		v = r.trackRequest(fe, q)
	}
	if h != nil && v == vContinue { // not rejected by a content rule
		h.obsCount()
	}
	if v == vContinue {
		v, resp = runRequestRules(fe.http.reqRules, q)
	}
	if h != nil && (v == vContinue || v == vAllow) {
		if sv, page := h.statsAnswer(fe.px); page != nil { // http_service.go
			v, resp = sv, page
		}
	}
	var be *backend
	if v == vContinue || v == vAllow {
		be = fe.defaultBE
		for _, rt := range fe.http.routes {
			if !rt.cond.eval(q) {
				continue
			}
			if rt.dyn != nil { // a name that is no backend: the default backend
				if dyn := r.backends[string(rt.dyn.value(q))]; dyn != nil {
					be = dyn
				}
				break
			}
			be = rt.be
			break
		}
		if h != nil {
			h.obsRoute(be)
		}
		if be != nil && be.http != nil {
			q.be = be
			v, resp = runRequestRules(be.http.reqRules, q)
			if h != nil && (v == vContinue || v == vAllow) && be.px != fe.px {
				if sv, page := h.statsAnswer(be.px); page != nil {
					v, resp = sv, page
				}
			}
		}
	}
	if h != nil && (v == vRespond || v == vRespondClose) {
		h.obsAnswer(q.answered, q.be != nil)
	}
	return v, resp, be
}

// answerError answers with an error page (or errorfile).
func (h *hconn) answerError(code int, be *backend, keepAlive bool) bool {
	a := h.errorFor(code, be)
	if a.close {
		h.c.Write(h.afterReply(a.bytes(&h.q)))
		return false
	}
	return h.answer(a.bytes(&h.q), keepAlive)
}

// answer sends a response made by gohaka, skips the request body and
// tells whether the connection goes on.
func (h *hconn) answer(resp []byte, keepAlive bool) bool {
	resp = h.afterReply(resp) // http-after-response
	if !keepAlive {
		resp = addConnClose(resp)
	}
	if _, err := h.c.Write(resp); err != nil {
		return false
	}
	if !keepAlive || h.req.Upgrade {
		return false
	}
	return h.skipBody()
}

// addConnClose inserts `connection: close` at the end of a response head.
func addConnClose(resp []byte) []byte {
	for i := 0; i+3 < len(resp); i++ {
		if resp[i] == '\r' && resp[i+1] == '\n' && resp[i+2] == '\r' && resp[i+3] == '\n' {
			if string(resp[max(0, i-17):i]) == "connection: close" {
				return resp
			}
			out := make([]byte, 0, len(resp)+19)
			out = append(out, resp[:i+2]...)
			out = append(out, "connection: close\r\n"...)
			return append(out, resp[i+2:]...)
		}
	}
	return resp
}

// skipBody drops the request body when it is all in the buffer; a body
// still on the way ends the connection.
func (h *hconn) skipBody() bool {
	head := h.req.HeadLen
	end := head
	switch {
	case h.req.Chunked:
		var ck h1.Chunks
		k, err := ck.Feed(h.buf[head:h.n])
		if err != nil || !ck.Done() {
			return false
		}
		end += k
	case h.req.ContentLength > 0:
		if int64(h.n-head) < h.req.ContentLength {
			return false
		}
		end += int(h.req.ContentLength)
	}
	h.consume(end)
	return true
}

// consume drops the first k bytes of the client buffer.
func (h *hconn) consume(k int) {
	copy(h.buf, h.buf[k:h.n])
	h.n -= k
}

// writeRequestHead serialises the (rewritten) request head for the server.
func (h *hconn) writeRequestHead(be *backend, srvClose bool) []byte {
	q := &h.q
	b := h.outBuf()
	b = append(b, q.method...)
	b = append(b, ' ')
	b = append(b, q.uri...)
	b = append(b, " HTTP/1."...)
	b = append(b, byte('0'+h.req.Minor))
	b = append(b, "\r\n"...)
	clDone := false
	for _, hd := range q.hdrs {
		if h1.EqualFold(hd.Name, "connection") {
			continue
		}
		if h1.EqualFold(hd.Name, "content-length") {
			// one Content-Length, as parsed (none when chunked)
			if clDone || h.req.ContentLength < 0 {
				continue
			}
			clDone = true
			b = append(b, "content-length: "...)
			b = strconv.AppendInt(b, h.req.ContentLength, 10)
			b = append(b, "\r\n"...)
			continue
		}
		b = appendLower(b, hd.Name)
		b = append(b, ": "...)
		b = append(b, hd.Value...)
		b = append(b, "\r\n"...)
	}
	if name := h.fe.px.UniqueIDHeader; name != "" && h.uid != "" { // before X-Forwarded-For, as haproxy
		b = appendLower(b, []byte(name))
		b = append(append(append(b, ": "...), h.uid...), "\r\n"...)
	}
	ff, ot := h.fe.http.forwardFor, h.fe.http.originalTo
	if be.http != nil && be.http.forwardFor != nil {
		ff = be.http.forwardFor
	}
	if be.http != nil && be.http.originalTo != nil {
		ot = be.http.originalTo
	}
	b = h.addrHeader(b, ff)
	b = h.addrHeader(b, ot)
	switch {
	case h.req.Upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case srvClose:
		b = append(b, "connection: close\r\n"...)
	case h.req.Minor == 0 && !h.req.Ambiguous:
		b = append(b, "connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	return b
}

// addrHeader appends X-Forwarded-For or X-Original-To as configured.
func (h *hconn) addrHeader(b []byte, ff *forwardFor) []byte {
	return appendAddrHeader(b, ff, &h.ci, h.q.hdrs)
}

// appendAddrHeader appends the header ff names with the client's source
// (or destination) address, unless except matches or if-none finds one.
func appendAddrHeader(b []byte, ff *forwardFor, ci *connInfo, hdrs []h1.Header) []byte {
	if ff == nil {
		return b
	}
	a := ci.src.Addr()
	if ff.dst {
		a = ci.dst.Addr()
	}
	if ff.except != nil && ff.except.match(*ci) {
		return b
	}
	if ff.ifNone {
		present := false
		for _, hd := range hdrs {
			present = present || h1.EqualFold(hd.Name, ff.header)
		}
		if present {
			return b
		}
	}
	b = appendLower(b, []byte(ff.header))
	b = append(b, ": "...)
	b = a.Unmap().AppendTo(b)
	return append(b, "\r\n"...)
}

func appendLower(b, s []byte) []byte {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// connectServer balances the request on be and connects to the server
// picked, keeping the connection held when the same server is picked
// again. It retries as `retries` and `option redispatch` say.
func (h *hconn) connectServer(be *backend) (reused bool, err error) {
	q := &h.q
	px := be.px
	last := -1
	err = errNoServer
	noWait := false // haproxy does not wait after a failure on a reused connection
	for attempt := 0; attempt <= px.Retries; attempt++ {
		if attempt > 0 && !noWait {
			time.Sleep(turnAround(px))
		}
		noWait = false
		be.mu.Lock()
		idx, picked := last, false
		if last < 0 && h.forceIdx >= 0 {
			idx = h.forceIdx // persistence cookie
		} else if last < 0 || px.OptionOn("redispatch") && attempt == px.Retries {
			h.breq.URI = unsafeString(q.uri)
			idx, picked = be.bal.Pick(&h.breq), true
		}
		if idx >= 0 && h.sc != nil && h.be == be && be.servers[idx] == h.sv && (!h.sv.sendsPP || h.scPP == ppKey{h.ci.src, h.ci.dst}) {
			be.mu.Unlock()
			h.obsAttempt(be, idx, attempt, picked, true, nil)
			return true, nil
		}
		if idx >= 0 {
			be.bal.Acquire(idx)
		}
		be.mu.Unlock()
		if idx < 0 {
			h.obsNoServer(be)
			return false, errNoServer
		}
		h.dropServer()
		last = idx
		sv := be.servers[idx]
		if ic, terr := h.takeIdle(be, idx); ic != nil || terr != nil {
			if terr != nil {
				be.mu.Lock()
				be.bal.Release(idx)
				be.mu.Unlock()
				err, noWait = terr, true
				continue
			}
			h.obsAttempt(be, idx, attempt, picked, true, nil)
			be.sessions.Add(1)
			h.sc, h.rc, h.sv, h.be, h.sp, h.srvReused, h.scPP = ic.c, ic.rc, sv, be, ic.sp, true, ic.pp
			h.r.mu.Lock()
			h.s.server, h.s.srv = ic.c, sv
			h.r.mu.Unlock()
			return true, nil
		}
		c, derr := h.r.dial(be, sv, h.c, &h.s.info)
		h.obsAttempt(be, idx, attempt, picked, false, derr)
		if derr != nil {
			be.mu.Lock()
			be.bal.Release(idx)
			be.mu.Unlock()
			err = derr
			continue
		}
		i := idx
		sc := &releasingConn{TCPConn: c.(*net.TCPConn), release: func() { be.mu.Lock(); be.bal.Release(i); be.mu.Unlock() }}
		be.sessions.Add(1)
		h.sc, h.rc, h.sv, h.be, h.sp, h.srvReused = sc, sc, sv, be, newPeeker(sc.TCPConn), false
		h.scPP = ppKeyFor(sv, h.ci.src, h.ci.dst)
		h.r.mu.Lock()
		h.s.server, h.s.srv = sc, sv
		h.r.mu.Unlock()
		if sv.srv.SendProxy || sv.srv.SendProxyV2 {
			if _, err := sc.Write(proxyHeader(sv.srv.SendProxyV2, h.ci.src, h.ci.dst)); err != nil {
				h.dropServer()
				return false, err
			}
		}
		if sv.tls != nil {
			tc, err := h.r.serverHandshake(be, sv, sc, h.ci)
			if err != nil {
				h.dropServer()
				return false, err
			}
			h.sc = tc
		}
		return false, nil
	}
	return false, err
}

var errNoServer = errors.New("no server is available")

// hdrLookup gives the balancer the first value of a request header.
func (h *hconn) hdrLookup(name string) (string, bool) { return h.q.firstHeader(name) }

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// serverTimeout is the backend's timeout server, or the request's
// http-request set-timeout server.
func (h *hconn) serverTimeout() time.Duration {
	if h.q.srvTimeout > 0 { // http-request set-timeout server
		return h.q.srvTimeout
	}
	return h.be.px.Timeouts.Server
}

// since is t when set (a moment of this request already read from the
// clock), else now.
func (h *hconn) since(t time.Time) time.Time {
	if t.IsZero() {
		return clockNow()
	}
	return t
}

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// forward sends the request to a server of be and relays the response.
func (h *hconn) forward(be *backend, keepAlive bool) bool {
	// the server side stays open whatever the client does, unless the
	// proxies say otherwise (haproxy 2.6 does the same)
	srvClose := be.px.OptionOn("http-server-close") || be.px.OptionOn("httpclose") ||
		h.fe.px.OptionOn("http-server-close")
	h.forceIdx = -1
	if be.px.Cookie != nil {
		h.cookieRequest(be)
	}
	if idx := pickUseServer(be, &h.q); idx >= 0 {
		h.forceIdx = idx
		if h.ob.ckReq == 'V' || h.ob.ckReq == 'D' {
			h.ob.ckReq = 'U' // a rule chose, not the cookie
		}
	}
	h.compAlgo = ""
	if c := compFor(h.fe, be); c != nil && h.req.Minor == 1 && string(h.req.Method) != "HEAD" {
		h.compAlgo = c.pickAlgo(h.q.hdrs)
		if c.offload { // the server is not asked to compress
			h.q.hdrs = delHeader(h.q.hdrs, "accept-encoding")
		}
	}
	bodiless := !h.req.Chunked && h.req.ContentLength <= 0
	// A server connection that served this client's previous request a
	// moment ago, or that the poller has seen nothing on since, is trusted
	// without a look (a system call per request); should the server have
	// closed it meanwhile, the bodiless request is sent again on a new
	// connection. Only a GET, HEAD or OPTIONS: another method is never
	// sent twice (the server may have acted on it before closing).
	m := h.req.Method
	safe := h.head || string(m) == "GET" || string(m) == "OPTIONS"
	trusted := bodiless && safe && h.sc != nil && (h.ob.start.Sub(h.ob.end) < trustIdle || !h.sp.readMarked())
	for {
		if h.sc != nil && !trusted && !h.sp.idleOpen() {
			h.srvIdle = false
			h.dropServer() // the server closed the idle connection
		}
		reused, err := h.connectServer(be)
		if err != nil {
			h.r.connErrf(be, "%v", err)
			return h.answerError(503, be, keepAlive)
		}
		head := h.writeRequestHead(be, srvClose)
		h.srvIdle = false // busy until its response has ended cleanly
		h.sdl.write(h.sc, h.since(h.ob.start), h.serverTimeout())
		yieldBeforeWrite()
		_, err = h.srvWrite(head)
		h.putOut()
		if err != nil {
			if reused { // the server closed its idle connection: once more on a new one
				h.dropServer()
				trusted = false
				continue
			}
			return h.answerError(502, be, keepAlive)
		}
		if !trusted || !reused {
			return h.sendBody(keepAlive, srvClose)
		}
		// the request is still whole in buf: it can go again
		if err := h.readResponseHead(); err != nil {
			if err == errServerClosed {
				h.dropServer() // not idle: closed
				trusted = false
				continue
			}
			h.consume(h.req.HeadLen)
			return h.serverFailed(err, keepAlive)
		}
		h.consume(h.req.HeadLen)
		return h.finishResponse(keepAlive, srvClose, false)
	}
}

// sendBody sends the request body, if any, to the server and relays the
// response.
func (h *hconn) sendBody(keepAlive, srvClose bool) bool {
	bodyStart := h.req.HeadLen
	hasBody := h.req.Chunked || h.req.ContentLength > 0
	if hasBody && h.req.Expect100 {
		// the client waits for 100 Continue: relay the server's interim
		// answer before the body
		final, ok := h.relayInterim()
		if !ok {
			return false
		}
		if final {
			return h.finishResponse(keepAlive, srvClose, false)
		}
	}
	if hasBody {
		var cnt bodyCount
		end, n, err := forwardBody(h.sc, h.c, h.buf, bodyStart, h.n, &h.req, &h.ck, h.fe.px.Timeouts.Client, &cnt)
		if h.req.Chunked { // counted as read: haproxy counts chunks by their data
			h.ob.cc.in += cnt.msg - cnt.wire
		}
		h.cdl.forget()
		if err != nil {
			return false
		}
		h.n = n
		h.consume(end)
	} else {
		h.consume(bodyStart)
	}
	return h.finishResponse(keepAlive, srvClose, true)
}

// trustIdle is how long after its last response a held server connection
// is used without first looking whether the server closed it.
const trustIdle = 100 * time.Millisecond

// firstRead waits for the first bytes of the next request and reads them
// straight from the socket (cp's), taking a buffer only when bytes are
// there: an idle keep-alive connection holds none, and no separate wait
// costs a system call.
func (h *hconn) firstRead(first bool) error {
	if h.readFn == nil {
		h.readFn = func(fd uintptr) bool {
			h.getBuf()
			m, err := rawRecv(int(fd), h.buf[h.n:])
			if err == syscall.EAGAIN {
				emptyReads.Add(1)
				if h.n == 0 {
					bufPool.Put(h.bufp)
					h.bufp, h.buf = nil, nil
				}
				return false
			}
			if err == nil && m > 0 {
				h.n += m
				h.ob.cc.counted(m)
			}
			h.clientEOF = err == nil && m == 0
			return true // an end or error: the read that follows sees it again
		}
	}
	if !first && h.cp.ctx != 0 && h.reqs > 1 && !h.pipelined {
		// the client sends its next request once it has our response:
		// wait for it rather than try a read that would find nothing
		return h.cp.waitThen(h.readFn)
	}
	// Read first after the connection's first request and after
	// pipelined ones: a client that sent its end with them (a script's
	// request then shutdown) gave the poller one readiness for both, which
	// the read of the request took, so only a read sees that end now.
	h.pipelined = false
	return h.cp.rc.Read(h.readFn)
}

// yieldBeforeWrite lets the connections that became ready in the same
// round of the scheduler read and parse their input before this one
// writes: the writes of a round then go out together, as haproxy's event
// loop sends after it has received, and the peer (a server, a client)
// wakes once for a burst rather than once per write. With nothing else to
// run it returns at once. Measured on the keep-alive bench (1,000
// connections): 4% more requests/s at 5% less processor time per request.
func yieldBeforeWrite() { runtime.Gosched() }
