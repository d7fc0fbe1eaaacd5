package proxy

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// logFmt is a compiled log-format string: literal parts and fetches.
type logFmt struct {
	parts []fmtPart
}

type fmtPart struct {
	lit   string
	fetch fetchFn // with its converters
}

// compileFmt compiles the %[fetch] and %ci-style parts gohaka knows.
func compileFmt(s string, pos parser.Pos, rt *Runtime) (logFmt, error) {
	var f logFmt
	for len(s) > 0 {
		i := strings.IndexByte(s, '%')
		if i < 0 || i+1 >= len(s) {
			f.parts = append(f.parts, fmtPart{lit: s})
			break
		}
		if i > 0 {
			f.parts = append(f.parts, fmtPart{lit: s[:i]})
		}
		s = s[i+1:]
		switch {
		case s[0] == '%':
			f.parts = append(f.parts, fmtPart{lit: "%"})
			s = s[1:]
		case s[0] == '[':
			j := sampleEnd(s)
			if j < 0 {
				return f, fmt.Errorf("%s: unterminated %%[ in '%s'", pos, s)
			}
			fn, _, err := httpFetch(s[1:j], pos, rt)
			if err != nil {
				return f, err
			}
			if requestOnly(s[1:j], false) {
				fn = noResponseValue(fn)
			}
			f.parts = append(f.parts, fmtPart{fetch: fn})
			s = s[j+1:]
		case strings.HasPrefix(s, "ci"):
			fn, _, _ := httpFetch("src", pos, rt)
			f.parts = append(f.parts, fmtPart{fetch: fn})
			s = s[2:]
		default:
			return f, fmt.Errorf("%s: log-format variable '%%%s' is not available in gohaka's http runtime yet", pos, s)
		}
	}
	return f, nil
}

// sampleEnd finds the ']' closing the %[ that s starts with: the first
// one outside a converter's or fetch's parentheses; -1 when there is
// none.
func sampleEnd(s string) int {
	depth := 0
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case ']':
			if depth <= 0 {
				return i
			}
		}
	}
	return -1
}

// eval appends the value to q.arena.
func (f *logFmt) eval(q *hreq) {
	for _, p := range f.parts {
		if p.fetch == nil {
			q.arena = append(q.arena, p.lit...)
			continue
		}
		p.fetch(q, q.appendFirst)
	}
}

// value evaluates f into q's arena; the result stays valid for the
// request (a grown arena leaves earlier values where they were).
func (f *logFmt) value(q *hreq) []byte {
	start := len(q.arena)
	f.eval(q)
	return q.arena[start:len(q.arena):len(q.arena)]
}

// httpRule is one compiled http-request or http-response rule.
type httpRule struct {
	action string
	cond   *hcond
	name   string
	nameB  []byte
	value  logFmt
	re     *regexp.Regexp
	slot   int // capture: the request capture slot, max its length
	max    int
	status int
	resp   []byte // prepared answer (return, deny, redirect, auth)
	close  bool   // the answer has no length: the connection ends
	redir  *redirect
	pos    parser.Pos
	// lfBody is a `return ... lf-string|lf-file` body, made per request;
	// resp then holds the head up to the content-length line
	lfBody *logFmt
	lfTail []byte        // the head's lines after content-length
	track  *trackRule    // track-scN (stktrack.go)
	inc    *gpcInc       // sc-inc-gpc0|1(N)
	dur    time.Duration // set-timeout: a constant timeout (else value, in ms)
	cache  *httpCache    // cache-use, cache-store
	conds  []string      // set-var's conditions (setVarIf)
	// content: a tcp-request content rule of an http frontend, run on
	// each request before the http-request rules
	content bool
}

type redirect struct {
	kind      string // location, prefix, scheme
	target    logFmt
	code      int
	dropQuery bool
}

// backrefs finds haproxy's \N references in replacement strings.
var backrefs = regexp.MustCompile(`\\([0-9])`)

// reasons are haproxy's reason phrases where they differ from Go's.
func reason(code int) string {
	if t, ok := httpErrorText[code]; ok {
		return t[0]
	}
	return http.StatusText(code)
}

// compileHTTPRules compiles the rules of one keyword ("http-request",
// "http-response") of a proxy; `redirect` lines count as http-request.
func (r *Runtime) compileHTTPRules(px *parser.Proxy, keyword string) ([]*httpRule, error) {
	var out []*httpRule
	for _, pr := range px.Rules {
		if pr.Keyword != keyword && !(keyword == "http-request" && pr.Keyword == "redirect") {
			continue
		}
		hr, err := r.compileHTTPRule(px, pr)
		if err != nil {
			return nil, err
		}
		out = append(out, hr)
	}
	return out, nil
}

func (r *Runtime) compileHTTPRule(px *parser.Proxy, pr *parser.Rule) (*httpRule, error) {
	cond, err := r.compileHTTPCond(pr.Cond, px.ACLs)
	if err != nil {
		return nil, err
	}
	if pr.Keyword == "http-after-response" && !afterActions[pr.Action] && !strings.HasPrefix(pr.Action, "set-var") && !strings.HasPrefix(pr.Action, "unset-var") {
		return nil, fmt.Errorf("%s: 'http-after-response %s' is not available in gohaka's http runtime yet", pr.Pos, pr.Action)
	}
	hr := &httpRule{action: pr.Action, cond: cond, pos: pr.Pos}
	a := pr.Args
	need := func(n int) error {
		if len(a) < n {
			return fmt.Errorf("%s: '%s %s' needs %d arguments", pr.Pos, pr.Keyword, pr.Action, n)
		}
		return nil
	}
	for _, verb := range []string{"set-var", "set-var-fmt"} { // the latter takes a log-format string
		arg, ok := varAction(pr.Action, verb)
		if !ok {
			continue
		}
		if err := need(1); err != nil {
			return nil, err
		}
		hr.action = "set-var"
		if hr.name, hr.conds, err = splitVarConds(arg); err != nil {
			return nil, fmt.Errorf("%s: %v", pr.Pos, err)
		}
		expr := "%[" + strings.Join(a, " ") + "]"
		if verb == "set-var-fmt" {
			expr = strings.Join(a, " ")
		}
		hr.value, err = compileFmt(expr, pr.Pos, r)
		return hr, err
	}
	if name, ok := varAction(pr.Action, "unset-var"); ok {
		hr.action, hr.name = "unset-var", name
		return hr, nil
	}
	switch pr.Action {
	case "set-header", "add-header":
		if err := need(2); err != nil {
			return nil, err
		}
		hr.name, hr.nameB = a[0], []byte(a[0])
		hr.value, err = compileFmt(a[1], pr.Pos, r)
	case "del-header":
		if err := need(1); err != nil {
			return nil, err
		}
		hr.name = a[0]
	case "replace-header", "replace-value":
		if err := need(3); err != nil {
			return nil, err
		}
		hr.name = a[0]
		if hr.re, err = regexp.Compile("^(?:" + a[1] + ")$"); err != nil {
			return nil, fmt.Errorf("%s: bad regex '%s': %v", pr.Pos, a[1], err)
		}
		hr.value, err = compileFmt(backrefs.ReplaceAllString(a[2], "$${$1}"), pr.Pos, r)
	case "set-path", "set-query", "set-uri", "set-method":
		if err := need(1); err != nil {
			return nil, err
		}
		hr.value, err = compileFmt(a[0], pr.Pos, r)
	case "replace-path", "replace-uri":
		if err := need(2); err != nil {
			return nil, err
		}
		if hr.re, err = regexp.Compile(a[0]); err != nil {
			return nil, fmt.Errorf("%s: bad regex '%s': %v", pr.Pos, a[0], err)
		}
		hr.value, err = compileFmt(backrefs.ReplaceAllString(a[1], "$${$1}"), pr.Pos, r)
	case "capture":
		if err := need(3); err != nil {
			return nil, err
		}
		cs := buildCaptures(px)
		if a[1] == "id" { // a slot of a declare capture line
			id, _ := strconv.Atoi(a[2])
			slots := cs.req
			if pr.Keyword == "http-response" {
				slots = cs.res
			}
			if id < 0 || id >= len(slots) {
				return nil, fmt.Errorf("%s: no capture slot %d for '%s capture'", pr.Pos, id, pr.Keyword)
			}
			hr.slot, hr.max = id, slots[id].max
		} else {
			hr.slot, hr.max = cs.slots[pr], captureLen(pr)
		}
		hr.value, err = compileFmt("%["+a[0]+"]", pr.Pos, r)
	case "set-log-level":
		if err := need(1); err != nil {
			return nil, err
		}
		if a[0] != "silent" {
			return nil, fmt.Errorf("%s: '%s set-log-level %s' is not available in gohaka's http runtime yet (silent is)", pr.Pos, pr.Keyword, a[0])
		}
	case "set-src", "set-dst", "set-src-port", "set-dst-port":
		if err := need(1); err != nil {
			return nil, err
		}
		hr.value, err = compileFmt("%["+a[0]+"]", pr.Pos, r)
	case "set-timeout":
		if err := need(2); err != nil {
			return nil, err
		}
		if a[0] != "server" && a[0] != "tunnel" {
			return nil, fmt.Errorf("%s: 'http-request set-timeout' expects 'server' or 'tunnel', not '%s'", pr.Pos, a[0])
		}
		hr.name = a[0]
		if d, perr := parser.ParseTime(a[1]); perr == nil {
			hr.dur = d
		} else {
			hr.value, err = compileFmt("%["+a[1]+"]", pr.Pos, r) // milliseconds
		}
	case "set-status":
		if err := need(1); err != nil {
			return nil, err
		}
		if hr.status, err = strconv.Atoi(a[0]); err != nil || hr.status < 100 || hr.status > 999 {
			return nil, fmt.Errorf("%s: '%s set-status' expects a status code between 100 and 999", pr.Pos, pr.Keyword)
		}
		hr.nameB = []byte(reason(hr.status))
		if len(a) > 2 && a[1] == "reason" {
			hr.nameB = []byte(a[2])
		}
	case "allow", "reject", "silent-drop":
	case "deny", "tarpit":
		hr.status = denyStatus(pr)
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "deny_status" || a[i] == "status" {
				hr.status, _ = strconv.Atoi(a[i+1])
			}
		}
		if _, ok := httpErrorText[hr.status]; !ok {
			hr.status = denyStatus(pr)
		}
		hr.resp = errorPage(hr.status, "", hr.status == 400 || hr.status == 408)
		if errs, err := r.loadErrorfiles(px); err != nil {
			return nil, err
		} else if a, ok := errs[hr.status]; ok {
			hr.resp, hr.close = a.resp, a.close
			if a.lf != nil { // an http-error with a log-format body
				hr.resp, hr.lfBody, hr.lfTail = a.lf.resp, a.lf.lfBody, a.lf.lfTail
			}
		}
	case "return":
		rp, err := r.buildReply(px, pr.Pos, "return", a, 200)
		if err != nil {
			return nil, err
		}
		hr.status, hr.resp, hr.close, hr.lfBody, hr.lfTail = rp.status, rp.resp, rp.close, rp.lfBody, rp.lfTail
	case "redirect":
		rd := &redirect{code: 302}
		for i := 0; i < len(a); i++ {
			switch a[i] {
			case "location", "prefix", "scheme":
				if i+1 < len(a) {
					rd.kind = a[i]
					if rd.target, err = compileFmt(a[i+1], pr.Pos, r); err != nil {
						return nil, err
					}
					i++
				}
			case "code":
				if i+1 < len(a) {
					rd.code, _ = strconv.Atoi(a[i+1])
					i++
				}
			case "drop-query":
				rd.dropQuery = true
			}
		}
		if rd.kind == "" {
			return nil, fmt.Errorf("%s: redirect needs location, prefix or scheme", pr.Pos)
		}
		hr.redir = rd
	case "track-sc0", "track-sc1", "track-sc2":
		if pr.Keyword != "http-request" {
			return nil, fmt.Errorf("%s: '%s %s' is not available in gohaka's http runtime yet (http-request and tcp-request track-sc are)", pr.Pos, pr.Keyword, pr.Action)
		}
		hr.action = "track-sc"
		hr.track, err = r.compileTrack(px, pr)
	case "sc-inc-gpc0(0)", "sc-inc-gpc0(1)", "sc-inc-gpc0(2)", "sc-inc-gpc1(0)", "sc-inc-gpc1(1)", "sc-inc-gpc1(2)":
		inc, _ := gpcAction(pr.Action)
		hr.action, hr.inc = "sc-inc-gpc", &inc
	case "use-service":
		if len(a) == 0 || a[0] != "prometheus-exporter" {
			return nil, fmt.Errorf("%s: 'http-request use-service %s' is not available in gohaka's http runtime yet", pr.Pos, strings.Join(a, " "))
		}
	case "cache-use", "cache-store":
		if err := need(1); err != nil {
			return nil, err
		}
		if (pr.Action == "cache-use") != (pr.Keyword == "http-request") {
			return nil, fmt.Errorf("%s: '%s %s' is not an action haproxy has", pr.Pos, pr.Keyword, pr.Action)
		}
		if hr.cache, err = r.cacheNamed(a[0]); err != nil {
			return nil, fmt.Errorf("%s: '%s %s': %v", pr.Pos, pr.Keyword, pr.Action, err)
		}
	case "auth":
		realm := px.Name
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "realm" {
				realm = a[i+1]
			}
		}
		hr.status = 401
		hr.resp = errorPage(401, "www-authenticate: Basic realm=\""+realm+"\"\r\n", false)
	default:
		return nil, fmt.Errorf("%s: '%s %s' is not available in gohaka's http runtime yet", pr.Pos, pr.Keyword, pr.Action)
	}
	return hr, err
}

// afterActions are the http-after-response actions gohaka runs.
var afterActions = map[string]bool{"set-header": true, "add-header": true, "del-header": true,
	"replace-header": true, "replace-value": true, "set-status": true, "allow": true}

// verdict is what a rule list decided.
type verdict int

const (
	vContinue     verdict = iota // no final rule matched
	vAllow                       // allow: stop evaluating this list
	vRespond                     // answer with resp and do not forward
	vRespondClose                // the same, then end the connection
	vCached                      // answer from the cache (q.cacheTx.hit)
)

// runRequestRules applies http-request rules to q; on vRespond, resp is
// the full answer to send.
func runRequestRules(rules []*httpRule, q *hreq) (verdict, []byte) {
	for _, hr := range rules {
		if !hr.cond.eval(q) {
			continue
		}
		switch hr.action {
		case "allow":
			return vAllow, nil
		case "reject", "silent-drop": // no answer: the connection ends
			q.answered = hr
			return vRespondClose, nil
		case "deny", "auth", "return", "tarpit":
			q.answered = hr
			if hr.lfBody != nil {
				return vRespond, hr.lfAnswer(q)
			}
			if hr.close {
				return vRespondClose, hr.resp
			}
			return vRespond, hr.resp
		case "redirect":
			q.answered = hr
			return vRespond, hr.redir.answer(q)
		case "set-var":
			// a fetch that finds nothing leaves the variable unset, as haproxy
			if v := hr.value.value(q); len(v) > 0 {
				q.setVarIf(hr.name, hr.conds, v)
			}
		case "unset-var":
			q.setVar(hr.name, nil)
		case "set-log-level": // silent: this request is not logged
			q.silent = true
		case "capture": // into its slot of the log's {...}
			if q.caps != nil && hr.slot < len(*q.caps) {
				v := hr.value.value(q)
				(*q.caps)[hr.slot] = string(v[:min(len(v), hr.max)])
			}
		case "track-sc": // counts the request in the entry it tracks
			if hr.track.run(q, &q.sc, q.ci.sc) {
				q.sc[hr.track.n].count(dHTTPReqCnt, dHTTPReqRate, 1)
			}
		case "set-src", "set-dst", "set-src-port", "set-dst-port":
			setAddr(q, hr.action, hr.value.value(q))
		case "set-timeout":
			d := hr.dur
			if d == 0 {
				ms, err := strconv.ParseInt(string(hr.value.value(q)), 10, 64)
				if err != nil || ms <= 0 {
					continue
				}
				d = time.Duration(ms) * time.Millisecond
			}
			if hr.name == "server" {
				q.srvTimeout = d
			} else {
				q.tunTimeout = d
			}
		case "sc-inc-gpc":
			hr.inc.run(&q.sc, q.ci.sc)
		case "cache-use": // http_cache.go
			if t := q.cacheTx; t != nil {
				looked, hit := hr.cache.use(q, t)
				q.countCache(looked, hit)
				if hit {
					return vCached, nil
				}
			}
		case "use-service": // http_service.go
			q.answered = hr
			q.fe.ctr.http.intercepted.Add(1) // before the answer, which shows it
			return vRespond, q.rt.serviceAnswer()
		default:
			q.hdrs, q.method, q.uri = applyRewrite(hr, q, q.hdrs, q.method, q.uri)
		}
	}
	return vContinue, nil
}

// lfAnswer builds a `return` answer whose body is a log-format string.
func (hr *httpRule) lfAnswer(q *hreq) []byte {
	body := hr.lfBody.value(q)
	b := make([]byte, 0, len(hr.resp)+len(hr.lfTail)+len(body)+32)
	b = append(b, hr.resp...)
	b = append(b, "content-length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	b = append(b, hr.lfTail...)
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// answer builds the redirect response.
func (rd *redirect) answer(q *hreq) []byte {
	loc := append([]byte{}, rd.target.value(q)...)
	switch rd.kind {
	case "prefix":
		p := q.uri
		if rd.dropQuery {
			if i := bytes.IndexByte(p, '?'); i >= 0 {
				p = p[:i]
			}
		}
		if string(loc) == "/" {
			loc = loc[:0]
		}
		loc = append(loc, p...)
	case "scheme":
		var host []byte
		q.header("host", false, func(v []byte) bool { host = v; return false })
		p := q.uri
		if rd.dropQuery {
			if i := bytes.IndexByte(p, '?'); i >= 0 {
				p = p[:i]
			}
		}
		loc = append(append(append(loc, "://"...), host...), p...)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(rd.code) + " " + reason(rd.code) + "\r\ncontent-length: 0\r\nlocation: " + string(loc) + "\r\n")
	if rd.code == 302 || rd.code == 303 || rd.code == 307 {
		b.WriteString("cache-control: no-cache\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// applyRewrite runs a header or request-line rewriting rule.
func applyRewrite(hr *httpRule, q *hreq, hdrs []h1.Header, method, uri []byte) ([]h1.Header, []byte, []byte) {
	switch hr.action {
	case "set-header", "add-header":
		v := hr.value.value(q)
		if hr.action == "set-header" {
			hdrs = delHeader(hdrs, hr.name)
		}
		hdrs = append(hdrs, h1.Header{Name: hr.nameB, Value: v})
	case "del-header":
		hdrs = delHeader(hdrs, hr.name)
	case "replace-header", "replace-value":
		for i := range hdrs {
			if !h1.EqualFold(hdrs[i].Name, hr.name) {
				continue
			}
			repl := string(hr.value.value(q))
			if hr.action == "replace-header" {
				hdrs[i].Value = hr.re.ReplaceAll(hdrs[i].Value, []byte(repl))
				continue
			}
			parts := bytes.Split(hdrs[i].Value, []byte(","))
			for j, p := range parts {
				t := bytes.TrimSpace(p)
				parts[j] = hr.re.ReplaceAll(t, []byte(repl))
			}
			hdrs[i].Value = bytes.Join(parts, []byte(", "))
		}
	case "set-method":
		method = hr.value.value(q)
	case "set-uri":
		uri = hr.value.value(q)
	case "set-path":
		p := hr.value.value(q)
		if qs, ok := q.query(); ok {
			p = append(append(p, '?'), qs...)
		}
		uri = p
	case "replace-path", "replace-uri":
		// the whole path (or URI) is matched; a match is replaced by the
		// expanded format, as haproxy does
		target := q.uri
		if hr.action == "replace-path" {
			target = q.path()
		}
		out, ok := replaceFirst(nil, hr.re, target, hr.value.value(q))
		if !ok {
			break
		}
		if hr.action == "replace-path" {
			if qs, ok := q.query(); ok {
				out = append(append(out, '?'), qs...)
			}
		}
		uri = out
	case "set-query":
		v := hr.value.value(q)
		p := append([]byte{}, q.path()...)
		if len(v) > 0 {
			p = append(append(p, '?'), v...)
		}
		uri = p
	}
	return hdrs, method, uri
}

func delHeader(hdrs []h1.Header, name string) []h1.Header {
	out := hdrs[:0]
	for _, h := range hdrs {
		if !h1.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

// varAction reads "set-var(txn.name)" style actions: the variable's name
// with its scope.
func varAction(action, verb string) (string, bool) {
	rest, ok := strings.CutPrefix(action, verb+"(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return "", false
	}
	return rest[:len(rest)-1], true
}

// setAddr is set-src, set-dst, set-src-port and set-dst-port: the
// connection's address or port becomes the value, when it is one (the
// rest of the address stays); later rules, the server's X-Forwarded-For,
// balance source and the logs see it.
func setAddr(q *hreq, action string, v []byte) {
	ap := &q.ci.src
	if strings.HasPrefix(action, "set-dst") {
		ap = &q.ci.dst
	}
	if strings.HasSuffix(action, "-port") {
		p, err := strconv.ParseUint(string(v), 10, 16)
		if err != nil {
			return
		}
		*ap = netip.AddrPortFrom(ap.Addr(), uint16(p))
	} else {
		a, err := netip.ParseAddr(string(v))
		if err != nil {
			return
		}
		*ap = netip.AddrPortFrom(a, ap.Port())
	}
	q.addrSet = true
}

// denyStatus is the status a deny or tarpit answers with when its rule
// gives none: 403 for a request denied, 500 for a tarpit, 502 for a
// response denied.
func denyStatus(pr *parser.Rule) int {
	switch {
	case pr.Keyword == "http-response":
		return 502
	case pr.Action == "tarpit":
		return 500
	}
	return 403
}
