package proxy

// This file answers requests from the cache and keeps the responses
// cache-store chose, as they are relayed (http_cache.go has the rules).

import (
	"net"
	"net/http"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// countCache books a cache-use lookup and hit on the proxy whose rule
// ran: the backend's when the rule is a backend's, else the frontend's.
func (q *hreq) countCache(looked, hit bool) {
	if !looked {
		return
	}
	c := &q.fe.ctr.http
	if q.be != nil && q.be.px != q.fe.px {
		c = &q.be.ctr.http
	}
	c.cacheLookups.Add(1)
	if hit {
		c.cacheHits.Add(1)
	}
}

// serveCached answers the request with the response cache-use found: as
// in haproxy the response rules run on it (cache-store aside) and the
// log names the server <CACHE>.
func (h *hconn) serveCached(be *backend, keepAlive bool) bool {
	head, body := h.cache.hit.answer(&h.q, time.Now())
	rs := &h.resp
	if err := h1.ParseResponse(head, rs, len(head)+1024); err != nil {
		return h.answerError(500, be, keepAlive)
	}
	h.ob.cached = true
	h.hdrs = append(h.hdrs[:0], rs.Headers...)
	h.cache.reason = rs.Reason
	var out respOutcome
	h.hdrs, out = serverResponseRules(h.fe, be, &h.q, rs.Status, h.hdrs)
	if out.reason != nil { // set-status
		rs.Status, rs.Reason = h.q.status, out.reason
	}
	if out.rule != nil { // deny, return, redirect
		h.obsAnswerResponse(out.rule)
		return h.answer(out.reply, keepAlive)
	}
	if h.writeResponseHead(keepAlive, body) != nil {
		return false
	}
	// haproxy counts the response as its cache made it, before the rules
	// ran on it, as it counts a server's (headAdjust), and a body's data,
	// not its chunk framing
	h.ob.srvOut = int64(len(head)) + headAdjust(head)
	if body != nil {
		h.ob.srvOut += h.cache.hit.msg
	}
	if !keepAlive || h.req.Upgrade {
		return false
	}
	return h.skipBody()
}

// serveCachedH2 answers an HTTP/2 stream from the cache, as serveCached
// an HTTP/1.1 request.
func (h *hconn) serveCachedH2(w http.ResponseWriter, be *backend) {
	e := h.cache.hit
	head, body := e.answer(&h.q, time.Now())
	var m h1.Msg
	if err := h1.ParseResponse(head, &m, len(head)+1024); err != nil {
		h.writeRaw(w, errorFor(h.fe, 500, be).bytes(&h.q))
		return
	}
	h.ob.cached = true
	h.cache.reason = m.Reason
	hdrs, out := serverResponseRules(h.fe, be, &h.q, m.Status, append([]h1.Header(nil), m.Headers...))
	status := m.Status
	if out.reason != nil { // set-status
		status = h.q.status
	}
	if out.rule != nil { // deny, return, redirect
		h.obsAnswerResponse(out.rule)
		h.writeRaw(w, out.reply)
		return
	}
	writeH2Head(w, hdrs, status) // h2.go
	if fl, ok := w.(http.Flusher); ok && m.Chunked {
		fl.Flush() // the head goes now: no content-length of Go's making
	}
	h.answered(status, 0)
	h.ob.srvOut = int64(len(head)) + headAdjust(head)
	if body != nil {
		h.ob.srvOut += e.msg
		w.Write(e.payload(m.Chunked, body))
	}
}

// cacheTee passes a response body to the client and keeps a copy for
// the cache.
type cacheTee struct {
	net.Conn
	t *cacheTxn
}

func (w cacheTee) Write(b []byte) (int, error) {
	w.t.add(b)
	return w.Conn.Write(b)
}
