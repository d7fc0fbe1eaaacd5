package proxy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// stkctr is an entry of a table being tracked.
type stkctr struct {
	t *ctrTable
	e *ctrEntry
}

// trackSet holds the sticky counters sc0, sc1 and sc2 of a session
// (tcp-request connection and session rules) or of a stream (an http
// request: http-request and, in http mode, tcp-request content rules).
type trackSet [3]stkctr

// track makes counter n track key in t unless it tracks an entry
// already; as in haproxy, each track counts a connection (conn_cnt,
// conn_rate, conn_cur). False when nothing is tracked: a table full of
// tracked entries.
func (ts *trackSet) track(n int, t *ctrTable, key string) bool {
	if ts[n].e != nil {
		return false
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(key, true, now)
	if e == nil {
		return false
	}
	e.refs++
	t.touch(e, now)
	t.add(e, dConnCnt, 1)
	t.add(e, dConnRate, 1)
	t.add(e, dConnCur, 1)
	ts[n] = stkctr{t, e}
	return true
}

// count adds n to a counter and to its rate in every tracked entry.
func (ts *trackSet) count(cnt, rate ctrKind, n int64) {
	for i := range ts {
		ts[i].count(cnt, rate, n)
	}
}

// count adds n to a counter and to its rate of a tracked entry (none
// tracked: nothing).
func (c stkctr) count(cnt, rate ctrKind, n int64) {
	if c.e == nil {
		return
	}
	c.t.mu.Lock()
	c.t.add(c.e, cnt, n)
	c.t.add(c.e, rate, n)
	c.t.mu.Unlock()
}

// ended counts a finished exchange: its bytes and, by the status the
// client got, an http error (a 4xx, and the requests a rule denied) or
// failure (a server's 5xx but 501 and 505).
func (ts *trackSet) ended(in, out int64, status int, denied, fromServer bool) {
	ts.count(dBytesInCnt, dBytesInRate, in)
	ts.count(dBytesOutCnt, dBytesOutRate, out)
	switch {
	case denied || fromServer && status >= 400 && status < 500:
		ts.count(dHTTPErrCnt, dHTTPErrRate, 1)
	case fromServer && status >= 500 && status != 501 && status != 505:
		ts.count(dHTTPFailCnt, dHTTPFailRate, 1)
	}
}

// release stops tracking: the connection is no longer current and the
// entries start to expire from now.
func (ts *trackSet) release() {
	now := time.Now()
	for i := range ts {
		c := ts[i]
		if c.e == nil {
			continue
		}
		c.t.mu.Lock()
		c.t.add(c.e, dConnCur, -1)
		c.e.refs--
		c.t.touch(c.e, now)
		c.t.mu.Unlock()
		ts[i] = stkctr{}
	}
}

// tracked returns counter n, looked for in the stream's set, then in
// the session's.
func tracked(stream, sess *trackSet, n int) stkctr {
	if stream != nil && stream[n].e != nil {
		return stream[n]
	}
	if sess != nil {
		return sess[n]
	}
	return stkctr{}
}

// ctrTableFor returns the counters of the stick table called name (a
// proxy's, or a peers section's "peers/table"), made on first use.
func (r *Runtime) ctrTableFor(name string, pos parser.Pos) (*ctrTable, error) {
	if t := r.ctrTables[name]; t != nil {
		return t, nil
	}
	l := stickTableLine(r.cfg, name)
	if l == nil {
		return nil, fmt.Errorf("%s: no stick-table '%s'", pos, name)
	}
	t, err := newCtrTable(name, l)
	if err != nil {
		return nil, err
	}
	r.ctrTables[name] = t
	return t, nil
}

// trackRule is a compiled track-scN action.
type trackRule struct {
	n   int
	t   *ctrTable
	key fetchFn
}

// compileTrack compiles `track-scN KEY [table NAME]` of proxy px.
func (r *Runtime) compileTrack(px *parser.Proxy, pr *parser.Rule) (*trackRule, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(pr.Action, "track-sc"))
	if err != nil || n < 0 || n > 2 {
		return nil, fmt.Errorf("%s: '%s %s': gohaka has sticky counters sc0, sc1 and sc2", pr.Pos, pr.Keyword, pr.Action)
	}
	a := pr.Args
	if len(a) == 0 {
		return nil, fmt.Errorf("%s: '%s %s' needs a sample to track", pr.Pos, pr.Keyword, pr.Action)
	}
	name := px.Name
	if len(a) > 2 && a[1] == "table" {
		name = a[2]
	}
	tr := &trackRule{n: n}
	if tr.t, err = r.ctrTableFor(name, pr.Pos); err != nil {
		return nil, err
	}
	tr.key, _, err = httpFetch(a[0], pr.Pos, r)
	return tr, err
}

// run tracks the rule's key in set, unless its counter is tracked in
// set or in other already; true when it tracked.
func (tr *trackRule) run(q *hreq, set, other *trackSet) bool {
	if set[tr.n].e != nil || other != nil && other[tr.n].e != nil {
		return false
	}
	start := len(q.arena)
	tr.key(q, q.appendFirst)
	v := q.arena[start:]
	q.arena = q.arena[:start]
	if len(v) == 0 {
		return false
	}
	key, ok := tr.t.key(v)
	return ok && set.track(tr.n, tr.t, key)
}

// trackSession runs a tcp-request track rule on a new connection: its
// counters are the session's. True when it tracked.
func (r *Runtime) trackSession(tr *trackRule, ci *connInfo) bool {
	if ci.sc == nil {
		ci.sc = &trackSet{}
	}
	q := hreq{ci: ci, rt: r}
	q.appendFirst = func(v []byte) bool { q.arena = append(q.arena, v...); return false }
	return tr.run(&q, ci.sc, nil)
}

// trackRequest counts a new http request in the session's counters and
// runs the frontend's tcp-request content rules for it: vRespondClose
// when one rejected it.
func (r *Runtime) trackRequest(fe *frontend, q *hreq) verdict {
	if q.ci.sc != nil {
		q.ci.sc.count(dHTTPReqCnt, dHTTPReqRate, 1)
	}
	for _, tr := range fe.streamTracks {
		switch {
		case tr.act != nil: // accept, reject, set-var, set-src...: for this request
			switch v, _ := runRequestRules(tr.act, q); v {
			case vAllow: // accept ends the content rules
				return vContinue
			case vRespondClose:
				return v
			}
		case !tr.cond.eval(*q.ci):
		case tr.inc != nil:
			tr.inc.run(&q.sc, q.ci.sc)
		case tr.track.run(q, &q.sc, q.ci.sc):
			q.sc[tr.track.n].count(dHTTPReqCnt, dHTTPReqRate, 1)
		}
	}
	return vContinue
}

// untrackRequest closes a request's books in the counters it was
// tracked by, and in the session's (hook in obsEnd).
func (h *hconn) untrackRequest(in, out int64, status int) {
	denied := h.ob.denied && !h.ob.rejected || h.q.answered != nil && h.q.answered.action == "auth"
	fromServer := h.ob.srvStatus > 0
	if fromServer { // errors and failures are the server's statuses, before response rules
		status = h.ob.srvStatus
	}
	h.q.sc.ended(in, out, status, denied, fromServer)
	if h.ci.sc != nil {
		h.ci.sc.ended(in, out, status, denied, fromServer)
	}
	h.q.sc.release()
}

// untrackSession ends a session's tracking; a tcp session's bytes are
// counted then (an http session's were, request by request).
func untrackSession(si *sessInfo) {
	sc := si.ci.sc
	if sc == nil {
		return
	}
	if si.fe == nil || si.fe.http == nil {
		sc.count(dBytesInCnt, dBytesInRate, si.bytesIn.Load())
		sc.count(dBytesOutCnt, dBytesOutRate, si.bytesOut.Load())
	}
	sc.release()
}

// gpcInc is an sc-inc-gpc0(N) or sc-inc-gpc1(N) action: counter N's
// entry gets one more in the gpc and its rate.
type gpcInc struct {
	n     int
	kinds [2]ctrKind
}

// gpcAction reads "sc-inc-gpc0(N)" or "sc-inc-gpc1(N)".
func gpcAction(action string) (gpcInc, bool) {
	rest, ok := strings.CutPrefix(action, "sc-inc-gpc")
	if !ok || len(rest) != 4 || rest[1] != '(' || rest[3] != ')' || rest[2] < '0' || rest[2] > '2' {
		return gpcInc{}, false
	}
	switch rest[0] {
	case '0':
		return gpcInc{n: int(rest[2] - '0'), kinds: [2]ctrKind{dGPC0, dGPC0Rate}}, true
	case '1':
		return gpcInc{n: int(rest[2] - '0'), kinds: [2]ctrKind{dGPC1, dGPC1Rate}}, true
	}
	return gpcInc{}, false
}

// run counts one in the entry counter n tracks (the stream's, else the
// session's); nothing when none is tracked.
func (g *gpcInc) run(stream, sess *trackSet) {
	tracked(stream, sess, g.n).count(g.kinds[0], g.kinds[1], 1)
}
