package proxy

import (
	"sync/atomic"
	"time"
)

// httpCtr are the counters an http-mode proxy or server adds to the
// traffic counters (the hrsp_*, req_*, intercepted and reuse columns).
type httpCtr struct {
	reqTot      atomic.Int64    // requests
	hrsp        [6]atomic.Int64 // responses by class: 1xx..5xx, other
	intercepted atomic.Int64    // answered by the proxy itself (redirect, return, stats, services)
	reuse       atomic.Int64    // requests sent on an already open server connection
	reqRate     rateCtr
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
	switch typ {
	case rowFrontend:
		rate, rmax := h.reqRate.get(now)
		f["req_rate"], f["req_rate_max"] = ui(int(rate)), ui(int(rmax))
		f["intercepted"] = u(h.intercepted.Load())
		f["cache_lookups"], f["cache_hits"] = "0", "0"
	case rowBackend:
		f["cache_lookups"], f["cache_hits"] = "0", "0"
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
	sockConn
	in, out int64
	status  int
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.sockConn.Read(b)
	c.in += int64(n)
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	if c.status < 200 && len(b) >= 12 && string(b[:7]) == "HTTP/1." && b[8] == ' ' {
		if s := int(b[9]-'0')*100 + int(b[10]-'0')*10 + int(b[11]-'0'); s >= 100 && s <= 999 {
			if c.status == 0 || s >= 200 || s == 101 {
				c.status = s
			}
		}
	}
	n, err := c.sockConn.Write(b)
	c.out += int64(n)
	return n, err
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
	intercepted   bool
}

// obsStart wraps the client connection to count its bytes (hook in
// serveHTTP).
func (h *hconn) obsStart() {
	h.ob.cc = &countConn{sockConn: h.c}
	h.c = h.ob.cc
}

// obsBegin starts the books of a request (hook at the top of
// transaction).
func (h *hconn) obsBegin() {
	now := time.Now()
	ob := &h.ob
	ob.start, ob.be, ob.sv, ob.svStarted = now, nil, nil, nil
	ob.tw, ob.tc, ob.denyBE, ob.denied, ob.intercepted = 0, 0, false, false, false
	ob.cc.status = 0
	c := &h.fe.ctr.http
	c.reqTot.Add(1)
	c.reqRate.add(now)
}

// obsRoute records the backend a request reached (hook after routing).
func (h *hconn) obsRoute(be *backend) {
	if be == nil {
		return
	}
	h.ob.be = be
	be.ctr.sessionStart(time.Now())
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
	case "deny":
		h.ob.denied, h.ob.denyBE = true, fromBE
	case "redirect", "return":
		h.ob.intercepted = true
	}
}

// obsAttempt counts a server pick for a request: a load-balanced pick,
// a retry or redispatch, a reused connection or a new one and whether it
// failed (hook in connectServer, after the dial).
func (h *hconn) obsAttempt(be *backend, idx, attempt int, picked, reused bool, err error) {
	sv := be.servers[idx]
	if picked {
		be.ctr.lbtot.Add(1)
		sv.st.ctr.lbtot.Add(1)
	}
	if attempt > 0 {
		if picked {
			be.ctr.wredis.Add(1)
			sv.st.ctr.wredis.Add(1)
		} else {
			be.ctr.wretr.Add(1)
			sv.st.ctr.wretr.Add(1)
		}
	}
	if reused {
		be.ctr.http.reuse.Add(1)
		sv.st.ctr.http.reuse.Add(1)
	} else {
		be.ctr.connects.Add(1)
		sv.st.ctr.connects.Add(1)
		si := &h.s.info
		if !si.connStart.IsZero() {
			h.ob.tw = si.connStart.Sub(si.queueStart)
			h.ob.tc = time.Since(si.connStart)
		}
	}
	if err != nil {
		h.r.noteConnError(be, sv, err)
	}
	ob := &h.ob
	ob.sv = sv
	if ob.svStarted != sv {
		if ob.svStarted != nil {
			ob.svStarted.st.ctr.scur.Add(-1)
		}
		sv.st.ctr.sessionStart(time.Now())
		sv.st.ctr.http.reqTot.Add(1)
		ob.svStarted = sv
	}
}

// obsNoServer counts a request for which the backend had no server.
func (h *hconn) obsNoServer(be *backend) {
	be.ctr.econ.Add(1)
}

// obsEnd closes the books of a request (deferred at the top of
// transaction): bytes, status class, denials, times.
func (h *hconn) obsEnd() {
	ob := &h.ob
	in, out := ob.cc.in-ob.lastIn, ob.cc.out-ob.lastOut
	ob.lastIn, ob.lastOut = ob.cc.in, ob.cc.out
	status := ob.cc.status
	fe := &h.fe.ctr
	fe.bin.Add(in)
	fe.bout.Add(out)
	if status > 0 {
		fe.http.noteStatus(status)
	}
	if ob.denied {
		fe.dreq.Add(1)
	}
	if ob.intercepted {
		fe.http.intercepted.Add(1)
	}
	tt := time.Since(ob.start)
	if be := ob.be; be != nil {
		be.ctr.sessionEnd(in, out, ob.tw, ob.tc, tt)
		if status > 0 {
			be.ctr.http.noteStatus(status)
		}
		if ob.denied && ob.denyBE {
			be.ctr.dreq.Add(1)
		}
	}
	if sv := ob.svStarted; sv != nil {
		sv.st.ctr.sessionEnd(in, out, ob.tw, ob.tc, tt)
		if status > 0 {
			sv.st.ctr.http.noteStatus(status)
		}
	}
}
