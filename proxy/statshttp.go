package proxy

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The stats page's own HTTP/1.1 responder: one request per connection,
// answered with "connection: close". It is kept apart from the rest so
// that the http mode can take the page over (servePage is the only entry).

// pageRequest is the part of a request the stats page reads.
type pageRequest struct {
	method, target string
	header         map[string]string
	body           []byte
}

func readPageRequest(br *bufio.Reader) (*pageRequest, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	parts := strings.Fields(line)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, fmt.Errorf("bad request line")
	}
	req := &pageRequest{method: parts[0], target: parts[1], header: map[string]string{}}
	for n := 0; ; n++ {
		if n > 100 {
			return nil, fmt.Errorf("too many headers")
		}
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		k, v, ok := strings.Cut(h, ":")
		if ok {
			req.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if cl := req.header["content-length"]; cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("bad content-length")
		}
		req.body = make([]byte, n)
		if _, err := io.ReadFull(br, req.body); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func writePage(c io.Writer, status int, reason string, hdrs [][2]string, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, reason)
	for _, h := range hdrs {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	fmt.Fprintf(&b, "content-length: %d\r\nconnection: close\r\n\r\n", len(body))
	b.WriteString(body)
	io.WriteString(c, b.String())
}

// servePage answers one connection to a stats page.
func (r *Runtime) servePage(p *statsPage, c net.Conn) {
	defer c.Close()
	p.slots.enter()
	defer p.slots.leave()
	now := time.Now()
	p.fe.connTot.Add(1)
	p.fe.connRate.add(now)
	p.fe.sessionStart(now)
	to := p.px.Timeouts.Client
	if to == 0 {
		to = 10 * time.Second
	}
	c.SetDeadline(time.Now().Add(to))
	cr := &countingReader{r: c}
	req, err := readPageRequest(bufio.NewReader(cr))
	if err != nil {
		p.fe.ereq.Add(1)
		p.fe.sessionEnd(cr.n, 0, 0, 0, time.Since(now))
		return
	}
	status, hdrs, body := r.pageAnswer(p, req, ci(c))
	cw := &countingWriter{w: c}
	writePage(cw, status, statusText(status), hdrs, body)
	switch {
	case status < 200:
		p.hrsp[0].Add(1)
	case status < 600:
		p.hrsp[status/100-1].Add(1)
	default:
		p.hrsp[5].Add(1)
	}
	p.intercepted.Add(1)
	p.requests.Add(1)
	r.obs.cumReq.Add(1)
	p.fe.sessionEnd(cr.n, cw.n, 0, 0, time.Since(now))
	p.be.bin.Add(cr.n)
	p.be.bout.Add(cw.n)
}

func ci(c net.Conn) connInfo {
	return connInfo{src: addrPort(c.RemoteAddr()), dst: addrPort(c.LocalAddr())}
}

func statusText(s int) string {
	switch s {
	case 200:
		return "OK"
	case 303:
		return "See Other"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 503:
		return "Service Unavailable"
	}
	return "Bad Request"
}

// pageAnswer routes a request: the page, ;csv, ;json, an admin POST, or
// haproxy's answers for an unknown URI and missing credentials.
func (r *Runtime) pageAnswer(p *statsPage, req *pageRequest, conn connInfo) (int, [][2]string, string) {
	px := p.px
	if rule := promRule(px); rule != nil {
		path, _, _ := strings.Cut(req.target, "?")
		if promMatch(rule, path) {
			return 200, [][2]string{{"cache-control", "no-cache"}, {"content-type", "text/plain; version=0.0.4"}}, r.Metrics()
		}
	}
	uri := px.Stats.URI
	if uri == "" {
		uri = "/haproxy?stats"
	}
	if !px.Stats.Enabled || !strings.HasPrefix(req.target, uri) {
		return 503, [][2]string{{"content-type", "text/html"}, {"cache-control", "no-cache"}},
			"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
	}
	user, pass, hasAuth := basicAuth(req.header["authorization"])
	if !pageAuth(px, user, pass, hasAuth) {
		realm := px.Stats.Realm
		if realm == "" {
			realm = "HAProxy Statistics"
		}
		return 401, [][2]string{{"content-type", "text/html"}, {"cache-control", "no-cache"}, {"www-authenticate", `Basic realm="` + realm + `"`}},
			"<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
	}
	opts := strings.Split(strings.TrimPrefix(req.target, uri), ";")
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	admin := p.adminOK && p.admin.eval(conn)
	if req.method == "POST" {
		if !admin {
			return 403, [][2]string{{"content-type", "text/html"}}, "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"
		}
		st := r.pageAction(string(req.body))
		return 303, [][2]string{{"location", uri + ";st=" + st}, {"cache-control", "no-cache"}}, ""
	}
	var rows []*statRow
	for _, row := range r.statRows(px.Stats.ShowLegends) {
		if len(px.Stats.Scopes) > 0 && !contains(px.Stats.Scopes, row.px) && !(row.px == px.Name && contains(px.Stats.Scopes, ".")) {
			continue // `stats scope`: only the listed proxies ("." is this one)
		}
		rows = append(rows, row)
	}
	switch {
	case has("csv"):
		var b strings.Builder
		b.WriteString(statHeader())
		for _, row := range rows {
			b.WriteString(strings.Join(row.fields(), ","))
			b.WriteString(",\n")
		}
		return 200, [][2]string{{"cache-control", "no-cache"}, {"content-type", "text/plain"}}, b.String()
	case has("json"):
		return 200, [][2]string{{"cache-control", "no-cache"}, {"content-type", "application/json"}}, statJSON(rows)
	}
	hdrs := [][2]string{{"cache-control", "no-cache"}, {"content-type", "text/html"}}
	refresh := px.Stats.Refresh > 0 && !has("norefresh")
	if refresh {
		hdrs = append(hdrs, [2]string{"refresh", strconv.Itoa(int(px.Stats.Refresh / time.Second))})
	}
	var done string
	for _, o := range opts {
		if s, ok := strings.CutPrefix(o, "st="); ok {
			done = s
		}
	}
	return 200, hdrs, r.renderPage(p, rows, pageView{uri: uri, admin: admin, refresh: refresh, upOnly: has("up"),
		noMaint: has("no-maint"), done: done})
}

func basicAuth(h string) (user, pass string, ok bool) {
	enc, found := strings.CutPrefix(h, "Basic ")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return
}

// pageAction applies an admin form (b=<backend or #id>&s=<server>...&
// action=ready|drain|maint|enable|disable) and returns the st= word of
// haproxy's redirect: DONE, PART, NONE or ERRP.
func (r *Runtime) pageAction(body string) string {
	v, err := url.ParseQuery(body)
	if err != nil {
		return "ERRP"
	}
	bname := v.Get("b")
	var be *backend
	if id, ok := strings.CutPrefix(bname, "#"); ok {
		for px, n := range r.obs.ids {
			if strconv.Itoa(n) == id {
				be = r.backends[px.Name]
			}
		}
	} else {
		be = r.backends[bname]
	}
	action := map[string]string{"ready": "ready", "enable": "ready", "drain": "drain", "maint": "maint", "disable": "maint"}[v.Get("action")]
	if be == nil || action == "" {
		return "ERRP"
	}
	done, total := 0, 0
	for _, s := range v["s"] {
		total++
		if i := be.serverIndex(s); i >= 0 {
			r.setAdmin(be, i, action)
			done++
		}
	}
	switch {
	case total == 0:
		return "NONE"
	case done == total:
		return "DONE"
	case done > 0:
		return "PART"
	}
	return "NONE"
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
