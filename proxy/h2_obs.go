package proxy

import (
	"net/http"
	"strings"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// The books of HTTP/2 streams. Each stream is counted and logged as the
// HTTP/1.1 engine counts and logs a request (http_obs.go): an hconn
// stands for the stream, holding no connection, only the request as
// haproxy's logs show it (absolute URI from :scheme and :authority,
// HTTP/2.0) and the counters; the first stream of a connection takes the
// connection's number (%rt), the next ones new numbers.

// stream makes the books of one stream, its request head counted as
// haproxy counts it: the start line's parts plus 21 bytes, and each
// header's name and value (the host header haproxy makes from
// :authority included).
func (hc *h2conn) stream(req *http.Request, hdrs []h1.Header) *hconn {
	n := hc.streams.Add(1) - 1
	h := &hconn{r: hc.r, fe: hc.fe, s: hc.s, ci: hc.ci, tls: req.TLS, forceIdx: -1}
	h.ob.cc = &countConn{}
	h.ob.caps = hc.r.captures(hc.fe.px)
	now := time.Now()
	h.ob.nreq = int(n)
	h.ob.streamStart = now
	h.ob.cc.first = now
	uri := "https://" + req.Host + req.RequestURI
	h.req = h1.Msg{Method: []byte(req.Method), URI: []byte(uri), Major: 2, Headers: hdrs, ContentLength: -1}
	h.breq.Header, h.breq.Src = h.hdrLookup, hc.ci.src.Addr()
	h.appendFirst = func(v []byte) bool { h.q.arena = append(h.q.arena, v...); return false }
	size := int64(21 + len(req.Method) + len(uri) + len("HTTP/2.0") + len("host") + len(req.Host))
	for k, vs := range req.Header {
		if k == "Host" {
			continue
		}
		for _, v := range vs {
			size += int64(len(k) + len(v))
		}
	}
	h.ob.cc.in = size
	return h
}

// answered books the status and the bytes of what the client got.
func (h *hconn) answered(status int, out int64) {
	cc := h.ob.cc
	if cc.status == 0 {
		cc.status, cc.statusAt = status, time.Now()
	}
	cc.out += out
}

// answeredRaw books an answer gohaka made (an error page, a redirect,
// a return) as the HTTP/1.1 engine counts one it writes.
func (h *hconn) answeredRaw(raw []byte) {
	var m h1.Msg
	if h1.ParseResponse(raw, &m, 1<<20) != nil {
		return
	}
	h.answered(m.Status, int64(len(raw))+headAdjust(raw))
}

// respHeadSize is a server's response head as haproxy counts it (see
// headAdjust): the status line's parts plus 21 bytes, each header's name
// and value but Connection's; Go keeps Transfer-Encoding aside.
func respHeadSize(resp *http.Response) int64 {
	reason := ""
	if len(resp.Status) > 4 {
		reason = resp.Status[4:]
	}
	size := int64(21 + len(resp.Proto) + 3 + len(reason))
	for k, vs := range resp.Header {
		if k == "Connection" {
			continue
		}
		for _, v := range vs {
			size += int64(len(k) + len(v))
		}
	}
	if len(resp.TransferEncoding) > 0 {
		size += int64(len("transfer-encoding") + len(strings.Join(resp.TransferEncoding, ", ")))
	}
	return size
}
