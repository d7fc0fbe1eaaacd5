package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// httpFE is the http side of a frontend (mode http).
type httpFE struct {
	reqRules   []*httpRule
	respRules  []*httpRule
	routes     []hroute
	userlists  []*parser.Userlist
	limit      int
	forwardFor *forwardFor
	originalTo *forwardFor
	errs       map[int]errAnswer
}

type hroute struct {
	be   *backend
	dyn  *logFmt // use_backend %[...]: the name is computed per request
	cond *hcond
}

// httpBE is the http side of a backend.
type httpBE struct {
	reqRules, respRules []*httpRule
	forwardFor          *forwardFor
	originalTo          *forwardFor
	errs                map[int]errAnswer
	useServers          []useServer
	pool                *srvPool // http-reuse
}

// forwardFor is `option forwardfor [except net] [header name] [if-none]`
// or `option originalto [except net] [header name]` (dst set).
type forwardFor struct {
	header string
	except *l4Matcher
	ifNone bool
	dst    bool
}

func newForwardFor(px *parser.Proxy) (*forwardFor, error) {
	return newAddrHeader(px, "forwardfor", "x-forwarded-for")
}

// newAddrHeader reads `option forwardfor` or `option originalto`.
func newAddrHeader(px *parser.Proxy, option, header string) (*forwardFor, error) {
	o, ok := px.Options[option]
	if !ok || !o.Enabled {
		return nil, nil
	}
	ff := &forwardFor{header: header, dst: option == "originalto"}
	for i := 0; i < len(o.Args); i++ {
		switch o.Args[i] {
		case "header":
			if i+1 < len(o.Args) {
				ff.header = o.Args[i+1]
				i++
			}
		case "except":
			if i+1 < len(o.Args) {
				fetch := "src"
				if ff.dst {
					fetch = "dst"
				}
				m, err := compileL4(fetch, nil, []string{o.Args[i+1]}, o.Pos)
				if err != nil {
					return nil, err
				}
				ff.except = m
				i++
			}
		case "if-none":
			ff.ifNone = true
		}
	}
	return ff, nil
}

// newHTTPFrontend compiles the http rules and routes of a frontend.
func (r *Runtime) newHTTPFrontend(cfg *parser.Config, fe *frontend) error {
	px := fe.px
	h := &httpFE{userlists: cfg.Userlists, limit: h1.Limit(cfg.Global.TuneBufsize, cfg.Global.TuneMaxrewrite)}
	var err error
	if h.reqRules, err = r.compileHTTPRules(px, "http-request"); err != nil {
		return err
	}
	if h.respRules, err = r.compileHTTPRules(px, "http-response"); err != nil {
		return err
	}
	for _, u := range px.UseBackends {
		c, err := r.compileHTTPCond(u.Cond, px.ACLs)
		if err != nil {
			return err
		}
		if strings.Contains(u.Target, "%[") {
			f, err := compileFmt(u.Target, u.Pos, r)
			if err != nil {
				return err
			}
			h.routes = append(h.routes, hroute{dyn: &f, cond: c})
			continue
		}
		be := r.backends[u.Target]
		if be == nil {
			return fmt.Errorf("%s: use_backend '%s' is not a backend gohaka runs", u.Pos, u.Target)
		}
		h.routes = append(h.routes, hroute{be: be, cond: c})
	}
	if h.forwardFor, err = newForwardFor(px); err != nil {
		return err
	}
	if h.originalTo, err = newAddrHeader(px, "originalto", "x-original-to"); err != nil {
		return err
	}
	if h.errs, err = r.loadErrorfiles(px); err != nil {
		return err
	}
	fe.http = h
	return nil
}

// newHTTPBackend compiles the http rules of a backend.
func (r *Runtime) newHTTPBackend(be *backend) error {
	h := &httpBE{}
	var err error
	if h.errs, err = r.loadErrorfiles(be.px); err != nil {
		return err
	}
	be.http = h
	h.pool = newSrvPool(be.px.HTTPReuse, len(be.servers))
	if h.useServers, err = r.compileUseServers(be); err != nil {
		return err
	}
	if be.px.Cap&parser.CapFE == 0 { // a listen's rules run once, as frontend rules
		if h.reqRules, err = r.compileHTTPRules(be.px, "http-request"); err != nil {
			return err
		}
		if h.respRules, err = r.compileHTTPRules(be.px, "http-response"); err != nil {
			return err
		}
		if h.forwardFor, err = newForwardFor(be.px); err != nil {
			return err
		}
		if h.originalTo, err = newAddrHeader(be.px, "originalto", "x-original-to"); err != nil {
			return err
		}
	}
	return nil
}

// hconn is one client connection in http mode.
type hconn struct {
	r    *Runtime
	fe   *frontend
	s    *session
	c    halfCloser // a socket, or a *tls.Conn on an ssl bind
	ci   connInfo
	tls  *tls.ConnectionState // of c on an ssl bind
	bufp *[]byte
	buf  []byte
	n    int // bytes of buf in use
	req  h1.Msg
	resp h1.Msg
	q    hreq
	hdrs []h1.Header
	out  []byte

	// the server connection, kept across requests of the same backend
	sc net.Conn
	rc *releasingConn // under sc
	sv *server
	be *backend
	// srvIdle: sc finished its last response cleanly and may serve again
	srvIdle bool
	// srvReused: sc came from an idle list (aggressive mode trusts it)
	srvReused bool
	reqs      int         // requests done on this client connection
	own       []*idleConn // idle server connections kept for this client (http-reuse never)
	breq      balance.Request
	// forceIdx is the server a persistence cookie named (-1: none)
	forceIdx    int
	sp          *peeker // on sc
	cp          *peeker // on c; nil when c is TLS (its records may hold bytes the socket no longer shows)
	arena       []byte  // values made by rules, reused request after request
	appendFirst func([]byte) bool
	sbufp       *[]byte
	sbuf        []byte
	sn          int
	ck          h1.Chunks
	ob          httpObs // counters and log of the current request (http_obs.go)
}

var errClientGone = errors.New("client closed")

// serveHTTP runs an http-mode client connection: requests one after the
// other, keep-alive and pipelining included.
func (r *Runtime) serveHTTP(fe *frontend, s *session, c net.Conn, ci connInfo) {
	if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
		r.serveH2(fe, tc, ci)
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
	h.breq.Header = h.hdrLookup
	h.appendFirst = func(v []byte) bool { h.q.arena = append(h.q.arena, v...); return false }
	defer h.closeOwn()
	h.obsStart()
	defer h.dropServer()
	defer h.putBuf()
	defer lingerClose(cc)
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
		h.bufp = bufPool.Get().(*[]byte)
		h.buf = *h.bufp
	}
}

func (h *hconn) putBuf() {
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
		h.sc.Close()
		h.sv.limit.release()
		h.be.sessions.Add(-1)
		h.r.mu.Lock()
		h.s.server, h.s.srv = nil, nil
		h.r.mu.Unlock()
		h.sc, h.sv, h.be, h.rc, h.srvIdle = nil, nil, nil, nil, false
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
	if h.n == 0 {
		// wait for the next request without holding a buffer
		idle := reqTO
		if !first && t.HTTPKeepAlive > 0 {
			idle = t.HTTPKeepAlive
		}
		h.putBuf()
		if idle > 0 {
			h.c.SetReadDeadline(time.Now().Add(idle))
		}
		// a soft stop closes connections waiting here (closeIdleHTTP)
		h.s.httpIdle.Store(true)
		if h.r.stopping.Load() {
			return false
		}
		var err error
		if h.cp != nil {
			err = h.cp.waitReadable()
		} else { // TLS: read the first bytes into a buffer
			h.getBuf()
			var m int
			m, err = h.c.Read(h.buf)
			h.n += m
			if m > 0 {
				err = nil
			}
		}
		h.s.httpIdle.Store(false)
		if err != nil {
			if first && reqTO > 0 && t.HTTPKeepAlive == 0 {
				h.c.Write(rawErrorPage(408)) // nothing came in time on a new connection
			}
			return false
		}
	}
	h.getBuf()
	if reqTO > 0 {
		h.c.SetReadDeadline(time.Now().Add(reqTO))
	} else {
		h.c.SetReadDeadline(time.Time{})
	}
	for {
		if h.n > 0 {
			err := h1.ParseRequest(h.buf[:h.n], &h.req, h.fe.http.limit)
			switch err {
			case nil:
				return true
			case h1.ErrIncomplete:
			case h1.ErrUnprocessable:
				h.c.Write(rawErrorPage(422))
				return false
			default:
				h.c.Write(rawErrorPage(400))
				return false
			}
			if h.n == len(h.buf) {
				h.c.Write(rawErrorPage(400))
				return false
			}
		}
		m, err := h.c.Read(h.buf[h.n:])
		h.n += m
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && h.n > 0 {
				h.c.Write(rawErrorPage(408))
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
			h.c.Write(rawErrorPage(400))
			return false
		}
	}
	keepAlive := req.KeepAlive() && !fe.px.OptionOn("httpclose") && !req.Ambiguous && !h.r.stopping.Load()
	q := &h.q
	h.hdrs = append(h.hdrs[:0], req.Headers...)
	*q = hreq{method: req.Method, uri: req.URI, major: req.Major, minor: req.Minor, hdrs: h.hdrs, ci: h.ci, tls: h.tls, rt: h.r, fe: fe,
		userlists: fe.http.userlists, arena: h.arena[:0], appendFirst: h.appendFirst}
	defer func() {
		// keep what grew for the next request
		h.arena = q.arena[:0]
		if cap(q.hdrs) > cap(h.hdrs) {
			h.hdrs = q.hdrs[:0]
		}
	}()
	v, resp, be := h.r.route(fe, q, h)
	switch v {
	case vRespond:
		return h.answer(resp, keepAlive)
	case vRespondClose:
		h.c.Write(resp)
		return false
	}
	if be == nil {
		return h.answerError(503, nil, keepAlive)
	}
	return h.forward(be, keepAlive)
}

// route runs the frontend's http-request rules, picks the backend
// (use_backend, default_backend) and runs the backend's rules.
func (r *Runtime) route(fe *frontend, q *hreq, h *hconn) (verdict, []byte, *backend) {
	v, resp := runRequestRules(fe.http.reqRules, q)
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
		h.c.Write(a.resp)
		return false
	}
	return h.answer(a.resp, keepAlive)
}

// answer sends a response made by gohaka, skips the request body and
// tells whether the connection goes on.
func (h *hconn) answer(resp []byte, keepAlive bool) bool {
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
	b := h.out[:0]
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
	h.out = b
	return b
}

// addrHeader appends X-Forwarded-For or X-Original-To as configured.
func (h *hconn) addrHeader(b []byte, ff *forwardFor) []byte {
	return appendAddrHeader(b, ff, h.ci, h.q.hdrs)
}

// appendAddrHeader appends the header ff names with the client's source
// (or destination) address, unless except matches or if-none finds one.
func appendAddrHeader(b []byte, ff *forwardFor, ci connInfo, hdrs []h1.Header) []byte {
	if ff == nil {
		return b
	}
	a := ci.src.Addr()
	if ff.dst {
		a = ci.dst.Addr()
	}
	if ff.except != nil && ff.except.match(ci) {
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
	h.breq.Src, h.breq.URI = h.ci.src.Addr(), unsafeString(q.uri)
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
			idx, picked = be.bal.Pick(&h.breq), true
		}
		if idx >= 0 && h.sc != nil && h.be == be && be.servers[idx] == h.sv {
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
			h.sc, h.rc, h.sv, h.be, h.sp, h.srvReused = ic.c, ic.rc, sv, be, ic.sp, true
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

// serverTimeout is the backend's timeout server.
func (h *hconn) serverTimeout() time.Duration { return h.be.px.Timeouts.Server }

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
	}
	if h.sc != nil && !h.sp.idleOpen() {
		h.srvIdle = false
		h.dropServer() // the server closed the idle connection
	}
	reused, err := h.connectServer(be)
	if err != nil {
		h.r.opts.Logf("backend '%s': %v", be.px.Name, err)
		return h.answerError(503, be, keepAlive)
	}
	head := h.writeRequestHead(be, srvClose)
	h.srvIdle = false // busy until its response has ended cleanly
	h.sc.SetWriteDeadline(deadline(h.serverTimeout()))
	if _, err := h.sc.Write(head); err != nil {
		if reused { // the server closed its idle connection: once more on a new one
			h.dropServer()
			return h.forward(be, keepAlive)
		}
		return h.answerError(502, be, keepAlive)
	}
	if h.sbufp == nil {
		h.sbufp = bufPool.Get().(*[]byte)
		h.sbuf = *h.sbufp
		h.sn = 0
	}
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
		end, n, err := forwardBody(h.sc, h.c, h.buf, bodyStart, h.n, &h.req, &h.ck, h.fe.px.Timeouts.Client)
		if err != nil {
			return false
		}
		h.n = n
		h.consume(end)
	} else {
		h.consume(bodyStart)
	}
	if h.req.Expect100 && hasBody {
		return h.finishResponse(keepAlive, srvClose, true)
	}
	return h.finishResponse(keepAlive, srvClose, true)
}

// relayInterim reads the server's first answer to an Expect: 100-continue
// request; final is true when it is already the final response.
func (h *hconn) relayInterim() (final, ok bool) {
	if err := h.readResponseHead(); err != nil {
		h.sendServerError(err)
		return false, false
	}
	if h.resp.Status == 100 {
		h.hdrs = append(h.hdrs[:0], h.resp.Headers...)
		h.writeResponseHead(true, nil)
		h.sconsume(h.resp.HeadLen)
		return false, true
	}
	return true, true
}

func (h *hconn) sconsume(k int) {
	copy(h.sbuf, h.sbuf[k:h.sn])
	h.sn -= k
}

// readResponseHead reads one response head from the server.
func (h *hconn) readResponseHead() error {
	h.sc.SetReadDeadline(deadline(h.serverTimeout()))
	for {
		if h.sn > 0 {
			err := h1.ParseResponse(h.sbuf[:h.sn], &h.resp, h.fe.http.limit)
			if err == nil {
				return nil
			}
			if err != h1.ErrIncomplete || h.sn == len(h.sbuf) {
				return h1.ErrBad
			}
		}
		m, err := h.sc.Read(h.sbuf[h.sn:])
		h.sn += m
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			return h1.ErrBad
		}
	}
}

func (h *hconn) sendServerError(err error) {
	code := 502
	if errors.Is(err, os.ErrDeadlineExceeded) {
		code = 504
	}
	h.obsServerError(code) // http_obs.go
	resp := h.errorFor(code, h.be).resp
	if !h.req.KeepAlive() { // the client asked for the end: haproxy says so
		resp = addConnClose(resp)
	}
	h.c.Write(resp)
}

// writeResponseHead sends the response head to the client, rules applied.
// writeResponseHead sends the response head, with body (a whole small
// body already read) in the same write.
func (h *hconn) writeResponseHead(keepAlive bool, body []byte) error {
	rs := &h.resp
	b := h.out[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(rs.Status), 10)
	b = append(b, ' ')
	b = append(b, rs.Reason...)
	b = append(b, "\r\n"...)
	for _, hd := range h.hdrs {
		if h1.EqualFold(hd.Name, "connection") && rs.Status != 101 {
			continue
		}
		b = appendLower(b, hd.Name)
		b = append(b, ": "...)
		b = append(b, hd.Value...)
		b = append(b, "\r\n"...)
	}
	if rs.Status >= 200 {
		if !keepAlive {
			b = append(b, "connection: close\r\n"...)
		} else if h.req.Minor == 0 {
			b = append(b, "connection: keep-alive\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	h.out = b
	h.c.SetWriteDeadline(deadline(h.fe.px.Timeouts.Client))
	_, err := h.c.Write(b)
	return err
}

// finishResponse reads (unless already read) and relays the final
// response; false ends the connection.
func (h *hconn) finishResponse(keepAlive, srvClose, read bool) bool {
	for {
		if read {
			if err := h.readResponseHead(); err != nil {
				h.sendServerError(err)
				return false
			}
		}
		read = true
		rs := &h.resp
		h.hdrs = append(h.hdrs[:0], rs.Headers...)
		if rs.Status >= 200 || rs.Status == 101 {
			if denied := h.responseRules(); denied {
				h.c.Write(h.errorFor(502, h.be).resp)
				return false
			}
			if h.be.px.Cookie != nil && rs.Status >= 200 {
				h.cookieResponse(h.be)
			}
		}
		if rs.Status == 101 {
			if h.writeResponseHead(true, nil) != nil {
				return false
			}
			h.sconsume(rs.HeadLen)
			h.tunnel()
			return false
		}
		if rs.Status < 200 {
			if h.writeResponseHead(true, nil) != nil {
				return false
			}
			h.sconsume(rs.HeadLen)
			continue
		}
		noBody := string(h.req.Method) == "HEAD" || rs.Status == 204 || rs.Status == 304
		untilClose := !noBody && !rs.Chunked && rs.ContentLength < 0
		if untilClose || !rs.KeepAlive() {
			srvClose = true
			if untilClose {
				keepAlive = false
			}
		}
		// a small body that came with the head goes out in the same write
		var inline []byte
		if !noBody && !rs.Chunked && rs.ContentLength >= 0 && rs.ContentLength <= 16384 && int64(h.sn-rs.HeadLen) >= rs.ContentLength {
			inline = h.sbuf[rs.HeadLen : rs.HeadLen+int(rs.ContentLength)]
		}
		if h.writeResponseHead(keepAlive, inline) != nil {
			return false
		}
		if noBody {
			h.sconsume(rs.HeadLen)
		} else if inline != nil {
			h.sconsume(rs.HeadLen + len(inline))
		} else {
			end, n, err := forwardBody(h.c, h.sc, h.sbuf, rs.HeadLen, h.sn, rs, &h.ck, h.serverTimeout())
			if err != nil && !(untilClose && err == io.EOF) {
				return false
			}
			h.sn = n
			h.sconsume(end)
		}
		if srvClose {
			h.dropServer()
		} else {
			h.srvIdle = true
		}
		return keepAlive
	}
}

// responseRules applies http-response rules (backend, then frontend);
// true means the response is denied.
func (h *hconn) responseRules() bool {
	var denied bool
	h.hdrs, denied = responseRules(h.fe, h.be, &h.q, h.hdrs)
	return denied
}

// responseRules applies the http-response rules of be, then fe, to the
// response headers hdrs; denied means the response is refused.
func responseRules(fe *frontend, be *backend, q *hreq, hdrs []h1.Header) (_ []h1.Header, denied bool) {
	lists := [][]*httpRule{nil, fe.http.respRules}
	if be != nil && be.http != nil {
		lists[0] = be.http.respRules
	}
	saved := q.hdrs
	q.hdrs = hdrs
	defer func() { q.hdrs = saved }()
	for _, rules := range lists {
		for _, hr := range rules {
			if !hr.cond.eval(q) {
				continue
			}
			switch hr.action {
			case "deny":
				return hdrs, true
			case "allow":
				goto next
			default:
				hdrs, _, _ = applyRewrite(hr, q, hdrs, nil, nil)
				q.hdrs = hdrs
			}
		}
	next:
	}
	return hdrs, false
}

// forwardBody copies a message body whose first bytes are buf[start:n]
// from src to dst, following m's framing. It returns where the body ended
// in buf and how much of buf is in use then (bytes of the next message).
func forwardBody(dst, src net.Conn, buf []byte, start, n int, m *h1.Msg, ck *h1.Chunks, to time.Duration) (int, int, error) {
	switch {
	case m.Chunked:
		// as haproxy: the chunks are decoded and sent again, one chunk per
		// read, sizes in upper-case hex, trailer names in lower case
		ck.Reset()
		var size [20]byte
		for {
			out := buf[start:start]
			k, err := ck.Decode(buf[start:n], &out)
			if err != nil {
				return 0, 0, err
			}
			if len(out) > 0 {
				sz := append(appendHexUpper(size[:0], uint64(len(out))), '\r', '\n')
				bufs := net.Buffers{sz, out, crlf}
				if _, err := bufs.WriteTo(dst); err != nil {
					return 0, 0, err
				}
			}
			if ck.Done() {
				if _, err := dst.Write(lastChunk(ck.Trailer)); err != nil {
					return 0, 0, err
				}
				return start + k, n, nil
			}
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf)
			if r == 0 && err != nil {
				return 0, 0, err
			}
			start, n = 0, r
		}
	case m.ContentLength >= 0:
		left := m.ContentLength
		for {
			k := min(int64(n-start), left)
			if _, err := dst.Write(buf[start : start+int(k)]); err != nil {
				return 0, 0, err
			}
			left -= k
			if left == 0 {
				return start + int(k), n, nil
			}
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf[:min(int64(len(buf)), left)])
			if r == 0 && err != nil {
				return 0, 0, err
			}
			start, n = 0, r
		}
	default: // until the server closes
		if _, err := dst.Write(buf[start:n]); err != nil {
			return 0, 0, err
		}
		for {
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf)
			if r > 0 {
				if _, werr := dst.Write(buf[:r]); werr != nil {
					return 0, 0, werr
				}
			}
			if err != nil {
				return 0, 0, io.EOF
			}
		}
	}
}

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
	var junk [4096]byte
	for i := 0; i < 64; i++ {
		if _, err := c.Read(junk[:]); err != nil {
			return
		}
	}
}

// peeker looks at a socket without reading from it; made once per
// connection, it allocates nothing per call.
type peeker struct {
	rc    syscall.RawConn
	errno syscall.Errno
	wait  bool
	one   [1]byte
	fn    func(fd uintptr) bool
}

func newPeeker(c interface {
	SyscallConn() (syscall.RawConn, error)
}) *peeker {
	p := &peeker{}
	p.rc, _ = c.SyscallConn()
	p.fn = p.peek
	return p
}

func (p *peeker) peek(fd uintptr) bool {
	_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.one[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	p.errno = e
	return !(p.wait && e == syscall.EAGAIN) // EAGAIN while waiting: let the poller wait
}

// waitReadable blocks until data or an end is pending, or the deadline.
func (p *peeker) waitReadable() error {
	if p.rc == nil {
		return errClientGone
	}
	p.wait = true
	return p.rc.Read(p.fn)
}

// idleOpen reports whether an idle connection has neither data nor an end
// pending (a server connection that may be used again).
func (p *peeker) idleOpen() bool {
	if p.rc == nil {
		return false
	}
	p.wait = false
	if p.rc.Read(p.fn) != nil {
		return false
	}
	return p.errno == syscall.EAGAIN
}

var crlf = []byte("\r\n")

func appendHexUpper(b []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// lastChunk is the final chunk with the trailers, names in lower case.
func lastChunk(trailer []byte) []byte {
	if len(trailer) == 0 {
		return []byte("0\r\n\r\n")
	}
	out := []byte("0\r\n")
	for _, l := range bytes.Split(bytes.TrimSuffix(trailer, []byte("\n")), []byte("\n")) {
		name, val, _ := bytes.Cut(l, []byte(":"))
		out = appendLower(out, name)
		out = append(append(append(out, ": "...), bytes.TrimSpace(val)...), "\r\n"...)
	}
	return append(out, "\r\n"...)
}

// closeIdleHTTP ends the http connections that wait for a next request, as
// haproxy does on a soft stop; busy ones end after their response.
func (r *Runtime) closeIdleHTTP() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.sessions {
		if s.httpIdle.Load() {
			s.client.Close()
		}
	}
}
