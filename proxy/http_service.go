package proxy

import (
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
)

// The stats page and the Prometheus exporter inside ordinary http
// proxies: `stats enable` / `stats uri` in a frontend, listen or backend
// that also forwards, and `http-request use-service
// prometheus-exporter`. The http engine answers them; statshttp.go only
// serves proxies that do nothing else.

// httpPage is the stats page of a proxy served by the http engine.
func (r *Runtime) httpPage(px *parser.Proxy) *statsPage {
	if v, ok := r.obs.httpPages.Load(px); ok {
		return v.(*statsPage)
	}
	p := &statsPage{px: px, slots: newGate(0)}
	if px.Stats.Admin != nil {
		if c, err := r.compileCond(px.Stats.Admin, px.ACLs); err != nil {
			r.opts.Logf("%s: stats admin: %v; the page stays read-only", px.Stats.Admin.Pos, err)
		} else {
			p.admin, p.adminOK = c, true
		}
	}
	v, _ := r.obs.httpPages.LoadOrStore(px, p)
	return v.(*statsPage)
}

// statsAnswer answers a request for px's stats uri (hook in transaction,
// after px's http-request rules), nil when px has no stats page or the
// request is for something else. A 401 (stats auth) ends the connection,
// as haproxy's does.
func (h *hconn) statsAnswer(px *parser.Proxy) (verdict, []byte) {
	if !px.Stats.Enabled {
		return vContinue, nil
	}
	uri := px.Stats.URI
	if uri == "" {
		uri = "/haproxy?stats"
	}
	q := &h.q
	if !strings.HasPrefix(unsafeString(q.uri), uri) {
		return vContinue, nil
	}
	req := &pageRequest{method: string(q.method), target: string(q.uri), header: map[string]string{}}
	if v, ok := q.firstHeader("authorization"); ok {
		req.header["authorization"] = v
	}
	if h.req.ContentLength > 0 && int64(h.n-h.req.HeadLen) >= h.req.ContentLength {
		req.body = append([]byte{}, h.buf[h.req.HeadLen:h.req.HeadLen+int(h.req.ContentLength)]...)
	}
	h.ob.intercepted = true
	h.fe.ctr.http.intercepted.Add(1)
	status, hdrs, body := h.r.pageAnswer(h.r.httpPage(px), req, h.ci)
	if status == 401 {
		return vRespondClose, addConnClose(pageResponse(status, hdrs, body))
	}
	return vRespond, pageResponse(status, hdrs, body)
}

// pageResponse is a full response for the http engine (which adds
// connection: close itself when the connection ends).
func pageResponse(status int, hdrs [][2]string, body string) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + statusText(status) + "\r\n")
	for _, hd := range hdrs {
		b.WriteString(hd[0] + ": " + hd[1] + "\r\n")
	}
	b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// serviceAnswer runs `http-request use-service`: the Prometheus exporter.
func (r *Runtime) serviceAnswer() []byte {
	return pageResponse(200, [][2]string{{"cache-control", "no-cache"}, {"content-type", "text/plain; version=0.0.4"}}, r.Metrics())
}
