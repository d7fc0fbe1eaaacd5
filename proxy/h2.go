package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// serveH2 serves a TLS client connection on which ALPN chose "h2": the
// standard library's HTTP/2 server runs the streams, and each request goes
// through the frontend's rules and routing and on to a server as
// HTTP/1.1, its response streamed back.
func (r *Runtime) serveH2(fe *frontend, s *session, tc *tls.Conn, ci connInfo) {
	hc := &h2conn{r: r, fe: fe, s: s, ci: ci, idle: map[*server][]*h2srv{}, sessVars: ci.vars}
	defer hc.closeIdle()
	ln := &oneConn{c: tc, done: make(chan struct{})}
	connDone := make(chan struct{})
	var closeOnce sync.Once
	t := fe.px.Timeouts
	idle := t.HTTPKeepAlive
	if idle == 0 {
		idle = t.Client
	}
	srv := &http.Server{
		Handler:     hc,
		IdleTimeout: idle,
		HTTP2:       &http.HTTP2Config{MaxConcurrentStreams: h2MaxStreams(r.gcfg)},
		ErrorLog:    log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				ln.Close()
				closeOnce.Do(func() { close(connDone) })
			}
		},
	}
	// a soft stop ends the connection gracefully (GOAWAY, running streams
	// finish); the watch wakes once a second
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ln.done:
				return
			case <-tick.C:
				if r.stopping.Load() {
					srv.Shutdown(context.Background())
					return
				}
			}
		}
	}()
	srv.Serve(ln)
	<-connDone // Serve returns when the listener closes; the streams may still run
}

// oneConn is a listener that hands out one connection, then waits until
// it is closed.
type oneConn struct {
	mu   sync.Mutex
	c    net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConn) Addr() net.Addr { return &net.TCPAddr{} }

// h2conn is one HTTP/2 client connection: its streams share the server
// connections it keeps idle between requests.
type h2conn struct {
	r       *Runtime
	fe      *frontend
	s       *session
	ci      connInfo
	streams atomic.Int64 // streams begun (h2_obs.go)
	mu      sync.Mutex
	idle    map[*server][]*h2srv
	// sessVars are the session's variables (sess.*), under mu: each
	// stream starts with a copy and replaces them if it set one
	sessVars []hvar
}

// h2srv is an HTTP/1.1 connection to a server.
type h2srv struct {
	c  net.Conn // *releasingConn or *tls.Conn over one
	rc *releasingConn
	br *bufio.Reader
	bw *bufio.Writer
	sp *peeker
}

func (hc *h2conn) closeIdle() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for sv, l := range hc.idle {
		for _, c := range l {
			c.c.Close()
		}
		delete(hc.idle, sv)
	}
}

// hopByHop are the headers of one connection, never passed on.
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "content-length": true, "host": true}

// ServeHTTP runs one stream: rules, routing, forwarding.
func (hc *h2conn) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	fe := hc.fe
	hdrs := []h1.Header{{Name: []byte("host"), Value: []byte(req.Host)}}
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range req.Header[k] {
			hdrs = append(hdrs, h1.Header{Name: []byte(lk), Value: []byte(v)})
		}
	}
	h := hc.stream(req, hdrs) // the stream's books (h2_obs.go)
	h.obsBegin()
	defer h.obsEnd()
	q := &h.q
	hc.mu.Lock()
	vars := append([]hvar(nil), hc.sessVars...)
	hc.mu.Unlock()
	*q = hreq{method: []byte(req.Method), uri: []byte(req.RequestURI), major: 2, hdrs: hdrs, ci: &h.ci, tls: req.TLS,
		rt: hc.r, fe: fe, userlists: fe.http.userlists, appendFirst: h.appendFirst, uid: h.uid, caps: &h.ob.reqVals,
		firstReq: h.ob.nreq == 1, rcaps: &h.ob.cc.resVals, ob: &h.ob, cacheTx: &h.cache, vars: vars}
	defer func() {
		if q.sessSet {
			kept := keepSessVars(nil, q.vars)
			hc.mu.Lock()
			hc.sessVars = kept
			hc.mu.Unlock()
		}
	}()
	v, resp, be := hc.r.route(fe, q, h)
	switch {
	case v == vCached:
		h.serveCachedH2(w, be) // http_cache_serve.go
	case v == vRespond || v == vRespondClose:
		h.writeRaw(w, resp)
	case be == nil:
		h.writeRaw(w, errorFor(fe, 503, nil).bytes(q))
	default:
		hc.forward(w, req, h, be)
	}
}

// writeRaw sends and books an answer gohaka made.
func (h *hconn) writeRaw(w http.ResponseWriter, raw []byte) {
	raw = h.afterReply(raw) // http-after-response
	h.answeredRaw(raw)
	writeRaw(w, raw)
}

// writeRaw sends an HTTP/1.1 answer made by gohaka (return, redirect,
// deny, error page) as an HTTP/2 response.
func writeRaw(w http.ResponseWriter, raw []byte) {
	var m h1.Msg
	if err := h1.ParseResponse(raw, &m, 1<<20); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	writeH2Head(w, m.Headers, m.Status)
	w.Write(raw[m.HeadLen:])
}

// writeH2Head sends an answer's headers (content-length kept, the other
// hop-by-hop ones dropped) and status on an HTTP/2 stream.
func writeH2Head(w http.ResponseWriter, hdrs []h1.Header, status int) {
	for _, hd := range hdrs {
		if n := strings.ToLower(string(hd.Name)); !hopByHop[n] || n == "content-length" {
			w.Header().Add(n, string(hd.Value))
		}
	}
	if w.Header().Get("content-type") == "" {
		w.Header()["Content-Type"] = nil // no sniffing
	}
	w.WriteHeader(status)
}

var errH2Retry = errors.New("server closed a reused connection")

// forward balances the request on be, sends it to the server as
// HTTP/1.1 and streams the answer back.
func (hc *h2conn) forward(w http.ResponseWriter, req *http.Request, h *hconn, be *backend) {
	q := &h.q
	br := balance.Request{Src: q.ci.src.Addr(), URI: string(q.uri), Header: q.firstHeader}
	// a small body is kept, so that a retry on a fresh connection can
	// send it again; a larger one is streamed as it comes (no retry then)
	var body []byte
	var stream io.Reader
	cr := &countingReader{r: req.Body} // the body's bytes count as the request's
	defer func() { h.ob.cc.in += cr.n }()
	if req.ContentLength != 0 {
		b, err := io.ReadAll(io.LimitReader(cr, maxKeptBody+1))
		if err != nil {
			return
		}
		body = b
		if len(b) > maxKeptBody {
			body, stream = nil, io.MultiReader(bytes.NewReader(b), cr)
		}
	}
	h.compAlgo = "" // http_comp.go
	if c := compFor(hc.fe, be); c != nil && req.Method != "HEAD" {
		h.compAlgo = c.pickAlgo(q.hdrs)
		if c.offload {
			q.hdrs = delHeader(q.hdrs, "accept-encoding")
		}
	}
	// persistence cookie, then use-server, then balancing
	force := -1
	var ck *hconn
	if be.px.Cookie != nil {
		ck = h
		h.cookieRequest(be)
		force = h.forceIdx
	}
	if u := pickUseServer(be, q); u >= 0 {
		force = u
	}
	var err error
	for attempt := 0; attempt <= be.px.Retries+1; attempt++ {
		idx := -1
		if attempt == 0 {
			idx = force
		}
		be.mu.Lock()
		if idx < 0 {
			idx = be.bal.Pick(&br)
		}
		if idx >= 0 {
			be.bal.Acquire(idx)
		}
		be.mu.Unlock()
		if idx < 0 {
			hc.r.connErrf(be, "%v", errNoServer)
			h.obsNoServer(be)
			h.writeRaw(w, errorFor(hc.fe, 503, be).bytes(q))
			return
		}
		if ck != nil {
			ck.forceIdx = force
		}
		err = hc.exchange(w, req, h, be, idx, attempt, attempt > 0 || force < 0, body, stream, ck)
		be.mu.Lock()
		be.bal.Release(idx)
		be.mu.Unlock()
		if err == nil {
			return
		}
		if !errors.Is(err, errH2Retry) && !errors.Is(err, errDial) || stream != nil && !errors.Is(err, errDial) {
			break
		}
	}
	if errors.Is(err, errDial) {
		h.writeRaw(w, errorFor(hc.fe, 503, be).bytes(q))
	}
}

var errDial = errors.New("cannot connect")

// maxKeptBody is the largest request body kept for a retry.
const maxKeptBody = 64 << 10

// sendStream sends a request body as it comes from the client: length
// bytes, or chunked when the length is unknown (-1).
func sendStream(sc *h2srv, body io.Reader, length int64, idle time.Duration) error {
	var dst io.Writer = sc.bw
	var cw io.WriteCloser
	if length < 0 {
		cw = httputil.NewChunkedWriter(sc.bw)
		dst = cw
	} else {
		body = io.LimitReader(body, length)
	}
	buf := bufPool.Get()
	defer bufPool.Put(buf)
	var sent int64
	for {
		n, err := body.Read(*buf)
		if n > 0 {
			sc.c.SetDeadline(deadline(idle))
			if _, werr := dst.Write((*buf)[:n]); werr != nil {
				return werr
			}
			sent += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if length >= 0 && sent != length {
		return io.ErrUnexpectedEOF
	}
	if cw != nil {
		cw.Close()
		sc.bw.WriteString("\r\n")
	}
	return nil
}

// getConn takes an idle connection to sv (server idx of be): one of the
// backend's shared ones (http-reuse other than never), one this client
// connection kept, or a new one.
func (hc *h2conn) getConn(be *backend, idx int) (*h2srv, bool, error) {
	sv := be.servers[idx]
	if p := be.http.pool; p.mode != "never" {
		if ic := p.take(idx, false, ppKeyFor(sv, hc.ci.src, hc.ci.dst)); ic != nil {
			wait := be.px.Timeouts.Queue
			if wait == 0 {
				wait = be.px.Timeouts.Connect
			}
			if err := sv.limit.acquire(func() int { return int(be.sessions.Load()) }, be.fullconn, wait, nil); err != nil {
				ic.close()
				hc.r.connErrf(be, "server '%s': %v", sv.srv.Name, err)
				return nil, false, errDial
			}
			ic.rc.once = sync.Once{}
			ic.rc.release = func() { sv.limit.release(); be.sessions.Add(-1) }
			be.sessions.Add(1)
			return &h2srv{c: ic.c, rc: ic.rc, br: bufio.NewReaderSize(ic.c, 16<<10), bw: bufio.NewWriterSize(ic.c, 16<<10), sp: ic.sp}, true, nil
		}
	}
	hc.mu.Lock()
	for l := hc.idle[sv]; len(l) > 0; l = hc.idle[sv] {
		c := l[len(l)-1]
		hc.idle[sv] = l[:len(l)-1]
		if c.sp.idleOpen() {
			hc.mu.Unlock()
			return c, true, nil
		}
		c.c.Close()
	}
	hc.mu.Unlock()
	var si sessInfo // per stream: the client connection's counters are not shared
	c, err := hc.r.dial(be, sv, nil, &si)
	if err != nil {
		hc.r.connErrf(be, "%v", err)
		return nil, false, errDial
	}
	rc := &releasingConn{TCPConn: c.(*net.TCPConn), release: func() { sv.limit.release(); be.sessions.Add(-1) }}
	be.sessions.Add(1)
	var conn net.Conn = rc
	if sv.srv.SendProxy || sv.srv.SendProxyV2 {
		if _, err := rc.Write(proxyHeader(sv.srv.SendProxyV2, hc.ci.src, hc.ci.dst)); err != nil {
			rc.Close()
			return nil, false, errDial
		}
	}
	if sv.tls != nil {
		tc, err := hc.r.serverHandshake(be, sv, rc, hc.ci)
		if err != nil {
			rc.Close()
			return nil, false, errDial
		}
		conn = tc
	}
	return &h2srv{c: conn, rc: rc, br: bufio.NewReaderSize(conn, 16<<10), bw: bufio.NewWriterSize(conn, 16<<10), sp: newPeeker(rc.TCPConn)}, false, nil
}

func (hc *h2conn) putConn(be *backend, idx int, c *h2srv) {
	if p := be.http.pool; p.mode != "never" {
		c.rc.once.Do(c.rc.release) // its slots go back while it is idle
		p.put(idx, &idleConn{c: c.c, rc: c.rc, sp: c.sp, idx: idx, be: be, reuse: true, pp: ppKeyFor(be.servers[idx], hc.ci.src, hc.ci.dst)})
		return
	}
	sv := be.servers[idx]
	hc.mu.Lock()
	hc.idle[sv] = append(hc.idle[sv], c)
	hc.mu.Unlock()
}

// exchange sends one request on a connection to server idx and relays the
// response; errH2Retry and errDial mean nothing reached the client yet.
func (hc *h2conn) exchange(w http.ResponseWriter, req *http.Request, h *hconn, be *backend, idx, attempt int, picked bool, body []byte, stream io.Reader, ck *hconn) error {
	q := &h.q
	sc, reused, err := hc.getConn(be, idx)
	h.obsAttempt(be, idx, attempt, picked, reused, err)
	if err != nil {
		return err
	}
	fail := func(e error) error {
		sc.c.Close()
		if reused {
			return errH2Retry
		}
		code := 502
		if errors.Is(e, os.ErrDeadlineExceeded) {
			code = 504
		}
		h.obsServerError(code)
		h.writeRaw(w, errorFor(hc.fe, code, be).bytes(q))
		return e
	}
	// the head, rewritten by the rules, with haproxy's added headers
	b := make([]byte, 0, 1024)
	b = append(b, q.method...)
	b = append(b, ' ')
	b = append(b, q.uri...)
	b = append(b, " HTTP/1.1\r\n"...)
	for _, hd := range q.hdrs {
		b = appendLower(b, hd.Name)
		b = append(b, ": "...)
		b = append(b, hd.Value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case stream != nil && req.ContentLength < 0:
		b = append(b, "transfer-encoding: chunked\r\n"...)
	case stream != nil:
		b = append(b, "content-length: "...)
		b = strconv.AppendInt(b, req.ContentLength, 10)
		b = append(b, "\r\n"...)
	case len(body) > 0 || req.ContentLength > 0:
		b = append(b, "content-length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	ff, ot := hc.fe.http.forwardFor, hc.fe.http.originalTo
	if be.http != nil && be.http.forwardFor != nil {
		ff = be.http.forwardFor
	}
	if be.http != nil && be.http.originalTo != nil {
		ot = be.http.originalTo
	}
	b = appendAddrHeader(b, ff, &hc.ci, q.hdrs)
	b = appendAddrHeader(b, ot, &hc.ci, q.hdrs)
	b = append(b, "\r\n"...)
	sc.c.SetDeadline(deadline(be.px.Timeouts.Server))
	sc.bw.Write(b)
	sc.bw.Write(body)
	if stream != nil {
		reused = false // the body cannot be sent again
		if err := sendStream(sc, stream, req.ContentLength, be.px.Timeouts.Server); err != nil {
			return fail(err)
		}
	}
	if err := sc.bw.Flush(); err != nil {
		return fail(err)
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(sc.br, &http.Request{Method: req.Method})
		if err != nil {
			if reused && errors.Is(err, io.EOF) {
				sc.c.Close()
				return errH2Retry
			}
			reused = false
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == 101 {
			break
		}
	}
	defer resp.Body.Close()
	// response rules see the headers in a stable order
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rh []h1.Header
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			rh = append(rh, h1.Header{Name: []byte(strings.ToLower(k)), Value: []byte(v)})
		}
	}
	h.ob.srvStatus = resp.StatusCode
	rh, ro := serverResponseRules(hc.fe, be, q, resp.StatusCode, rh)
	if ro.reason != nil { // set-status (h2 has no reason phrase)
		resp.StatusCode = q.status
	}
	if ck != nil && resp.StatusCode >= 200 {
		ck.hdrs, ck.sv = rh, be.servers[idx]
		ck.cookieResponse(be)
		rh = ck.hdrs
	}
	if caps := h.ob.caps; caps != nil && len(caps.res) > 0 { // what the client gets, as haproxy captures it
		for len(h.ob.cc.resVals) < len(caps.res) {
			h.ob.cc.resVals = append(h.ob.cc.resVals, "")
		}
		for i, c := range caps.res {
			if !c.rule { // a rule's slot has its value already
				h.ob.cc.resVals[i] = captureValue(rh, c)
			}
		}
	}
	if ro.rule != nil || resp.StatusCode == 101 {
		sc.c.Close()
		reply := ro.reply
		if reply == nil {
			reply = errorFor(hc.fe, 502, be).bytes(q)
		}
		h.writeRaw(w, reply)
		return nil
	}
	h.ob.srvOut = respHeadSize(resp)                 // and the body as it goes
	keep := h.cache.store != nil && q.cacheTx != nil // cache-store: the body is kept as it goes
	algo := h.compAlgo
	if algo == "" || resp.StatusCode == 204 || resp.StatusCode == 304 ||
		!compFor(hc.fe, be).compressible(&h1.Msg{Status: resp.StatusCode}, rh) {
		algo = ""
	} else {
		rh = compHeaders(rh, algo)
	}
	for _, hd := range rh {
		if n := string(hd.Name); !hopByHop[n] {
			w.Header().Add(n, string(hd.Value))
		}
	}
	if algo == "" && resp.ContentLength >= 0 && resp.Header.Get("Content-Length") != "" {
		w.Header().Set("content-length", strconv.FormatInt(resp.ContentLength, 10))
	}
	if w.Header().Get("content-type") == "" {
		w.Header()["Content-Type"] = nil // no sniffing
	}
	w.WriteHeader(resp.StatusCode)
	h.answered(resp.StatusCode, 0)
	fl, _ := w.(http.Flusher)
	var out io.Writer = w
	var enc io.WriteCloser
	cw := &countingWriter{w: w}
	if algo != "" {
		enc = compWriter(algo, cw)
		out = enc
	}
	var in int64
	buf := bufPool.Get()
	defer bufPool.Put(buf)
	for {
		n, rerr := resp.Body.Read(*buf)
		if n > 0 {
			h.ob.srvOut += int64(n)
			in += int64(n)
			if keep {
				h.cache.add((*buf)[:n])
			}
			if _, werr := out.Write((*buf)[:n]); werr != nil {
				sc.c.Close()
				return nil
			}
			if f, ok := enc.(interface{ Flush() error }); ok {
				f.Flush()
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			sc.c.Close()
			return nil
		}
		sc.c.SetDeadline(deadline(be.px.Timeouts.Server))
	}
	if keep {
		if algo != "" || len(resp.TransferEncoding) == 0 && resp.ContentLength < 0 {
			h.cache.store = nil // kept only as it came, with a length
		}
		h.cache.commitDecoded(len(resp.TransferEncoding) > 0)
	}
	if enc != nil {
		enc.Close()
		if len(resp.TransferEncoding) > 0 {
			in++ // haproxy counts a chunked body's end as a byte
		}
		countCompressed(hc.fe, be, in, cw.n)
	}
	if len(resp.TransferEncoding) > 0 { // haproxy counts the chunked body's end and the trailers
		h.ob.srvOut++
		for k, vs := range resp.Trailer {
			for _, v := range vs {
				h.ob.srvOut += int64(len(k) + len(v))
			}
		}
	}
	// bytes after the body (a HEAD answered with one) spoil the connection
	if resp.Close || sc.br.Buffered() > 0 || be.px.OptionOn("http-server-close") || be.px.OptionOn("httpclose") {
		sc.c.Close()
		return nil
	}
	sc.c.SetDeadline(time.Time{})
	hc.putConn(be, idx, sc)
	return nil
}

// h2MaxStreams is tune.h2.max-concurrent-streams (haproxy's default 100).
func h2MaxStreams(g *parser.Global) int {
	for _, l := range g.Settings {
		if len(l.Words) == 2 && l.Words[0] == "tune.h2.max-concurrent-streams" {
			if n, err := strconv.Atoi(l.Words[1]); err == nil && n > 0 {
				return n
			}
		}
	}
	return 100
}
