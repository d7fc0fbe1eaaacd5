package proxy

import (
	"bytes"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// httpCtr are the counters an http-mode proxy or server adds to the
// traffic counters (the hrsp_*, req_*, intercepted and reuse columns).
type httpCtr struct {
	reqTot      atomic.Int64    // requests
	hrsp        [6]atomic.Int64 // responses by class: 1xx..5xx, other
	intercepted atomic.Int64    // answered by the proxy itself (redirect, return, stats, services)
	reuse       atomic.Int64    // requests sent on an already open server connection
	// cache-use: requests looked up in a cache, and answered from it
	cacheLookups, cacheHits atomic.Int64
	reqRate                 rateCtr
	// compression (http_comp.go): body bytes in and out, responses
	compIn, compOut, compRsp atomic.Int64
}

// noteStatus counts one response by its status class.
func (c *httpCtr) noteStatus(status int) {
	i := status/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	c.hrsp[i].Add(1)
}

// httpFields adds the http columns of a frontend, backend or server row.
func httpFields(f map[string]string, c *counters, typ int, now time.Time) {
	h := &c.http
	names := [...]string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"}
	for i, n := range names {
		f[n] = u(h.hrsp[i].Load())
	}
	f["req_tot"] = u(h.reqTot.Load())
	if typ != rowServer {
		f["comp_in"], f["comp_out"], f["comp_rsp"] = u(h.compIn.Load()), u(h.compOut.Load()), u(h.compRsp.Load())
	}
	switch typ {
	case rowFrontend:
		rate, rmax := h.reqRate.get(now)
		f["req_rate"], f["req_rate_max"] = ui(int(rate)), ui(int(rmax))
		f["intercepted"] = u(h.intercepted.Load())
		f["cache_lookups"], f["cache_hits"] = u(h.cacheLookups.Load()), u(h.cacheHits.Load())
	case rowBackend:
		f["cache_lookups"], f["cache_hits"] = u(h.cacheLookups.Load()), u(h.cacheHits.Load())
		f["reuse"] = u(h.reuse.Load())
	case rowServer:
		f["reuse"] = u(h.reuse.Load())
	}
}

// countConn counts the bytes of a client connection and reads the
// status of the first final response head written after each reset:
// every response gohaka sends, relayed or its own, starts a Write with
// its status line.
type countConn struct {
	halfCloser
	in, out  int64
	status   int
	first    time.Time // the first byte read since the last reset
	statusAt time.Time // when the status was written
	resCaps  []capHdr  // `capture response header`: read from the final head
	resVals  []string
	p        *peeker // on a plain socket: writes go out with its send
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.halfCloser.Read(b)
	c.counted(n)
	return n, err
}

// counted books n bytes read from the client by whatever means.
func (c *countConn) counted(n int) {
	c.in += int64(n)
	if n > 0 && c.first.IsZero() {
		c.first = clockNow()
	}
}

func (c *countConn) Write(b []byte) (int, error) {
	if c.status < 200 && len(b) >= 12 && string(b[:7]) == "HTTP/1." && b[8] == ' ' {
		if s := int(b[9]-'0')*100 + int(b[10]-'0')*10 + int(b[11]-'0'); s >= 100 && s <= 999 {
			if c.status == 0 || s >= 200 || s == 101 {
				c.status = s
				c.statusAt = clockNow()
				if len(c.resCaps) > 0 && s >= 200 {
					c.resVals = captureHead(b, c.resCaps, c.resVals)
				}
			}
		}
	}
	var n int
	var err error
	if c.p != nil {
		n, err = c.p.send(b)
	} else {
		n, err = c.halfCloser.Write(b)
	}
	c.out += int64(n)
	if n == len(b) && len(b) >= 12 && string(b[:7]) == "HTTP/1." {
		c.out += headAdjust(b)
	}
	return n, err
}

// headAdjust is what haproxy 2.6 counts for a message head beyond its
// bytes on the wire: it counts heads in its internal form, the start
// line's three parts plus 21 bytes, header names and values without
// separators, and no Connection header (it keeps that as flags): 15
// bytes more than the wire, less 4 per header line, less each
// Connection line. The stats bin/bout and the log's %U/%B then agree
// with haproxy's (measured against haproxy 2.6 in
// TestHTTPStatsMatchHAProxy and TestHTTPLogLinesMatchHAProxy).
func headAdjust(b []byte) int64 {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	head := b[:end+2]
	i := bytes.Index(head, []byte("\r\n"))
	adj := int64(15)
	for rest := head[i+2:]; len(rest) > 0; {
		j := bytes.Index(rest, []byte("\r\n"))
		line := rest[:j]
		rest = rest[j+2:]
		if len(line) >= 11 && h1.EqualFold(line[:11], "connection:") {
			adj -= int64(len(line) + 2)
		} else {
			adj -= 4
		}
	}
	return adj
}

// httpObs is what one http connection records for the counters and the
// log line of its current request.
type httpObs struct {
	cc            *countConn
	lastIn        int64
	lastOut       int64
	start         time.Time // the request head is complete
	be            *backend  // the backend the request reached
	sv            *server   // the server it went to (the last one tried)
	svStarted     *server
	tw, tc        time.Duration
	connectedOnce bool
	denyBE        bool // denied by a backend rule
	denied        bool
	tarpit        bool // denied after timeout tarpit (tw): PT--
	rejected      bool // reject, silent-drop: closed with no answer (status -1)
	// contentRejected: rejected by a tcp-request content rule, which
	// haproxy runs before it keeps the request line for the log
	contentRejected bool
	srvAborted      bool // the server closed before a byte of response (SH--)
	respDenied      bool // the server's response was denied (http-response deny)
	srvStatus       int  // the server's own status, before response rules (0: none)
	respReplaced    bool // an http-response rule answered instead (deny: respDenied too)
	intercepted     bool
	cached          bool // answered from the cache (cache-use)
	noServer        bool // no server available, or the connection failed
	connFailed      bool // noServer because the connection to the server picked failed
	ckReq, ckResp   byte // persistence cookie letters of the log's termination state (0: -)
	// srvOut: the bytes of the server's response as haproxy counts them
	// (before rewrites; 0: no server response was relayed)
	srvOut       int64
	id           int64 // the request's number (%rt)
	connTimeout  bool  // the last connection attempt ran out of timeout connect
	srvErr       int   // 502: the server's response was invalid; 504: it did not come in time
	retries      int
	redispatched bool
	reused       bool
	sent         time.Time // the request went to the server
	end          time.Time // the books of the previous request closed
	streamStart  time.Time // accept, then the end of the previous request
	nreq         int       // requests on this connection
	line         []byte    // method, uri and version, for the log
	nm, nu       int
	caps         *captureSpec
	reqVals      []string
	tx           httpTx // the log record, last: used only when logging
}

// obsStart wraps the client connection to count its bytes (hook in
// serveHTTP).
func (h *hconn) obsStart() {
	h.ob.cc = &countConn{halfCloser: h.c, p: h.cp}
	h.c = h.ob.cc
	if h.ob.caps = h.r.captures(h.fe.px); h.ob.caps != nil {
		h.ob.cc.resCaps = h.ob.caps.res
	}
}

// logged reports whether the frontend logs its requests somewhere.
func (h *hconn) logged() bool {
	ls := h.r.obs.logs
	return ls != nil && ls.byProxy[h.fe.px] != nil
}

// lineParts is a part of the kept request line: capture.req.method, the
// URI from its path on (capture.req.uri) or capture.req.ver.
func (ob *httpObs) lineParts(part string) []byte {
	switch part {
	case "capture.req.method":
		return ob.line[:ob.nm]
	case "capture.req.ver":
		return ob.line[ob.nm+ob.nu:]
	}
	u := ob.line[ob.nm : ob.nm+ob.nu]
	if i := bytes.Index(u, []byte("://")); i >= 0 && len(u) > 0 && u[0] != '/' {
		rest := u[i+3:]
		if j := bytes.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return nil
	}
	return u
}

// obsBegin starts the books of a request (hook at the top of
// transaction).
func (h *hconn) obsBegin() {
	now := clockNow()
	ob := &h.ob
	ob.start, ob.be, ob.sv, ob.svStarted = now, nil, nil, nil
	ob.tw, ob.tc, ob.denyBE, ob.denied, ob.intercepted = 0, 0, false, false, false
	ob.tarpit, ob.rejected, ob.respDenied, ob.srvStatus, ob.respReplaced = false, false, false, 0, false
	ob.noServer, ob.retries, ob.redispatched, ob.reused, ob.sent = false, 0, false, false, time.Time{}
	ob.connFailed, ob.connTimeout, ob.cached = false, false, false
	ob.contentRejected, ob.srvAborted = false, false
	ob.ckReq, ob.ckResp = 0, 0
	ob.srvOut = 0
	ob.srvErr = 0
	ob.cc.status = 0
	if ob.nreq == 0 {
		ob.streamStart = h.s.info.start
	}
	ob.nreq++
	// the request's number (%rt), given as haproxy gives it, at its start
	if ob.nreq > 1 {
		ob.id = h.r.obs.nextSID.Add(1)
	} else {
		ob.id = h.s.info.id
	}
	h.uid = ""
	if f := h.fe.px.UniqueIDFormat; f != "" {
		h.uid = h.uniqueID(f, now)
	}
	ob.cc.in += headAdjust(h.buf[:h.req.HeadLen]) // as haproxy counts a head
	// the request line is kept for the log line: the buffer may be
	// reused by then
	if h.logged() || h.r.keepReqLine {
		ob.line = append(append(append(ob.line[:0], h.req.Method...), h.req.URI...), "HTTP/"...)
		if h.req.Major == 2 {
			ob.line = append(ob.line, "2.0"...)
		} else {
			ob.line = append(ob.line, '1', '.', byte('0'+h.req.Minor))
		}
		ob.nm, ob.nu = len(h.req.Method), len(h.req.URI)
	}
	if ob.caps != nil {
		ob.reqVals = ob.reqVals[:0]
		for _, c := range ob.caps.req {
			ob.reqVals = append(ob.reqVals, captureValue(h.req.Headers, c))
		}
		ob.cc.resVals = ob.cc.resVals[:0]
		for range ob.caps.res {
			ob.cc.resVals = append(ob.cc.resVals, "")
		}
	}
}

// obsCount counts the request as the frontend's http request, once the
// tcp-request content rules let it through (haproxy counts no request
// they reject; hook in route).
func (h *hconn) obsCount() {
	h.r.obs.cumReq.Add(1)
	c := &h.fe.ctr.http
	c.reqTot.Add(1)
	c.reqRate.add(h.ob.start)
}

// uniqueID renders unique-id-format f for the request begun at now. Out
// of obsBegin, whose frame would otherwise hold its records on every
// request.
//
//go:noinline
func (h *hconn) uniqueID(f string, now time.Time) string {
	tx := &httpTx{id: h.ob.id, accept: h.ob.streamStart}
	return renderLogFormat(f, &logVars{r: h.r, s: h.s, end: now, tx: tx})
}

// obsRoute records the backend a request reached (hook after routing).
func (h *hconn) obsRoute(be *backend) {
	if be == nil {
		return
	}
	h.ob.be = be
	be.ctr.sessionStart(h.since(h.ob.start)) // routed a moment after the head was read
	be.ctr.http.reqTot.Add(1)
}

// obsAnswer records that rules answered the request themselves: a deny
// (by a backend rule when fromBE) or an intercepted request (redirect,
// return).
func (h *hconn) obsAnswer(rule *httpRule, fromBE bool) {
	if rule == nil {
		return
	}
	switch rule.action {
	case "deny", "tarpit", "reject", "silent-drop":
		h.ob.denied, h.ob.denyBE = true, fromBE
		h.ob.tarpit = rule.action == "tarpit"
		h.ob.rejected = rule.action == "reject" || rule.action == "silent-drop"
		h.ob.contentRejected = rule.content
	case "redirect", "return":
		h.ob.intercepted = true
		h.fe.ctr.http.intercepted.Add(1)
	case "use-service": // counted by runRequestRules before the exporter renders
		h.ob.intercepted = true
	}
}

// obsAnswerResponse books a server response replaced by an http-response
// rule: a deny counts as a denied response (hook in responseRules).
func (h *hconn) obsAnswerResponse(rule *httpRule) {
	h.ob.respReplaced = true
	if rule.action != "deny" {
		return
	}
	h.fe.ctr.dresp.Add(1)
	if h.be != nil {
		h.be.ctr.dresp.Add(1)
	}
	if sv := h.ob.svStarted; sv != nil {
		sv.st.ctr.dresp.Add(1)
	}
	h.ob.respDenied = true
}

// obsAttempt counts a server pick for a request: a load-balanced pick,
// a retry or redispatch, a reused connection or a new one and whether it
// failed (hook in connectServer, after the dial).
func (h *hconn) obsAttempt(be *backend, idx, attempt int, picked, reused bool, err error) {
	sv := be.servers[idx]
	countPick(be, sv, attempt, picked)
	if reused {
		be.ctr.http.reuse.Add(1)
		sv.st.ctr.http.reuse.Add(1)
	} else {
		be.ctr.connects.Add(1)
		sv.st.ctr.connects.Add(1)
		si := &h.s.info
		if !si.connStart.IsZero() {
			h.ob.tw = si.connStart.Sub(si.queueStart)
			h.ob.tc = clockNow().Sub(si.connStart)
		}
	}
	ob := &h.ob
	ob.noServer, ob.reused, ob.retries, ob.redispatched = err != nil, reused, attempt, picked && attempt > 0
	ob.connFailed, ob.connTimeout = err != nil, timedOut(err)
	ob.sent = clockNow()
	if reused {
		ob.tw, ob.tc = 0, 0
	}
	if err != nil {
		h.r.noteConnError(be, sv, err)
	}
	ob.sv = sv
	if ob.svStarted != sv {
		if ob.svStarted != nil {
			ob.svStarted.st.ctr.scur.Add(-1)
		}
		sv.st.ctr.sessionStart(clockNow())
		ob.svStarted = sv
	}
}

// obsNoServer counts a request for which the backend had no server.
func (h *hconn) obsNoServer(be *backend) {
	be.ctr.econ.Add(1)
	h.ob.noServer, h.ob.connFailed = true, false
}

// obsEnd closes the books of a request (deferred at the top of
// transaction): bytes, status class, denials, times.
func (h *hconn) obsEnd() {
	ob := &h.ob
	in, out := ob.cc.in-ob.lastIn, ob.cc.out-ob.lastOut
	ob.lastIn, ob.lastOut = ob.cc.in, ob.cc.out
	if ob.srvOut > 0 { // a server's response went out: haproxy counts it as it came
		out = ob.srvOut
	}
	status := ob.cc.status
	if ob.rejected {
		status = -1 // haproxy's "no status": counted as other
	}
	fe := &h.fe.ctr
	fe.bin.Add(in)
	fe.bout.Add(out)
	if status != 0 {
		fe.http.noteStatus(status)
	}
	if ob.denied {
		fe.dreq.Add(1)
	}
	now := clockNow()
	ob.end = now
	tt := now.Sub(ob.start)
	if be := ob.be; be != nil {
		be.ctr.sessionEnd(in, out, ob.tw, ob.tc, tt)
		if status != 0 {
			be.ctr.http.noteStatus(status)
		}
		if ob.denied && ob.denyBE {
			be.ctr.dreq.Add(1)
		}
	}
	if sv := ob.svStarted; sv != nil {
		sv.st.ctr.sessionEnd(in, out, ob.tw, ob.tc, tt)
		if status > 0 && ob.srvErr == 0 && !ob.noServer { // the server's own answers
			sv.st.ctr.http.reqTot.Add(1)
			st := status
			if ob.srvStatus > 0 { // before response rules changed or replaced it
				st = ob.srvStatus
			}
			sv.st.ctr.http.noteStatus(st)
		}
	}
	if h.q.sc != (trackSet{}) || h.ci.sc != nil {
		h.untrackRequest(in, out, status)
	}
	h.obsLog(in, out, status)
}

// obsLog fills the request's log record and emits its line.
func (h *hconn) obsLog(in, out int64, status int) {
	ob := &h.ob
	now := ob.end // obsEnd's clock reading
	if !h.logged() || h.q.silent {
		// nowhere to log, or http-request set-log-level silent: no record
		ob.streamStart = now
		ob.cc.first, ob.cc.status = time.Time{}, 0
		return
	}
	tx := &ob.tx
	id := ob.id
	first := ob.cc.first
	if first.IsZero() || first.After(ob.start) {
		first = ob.start // pipelined: read with the previous request
	}
	*tx = httpTx{id: id, uid: h.uid, accept: ob.streamStart, first: first, headDone: ob.start, end: now, tw: ob.tw, tc: ob.tc,
		server: ob.svStarted != nil && !ob.noServer, connFailed: ob.connFailed, status: status, in: in, out: out, sv: ob.svStarted,
		retries: ob.retries, redispatched: ob.redispatched, beName: h.fe.px.Name, term: "----",
		method: ob.line[:ob.nm], uri: ob.line[ob.nm : ob.nm+ob.nu], ver: ob.line[ob.nm+ob.nu:]}
	if ob.be != nil {
		tx.beName = ob.be.px.Name
	}
	if ob.caps != nil {
		if len(ob.caps.req) > 0 {
			tx.reqCaps = ob.reqVals
		}
		if len(ob.caps.res) > 0 {
			tx.resCaps = ob.cc.resVals
			if ob.svStarted == nil || ob.noServer || ob.srvErr != 0 { // only a server's answers are captured
				for i := range tx.resCaps {
					tx.resCaps[i] = ""
				}
			}
		}
	}
	if tx.server && !ob.cc.statusAt.IsZero() && !ob.sent.IsZero() {
		tx.gotResp, tx.tr = true, ob.cc.statusAt.Sub(ob.sent)
	}
	tx.noTR, tx.tarpit, tx.badReq = ob.tarpit || ob.rejected, ob.tarpit, ob.contentRejected
	if ob.cached { // haproxy's cache answers at once: every timer 0
		tx.cached, tx.server, tx.gotResp, tx.tw, tx.tc, tx.tr = true, true, true, 0, 0, 0
	}
	switch {
	case ob.respDenied: // http-response deny
		tx.term, tx.gotResp = "PH--", false
	case ob.respReplaced: // http-response return, redirect
		tx.term, tx.gotResp = "LH--", false
	case ob.tarpit:
		tx.term = "PT--"
	case ob.denied:
		tx.term = "PR--"
	case ob.intercepted, ob.cached:
		tx.term = "LR--"
	case ob.noServer && ob.connTimeout:
		tx.term = "sC--"
	case ob.noServer:
		tx.term = "SC--"
	case ob.srvErr == 502 && ob.srvAborted:
		tx.term, tx.gotResp = "SH--", false
	case ob.srvErr == 502:
		tx.term, tx.gotResp = "PH--", false // haproxy: a protocol error found by the proxy
	case ob.srvErr == 504:
		tx.term, tx.gotResp = "sH--", false
	}
	if ob.ckReq != 0 {
		tx.term = cookieTerm(tx.term, ob.ckReq, ob.ckResp)
	}
	if ob.noServer && !ob.connFailed { // a failed connection keeps its server's name, as in haproxy
		tx.sv = nil
	}
	h.logRequest(tx)
	ob.streamStart = now
	ob.cc.first, ob.cc.status = time.Time{}, 0
}

// cookieTerm puts the persistence cookie letters in a termination state.
func cookieTerm(term string, req, resp byte) string {
	if resp == 0 {
		resp = '-'
	}
	return term[:2] + string([]byte{req, resp})
}

// obsNoRequest counts and logs a connection that ended without a
// request it could parse (hook in serveHTTP). An empty first
// connection: haproxy counts a request, a request error and a 4xx, and
// logs a "<BADREQ>" line with status 400 and CR--. A bad or incomplete
// request answered with an error (400, 408, ...): the same counts with
// its status, PR-- (cR-- for a timeout).
func (h *hconn) obsNoRequest(first bool) {
	ob := &h.ob
	in := ob.cc.in - ob.lastIn
	status, term := ob.cc.status, "PR--"
	switch {
	case status == 0 && in == 0 && first:
		status, term = 400, "CR--"
	case status == 0:
		return // an idle keep-alive connection closed
	case status == 408:
		term = "cR--"
	}
	if sc := h.ci.sc; sc != nil { // a request and an error for the session's counters
		sc.count(dHTTPReqCnt, dHTTPReqRate, 1)
		sc.count(dHTTPErrCnt, dHTTPErrRate, 1)
	}
	c := &h.fe.ctr
	c.ereq.Add(1)
	c.http.reqTot.Add(1)
	c.http.noteStatus(status)
	now := time.Now() // haproxy counts no bytes for it: its mux answers
	start := ob.streamStart
	if ob.nreq == 0 {
		start = h.s.info.start
	}
	if in == 0 {
		start = now
	}
	first0 := ob.cc.first
	if first0.IsZero() {
		first0 = start
	}
	id := h.s.info.id
	if ob.nreq > 0 {
		id = h.r.obs.nextSID.Add(1)
	}
	tx := &ob.tx
	*tx = httpTx{id: id, accept: start, first: first0, headDone: now, end: now, status: status,
		beName: h.fe.px.Name, term: term, badReq: true}
	h.logRequest(tx)
}

// obsServerError counts a server response that was invalid (502) or did
// not come in time (504) (hook in sendServerError): a response error on
// the backend and the server, as haproxy counts them.
func (h *hconn) obsServerError(code int) {
	h.ob.srvErr = code
	if be := h.ob.be; be != nil {
		be.ctr.eresp.Add(1)
	}
	if sv := h.ob.svStarted; sv != nil {
		sv.st.ctr.eresp.Add(1)
	}
}
