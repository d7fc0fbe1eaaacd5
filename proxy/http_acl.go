package proxy

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// hreq is the request as http rules and ACLs see it. Header slices point
// into the connection's buffer until a rule rewrites them.
type hreq struct {
	method, uri []byte
	major       int
	minor       int
	hdrs        []h1.Header
	ci          *connInfo
	tls         *tls.ConnectionState // the client's TLS session, or nil
	rt          *Runtime
	fe          *frontend
	be          *backend
	userlists   []*parser.Userlist
	arena       []byte // where rules write the values they make
	// resp: http-response rules run, hdrs are the response's and status
	// its code; request-only fetches then have no value (requestOnly)
	resp   bool
	status int
	silent bool      // set-log-level silent: no log line
	uid    string    // unique-id-format's value
	caps   *[]string // the request's capture slots (http-request capture)
	rcaps  *[]string // the response's (http-response capture ... id)
	conv   []byte    // converted values while they are looked at (http_conv.go)
	// appendFirst appends a sample to arena and stops the fetch (made once
	// per connection: a closure per call would allocate)
	appendFirst func([]byte) bool
	answered    *httpRule // the rule that answered the request (deny, return, redirect, auth)
	sc          trackSet  // the request's sticky counters (http-request track-sc)
	addrSet     bool      // a set-src/set-dst rule changed *ci
	firstReq    bool      // the connection's first request (http_first_req)
	// srvTimeout, tunTimeout: set-timeout server|tunnel (0: the backend's)
	srvTimeout, tunTimeout time.Duration
	// vars are the request's variables (set-var): txn and req ones live
	// as long as the transaction; sess ones are loaded from the session
	// before it and, when sessSet says one changed, kept after it
	vars    []hvar
	sessSet bool
	ob      *httpObs // the request line kept for the log and capture.req.*
	// cacheTx: cache-use and cache-store (http_cache.go); nil where no
	// cache serves (HTTP/2 streams)
	cacheTx *cacheTxn
}

// reset readies q for the request h just parsed, field by field: a
// composite literal would be built on the stack and copied, touching
// twice the memory of a struct that is cold after the connection's wait.
func (q *hreq) reset(h *hconn, fe *frontend) {
	req := &h.req
	q.method, q.uri, q.major, q.minor, q.hdrs = req.Method, req.URI, req.Major, req.Minor, h.hdrs
	q.ci, q.tls, q.rt, q.fe, q.be = &h.ci, h.tls, h.r, fe, nil
	q.userlists, q.arena, q.conv, q.appendFirst = fe.http.userlists, h.arena[:0], h.conv[:0], h.appendFirst
	q.resp, q.status, q.silent, q.uid, q.caps, q.rcaps = false, 0, false, h.uid, &h.ob.reqVals, &h.ob.cc.resVals
	q.answered, q.vars, q.sc, q.addrSet, q.sessSet = nil, append(q.vars[:0], h.sessVars...), trackSet{}, false, false
	q.srvTimeout, q.tunTimeout, q.firstReq = 0, 0, h.reqs == 0
	if h.cache.c != nil { // a previous request's
		h.cache = cacheTxn{}
	}
	q.cacheTx, q.ob = &h.cache, &h.ob
}

// hvar is one variable set by set-var; the value lives in the arena.
type hvar struct {
	name string
	val  []byte
}

// setVar sets (or, with a nil value, unsets) a variable.
func (q *hreq) setVar(name string, v []byte) {
	if strings.HasPrefix(name, "sess.") {
		q.sessSet = true
	}
	for i := range q.vars {
		if q.vars[i].name == name {
			if v == nil {
				q.vars = append(q.vars[:i], q.vars[i+1:]...)
			} else {
				q.vars[i].val = v
			}
			return
		}
	}
	if v != nil {
		q.vars = append(q.vars, hvar{name, v})
	}
}

// varConds are set-var's conditions: the variable's name, then what must
// hold for the value to be set.
var varConds = map[string]bool{"ifexists": true, "ifnotexists": true, "ifempty": true, "ifnotempty": true,
	"ifset": true, "ifnotset": true, "ifgt": true, "iflt": true}

// splitVarConds reads set-var(<var>[,<cond>...]).
func splitVarConds(arg string) (name string, conds []string, err error) {
	parts := strings.Split(arg, ",")
	for _, c := range parts[1:] {
		c = strings.TrimSpace(c)
		if !varConds[c] {
			return "", nil, fmt.Errorf("unknown set-var condition '%s'", c)
		}
		conds = append(conds, c)
	}
	if len(conds) > 4 {
		return "", nil, errors.New("set-var takes at most four conditions")
	}
	return strings.TrimSpace(parts[0]), conds, nil
}

// setVarIf sets a variable to v when every condition holds: the
// variable existed (was set) or not, v is empty or not, the variable's
// integer is greater or less than v's (true unless both are integers).
// false when one did not.
func (q *hreq) setVarIf(name string, conds []string, v []byte) bool {
	if len(conds) == 0 { // the common case: no look at the current value
		q.setVar(name, v)
		return true
	}
	cur, set := q.getVar(name)
	for _, c := range conds {
		ok := true
		switch c {
		case "ifexists", "ifset":
			ok = set
		case "ifnotexists", "ifnotset":
			ok = !set
		case "ifempty":
			ok = len(v) == 0
		case "ifnotempty":
			ok = len(v) > 0
		case "ifgt", "iflt":
			a, err1 := strconv.ParseInt(string(cur), 10, 64)
			b, err2 := strconv.ParseInt(string(v), 10, 64)
			if set && err1 == nil && err2 == nil {
				ok = c == "ifgt" && a > b || c == "iflt" && a < b
			}
		}
		if !ok {
			return false
		}
	}
	q.setVar(name, v)
	return true
}

// getVar returns a variable's value.
func (q *hreq) getVar(name string) ([]byte, bool) {
	for _, v := range q.vars {
		if v.name == name {
			return v.val, true
		}
	}
	return nil, false
}

// path returns the path of the target (absolute form: after the authority).
func (q *hreq) path() []byte {
	u := q.pathq()
	if i := bytes.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

// pathq is the path with its query: the URI without the scheme and
// authority of an absolute form.
func (q *hreq) pathq() []byte {
	u := q.uri
	if len(u) > 0 && u[0] != '/' {
		i := bytes.Index(u, []byte("://"))
		if i <= 0 {
			return nil // "*" or an authority (CONNECT) has no path
		}
		u = u[i+3:]
		j := bytes.IndexByte(u, '/')
		if j < 0 {
			return nil
		}
		u = u[j:]
	}
	return u
}

// query returns what follows '?' in the target, and whether there is one.
func (q *hreq) query() ([]byte, bool) {
	if i := bytes.IndexByte(q.uri, '?'); i >= 0 {
		return q.uri[i+1:], true
	}
	return nil, false
}

// header calls f with each value of a header (comma-split when split).
func (q *hreq) header(name string, split bool, f func([]byte) bool) {
	for i := range q.hdrs {
		h := &q.hdrs[i]
		if !h1.EqualFold(h.Name, name) {
			continue
		}
		if !split {
			if !f(h.Value) {
				return
			}
			continue
		}
		v := h.Value
		for {
			j := bytes.IndexByte(v, ',')
			item := v
			if j >= 0 {
				item = v[:j]
			}
			if !f(bytes.TrimSpace(item)) {
				return
			}
			if j < 0 {
				break
			}
			v = v[j+1:]
		}
	}
}

// headerOcc gives a header's values as haproxy's hdr() and fhdr() do:
// occurrence occ alone (1 the first, -1 the last), or with occ 0 all of
// them, the last first (a sample's value is the last one; an ACL tries
// each).
func (q *hreq) headerOcc(name string, split bool, occ int, f func([]byte) bool) {
	var stack [8][]byte
	vals := stack[:0]
	q.header(name, split, func(v []byte) bool { vals = append(vals, v); return true })
	switch {
	case occ > 0 && occ <= len(vals):
		f(vals[occ-1])
	case occ < 0 && -occ <= len(vals):
		f(vals[len(vals)+occ])
	case occ == 0:
		for i := len(vals) - 1; i >= 0 && f(vals[i]); i-- {
		}
	}
}

// firstHeader returns the first value of a header, as the balancer's
// hdr() wants it.
func (q *hreq) firstHeader(name string) (string, bool) {
	var out []byte
	found := false
	q.header(name, true, func(v []byte) bool { out, found = v, true; return false })
	return string(out), found
}

// urlParam returns the value of a query parameter.
func urlParam(uri []byte, name string) ([]byte, bool) {
	i := bytes.IndexByte(uri, '?')
	if i < 0 {
		return nil, false
	}
	qs := uri[i+1:]
	for len(qs) > 0 {
		j := bytes.IndexAny(qs, "&;")
		kv := qs
		if j >= 0 {
			kv, qs = qs[:j], qs[j+1:]
		} else {
			qs = nil
		}
		k, v, _ := bytes.Cut(kv, []byte("="))
		if string(k) == name {
			return v, true
		}
	}
	return nil, false
}

func (q *hreq) balanceRequest() *balance.Request {
	return &balance.Request{Src: q.ci.src.Addr(), URI: string(q.uri), Header: q.firstHeader}
}

// fetchFn calls f with each sample of a fetch until f returns false.
type fetchFn func(q *hreq, f func([]byte) bool)

// requestOnly tells a fetch that reads the request line or request
// headers: haproxy has them only while the request is processed, so in
// http-response rules such an ACL never matches (haproxy -c warns). The
// sample fetch hdr() (not its ACL) reads the response's headers there.
func requestOnly(expr string, acl bool) bool { return parser.FetchSide(expr, acl) == 'q' }

// noResponseValue makes a request-only fetch give nothing in
// http-response rules.
func noResponseValue(fn fetchFn) fetchFn {
	return func(q *hreq, f func([]byte) bool) {
		if !q.resp {
			fn(q, f)
		}
	}
}

// payloadArgs reads req.payload's offset and length (0: to the end).
func payloadArgs(arg string) (off, n int, err error) {
	a, b, ok := strings.Cut(arg, ",")
	off, err = strconv.Atoi(strings.TrimSpace(a))
	if err == nil && ok {
		n, err = strconv.Atoi(strings.TrimSpace(b))
	}
	if err != nil || !ok || off < 0 || n < 0 {
		return 0, 0, errors.New("needs an offset and a length")
	}
	return off, n, nil
}

// strl2ic reads an integer as haproxy's strl2ic does: digits after an
// optional '-', stopping at the first byte above '9' (one below '0'
// counts as a negative digit), in 32 bits that wrap.
func strl2ic(s []byte) int32 {
	var i int32
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	for _, c := range s {
		j := int32(c) - '0'
		if j > 9 {
			break
		}
		if neg {
			i = i*10 - j
		} else {
			i = i*10 + j
		}
	}
	return i
}

// boolFetch is a boolean sample: 1 or 0.
func boolFetch(get func(q *hreq) bool) fetchFn {
	return func(q *hreq, f func([]byte) bool) {
		if get(q) {
			f([]byte("1"))
		} else {
			f([]byte("0"))
		}
	}
}

// onlyInResponse makes a fetch give nothing outside http-response rules.
func onlyInResponse(fn fetchFn) fetchFn {
	return func(q *hreq, f func([]byte) bool) {
		if q.resp {
			fn(q, f)
		}
	}
}

// httpFetch compiles a fetch name with its argument; the second result is
// the default match method for ACLs using the short forms (path_beg, ...).
func httpFetch(expr string, pos parser.Pos, rt *Runtime) (fetchFn, string, error) {
	if chain := splitTop(expr); len(chain) > 1 {
		fn, _, err := httpFetch(chain[0], pos, rt)
		if err != nil {
			return nil, "", err
		}
		convs := make([]convFn, 0, len(chain)-1)
		for _, c := range chain[1:] {
			cf, err := rt.tableConv(c, pos) // table_X(table): stkfetch.go
			if cf == nil && err == nil {
				cf, err = compileConv(c, pos)
			}
			if err != nil {
				return nil, "", err
			}
			convs = append(convs, cf)
		}
		// an ACL matches what the last converter gives: ints as ints...
		return withConvs(fn, convs), convOutType(chain[len(chain)-1]), nil
	}
	name, arg := expr, ""
	if i := strings.IndexByte(expr, '('); i > 0 && strings.HasSuffix(expr, ")") {
		name, arg = expr[:i], expr[i+1:len(expr)-1]
	}
	occ := 0 // hdr(name,occ): 1 the first value, -1 the last (0: all, the last first)
	if i := strings.IndexByte(arg, ','); i >= 0 && (strings.HasPrefix(name, "hdr") || strings.HasPrefix(name, "req.hdr") || name == "req.fhdr") && name != "hdr_cnt" && name != "req.hdr_cnt" {
		o, err := strconv.Atoi(strings.TrimSpace(arg[i+1:]))
		if err != nil {
			return nil, "", fmt.Errorf("%s: fetch '%s': the occurrence must be a number", pos, expr)
		}
		arg, occ = arg[:i], o
	}
	one := func(get func(q *hreq) ([]byte, bool)) fetchFn {
		return func(q *hreq, f func([]byte) bool) {
			if v, ok := get(q); ok {
				f(v)
			}
		}
	}
	base, method, _ := strings.Cut(name, "_")
	switch base {
	case "path", "url", "base", "hdr", "query", "urlp", "url_param", "method":
	default:
		base, method = name, ""
	}
	if name == "url_param" || name == "req.hdr" || name == "req.fhdr" || name == "hdr_cnt" || name == "req.hdr_cnt" || name == "hdr_ip" || name == "req.hdr_ip" ||
		name == "res.hdr" || name == "res.fhdr" || name == "res.hdr_cnt" {
		base, method = name, ""
	}
	var fn fetchFn
	switch base {
	case "path":
		fn = one(func(q *hreq) ([]byte, bool) { return q.path(), true })
	case "url":
		fn = one(func(q *hreq) ([]byte, bool) { return q.uri, true })
	case "pathq":
		fn = one(func(q *hreq) ([]byte, bool) { p := q.pathq(); return p, p != nil })
	case "http_first_req": // the connection's first request
		fn, method = boolFetch(func(q *hreq) bool { return q.firstReq }), "bool"
	case "res.cache_hit": // the response came from a cache (http_cache.go)
		fn, method = boolFetch(func(q *hreq) bool { return q.cacheTx != nil && q.cacheTx.hit != nil }), "bool"
	case "res.cache_name": // the cache it came from, else empty
		fn = one(func(q *hreq) ([]byte, bool) {
			if q.cacheTx != nil && q.cacheTx.hit != nil {
				return []byte(q.cacheTx.c.name), true
			}
			return nil, true
		})
	case "query":
		fn = one(func(q *hreq) ([]byte, bool) { return q.query() })
	case "method":
		fn = one(func(q *hreq) ([]byte, bool) { return q.method, true })
	case "base":
		fn = one(func(q *hreq) ([]byte, bool) {
			var host []byte
			q.header("host", false, func(v []byte) bool { host = v; return false })
			return append(append([]byte{}, host...), q.path()...), true
		})
	case "var":
		name := arg
		fn = one(func(q *hreq) ([]byte, bool) { return q.getVar(name) })
	case "str", "int", "bool": // constants
		v := []byte(arg)
		if name == "int" {
			if _, err := strconv.ParseInt(arg, 10, 64); err != nil {
				return nil, "", fmt.Errorf("%s: fetch '%s': '%s' is not an integer", pos, expr, arg)
			}
			method = "int"
		}
		if name == "bool" {
			method = "bool"
		}
		fn = func(q *hreq, f func([]byte) bool) { f(v) }
	case "ipv4", "ipv6": // constant addresses
		a, err := netip.ParseAddr(arg)
		if err != nil || a.Is4() != (name == "ipv4") {
			return nil, "", fmt.Errorf("%s: fetch '%s': '%s' is not an %s address", pos, expr, arg, strings.ToUpper(name[:2])+name[2:])
		}
		v := []byte(a.String())
		fn = func(q *hreq, f func([]byte) bool) { f(v) }
		method = "ip"
	case "date": // unix time in seconds, plus an offset
		off := int64(0)
		if arg != "" {
			off, _ = strconv.ParseInt(arg, 10, 64)
		}
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, time.Now().Unix()+off, 10)) }
		method = "int"
	case "rand": // a random integer, below the range when one is given
		rng := int64(1) << 32
		if arg != "" {
			rng, _ = strconv.ParseInt(arg, 10, 64)
		}
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, rand.Int64N(max(rng, 1)), 10)) }
		method = "int"
	case "unique-id":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.uid != "" {
				f([]byte(q.uid))
			}
		}
	case "uuid": // a random (version 4) UUID
		fn = func(q *hreq, f func([]byte) bool) { f(appendUUID(nil)) }
	case "urlp", "url_param":
		p := arg
		fn = one(func(q *hreq) ([]byte, bool) { return urlParam(q.uri, p) })
	case "hdr", "req.hdr":
		h := arg
		fn = func(q *hreq, f func([]byte) bool) { q.headerOcc(h, true, occ, f) }
		if h == "" {
			return nil, "", fmt.Errorf("%s: fetch '%s' needs a header name in gohaka", pos, expr)
		}
	case "req.fhdr":
		h := arg
		fn = func(q *hreq, f func([]byte) bool) { q.headerOcc(h, false, occ, f) }
	case "res.hdr", "res.fhdr", "res.hdr_cnt":
		// the request's header fetches: http-response rules put the
		// response's headers in q.hdrs
		reqFn, m, err := httpFetch("req."+strings.TrimPrefix(expr, "res."), pos, rt)
		if err != nil {
			return nil, "", err
		}
		fn, method = onlyInResponse(reqFn), m
	case "status": // the response's status: in http-response rules only
		fn = onlyInResponse(func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, int64(q.status), 10)) })
		method = "int"
	case "hdr_ip", "req.hdr_ip": // the header's values that are addresses, the last first
		h := arg
		fn = func(q *hreq, f func([]byte) bool) {
			q.headerOcc(h, true, occ, func(v []byte) bool {
				if a, ok := sampleIP(v); ok {
					return f([]byte(a.String()))
				}
				return true
			})
		}
		method = "ip"
	case "hdr_cnt", "req.hdr_cnt":
		h := arg
		fn = func(q *hreq, f func([]byte) bool) {
			n := 0
			q.header(h, true, func([]byte) bool { n++; return true })
			f(strconv.AppendInt(nil, int64(n), 10))
		}
		method = "int"
	case "nbsrv":
		target := arg
		fn = func(q *hreq, f func([]byte) bool) {
			be := q.be
			if target != "" {
				be = rt.backends[target]
			}
			n := 0
			if be != nil {
				be.mu.Lock()
				for _, s := range be.bal.Servers() {
					if s.State == balance.Up && s.Weight > 0 {
						n++
					}
				}
				be.mu.Unlock()
			}
			f(strconv.AppendInt(nil, int64(n), 10))
		}
		method = "int"
	case "http_auth":
		ul := arg
		fn = func(q *hreq, f func([]byte) bool) {
			if q.authOK(ul) {
				f([]byte("1"))
			} else {
				f(nil)
			}
		}
		method = "bool"
	case "http_auth_group":
		ul := arg
		fn = func(q *hreq, f func([]byte) bool) { q.authGroups(ul, f) }
	case "ssl_fc_alpn":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.tls != nil && q.tls.NegotiatedProtocol != "" {
				f([]byte(q.tls.NegotiatedProtocol))
			}
		}
	case "ssl_fc_protocol":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.tls != nil {
				f([]byte(tlsVersionName(q.tls.Version)))
			}
		}
	case "ssl_fc":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.ci.ssl {
				f([]byte("1"))
			} else {
				f(nil)
			}
		}
		method = "bool"
	case "ssl_fc_sni":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.ci.ssl && q.ci.sni != "" {
				f([]byte(q.ci.sni))
			}
		}
	case "src":
		fn = func(q *hreq, f func([]byte) bool) { f([]byte(q.ci.src.Addr().Unmap().String())) }
	case "dst":
		fn = func(q *hreq, f func([]byte) bool) { f([]byte(q.ci.dst.Addr().Unmap().String())) }
	case "fc_src", "fc_dst": // the connection's own addresses (tcp-request connection may set them)
		dst := name == "fc_dst"
		fn = func(q *hreq, f func([]byte) bool) { f([]byte(q.ci.fcAddr(dst).Addr().Unmap().String())) }
		method = "ip"
	case "fc_src_port", "fc_dst_port":
		dst := name == "fc_dst_port"
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, int64(q.ci.fcAddr(dst).Port()), 10)) }
		method = "int"
	case "fe_name":
		fn = func(q *hreq, f func([]byte) bool) { f([]byte(q.fe.px.Name)) }
	case "be_name":
		fn = func(q *hreq, f func([]byte) bool) {
			if q.be != nil {
				f([]byte(q.be.px.Name))
			}
		}
	case "hostname":
		host, _ := os.Hostname()
		fn = func(q *hreq, f func([]byte) bool) { f([]byte(host)) }
	case "req.ver":
		fn = func(q *hreq, f func([]byte) bool) {
			f([]byte{byte('0' + q.major), '.', byte('0' + q.minor)})
		}
	case "req.cook", "cook": // the cookies of that name, the last first (a sample's value)
		ck := arg
		fn = func(q *hreq, f func([]byte) bool) {
			var found [8][]byte
			vals := q.cookies(ck, found[:0])
			for i := len(vals) - 1; i >= 0 && f(vals[i]); i-- {
			}
		}
	case "req.cook_val", "cook_val": // the last cookie of that name (the first of any, without one) as an integer
		ck := arg
		fn = func(q *hreq, f func([]byte) bool) {
			var found [8][]byte
			vals := q.cookies(ck, found[:0])
			if len(vals) == 0 {
				return
			}
			v := vals[len(vals)-1]
			if ck == "" {
				v = vals[0]
			} else if len(v) == 0 {
				return
			}
			f(strconv.AppendInt(nil, int64(strl2ic(v)), 10))
		}
		method = "int"
	case "capture.req.method", "capture.req.uri", "capture.req.ver": // the request line as it came, in requests and responses
		rt.keepReqLine = true
		part := name
		fn = func(q *hreq, f func([]byte) bool) {
			if ob := q.ob; ob != nil && len(ob.line) > 0 {
				f(ob.lineParts(part))
			}
		}
	case "req.cook_cnt", "cook_cnt": // how many cookies have that name (any, without one)
		ck := arg
		fn = func(q *hreq, f func([]byte) bool) {
			var found [8][]byte
			f(strconv.AppendInt(nil, int64(len(q.cookies(ck, found[:0]))), 10))
		}
		method = "int"
	case "http_auth_bearer": // the token of an Authorization (or the named header's) Bearer value
		h := arg
		if h == "" {
			h = "authorization"
		}
		fn = func(q *hreq, f func([]byte) bool) {
			if v, ok := q.firstHeader(h); ok {
				scheme, tok, found := strings.Cut(strings.TrimSpace(v), " ")
				if found && strings.EqualFold(scheme, "bearer") {
					f([]byte(strings.TrimSpace(tok)))
				}
			}
		}
	case "bin": // a constant, written in hex
		v, err := hex.DecodeString(arg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: fetch '%s': '%s' is not hex", pos, expr, arg)
		}
		fn = func(q *hreq, f func([]byte) bool) { f(v) }
	case "req_ssl_sni", "req.ssl_sni": // tcp mode: inspect.go
		fn = func(q *hreq, f func([]byte) bool) {
			if name, ok := helloSNI(q.ci.hello); ok {
				f([]byte(name))
			}
		}
	case "req_ssl_hello_type", "req.ssl_hello_type":
		fn = func(q *hreq, f func([]byte) bool) {
			if t, ok := helloType(q.ci.hello); ok {
				f(strconv.AppendInt(nil, int64(t), 10))
			}
		}
		method = "int"
	case "req.payload": // req.payload(offset,length): the client's first bytes (tcp mode)
		off, n, err := payloadArgs(arg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: fetch '%s': %v", pos, expr, err)
		}
		fn = func(q *hreq, f func([]byte) bool) {
			b := q.ci.hello
			switch {
			case n == 0 && off <= len(b):
				f(b[off:])
			case n > 0 && off+n <= len(b):
				f(b[off : off+n])
			}
		}
		method = "bin"
	case "fc_pp_unique_id", "fc_pp_authority": // a PROXY v2 header's TLVs
		auth := name == "fc_pp_authority"
		fn = one(func(q *hreq) ([]byte, bool) {
			v := q.ci.ppUniqueID
			if auth {
				v = q.ci.ppAuthority
			}
			return v, v != nil
		})
	case "req_len", "req.len":
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, int64(len(q.ci.hello)), 10)) }
		method = "int"
	case "dst_port":
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, int64(q.ci.dst.Port()), 10)) }
		method = "int"
	case "src_port":
		fn = func(q *hreq, f func([]byte) bool) { f(strconv.AppendInt(nil, int64(q.ci.src.Port()), 10)) }
		method = "int"
	default:
		fn, m, ok, err := stkFetch(name, arg, rt)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", pos, err)
		}
		if !ok {
			return nil, "", fmt.Errorf("%s: fetch '%s' is not available in gohaka's http runtime yet", pos, expr)
		}
		return fn, m, nil
	}
	if method == "" {
		method = "str"
	}
	return fn, method, nil
}

// authOK checks the Authorization header against a userlist.
func (q *hreq) authOK(list string) bool {
	ul, u := q.authUser(list)
	return ul != nil && u != nil
}

// authGroups calls f with each group of the user the Authorization header
// authenticates in list (http_auth_group).
func (q *hreq) authGroups(list string, f func([]byte) bool) {
	ul, u := q.authUser(list)
	if u == nil {
		return
	}
	for _, g := range u.Groups {
		if !f([]byte(g)) {
			return
		}
	}
	for g, users := range ul.Groups {
		for _, name := range users {
			if name == u.Name && !f([]byte(g)) {
				return
			}
		}
	}
}

// authUser is the userlist and user the Authorization header names with
// the right password, or nils.
func (q *hreq) authUser(list string) (*parser.Userlist, *parser.User) {
	var hv []byte
	q.header("authorization", false, func(v []byte) bool { hv = v; return false })
	sch, cred, ok := bytes.Cut(hv, []byte(" "))
	if !ok || !bytes.EqualFold(sch, []byte("basic")) {
		return nil, nil
	}
	dec, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(cred)))
	if err != nil {
		return nil, nil
	}
	user, pass, _ := strings.Cut(string(dec), ":")
	for _, ul := range q.userlists {
		if ul.Name != list {
			continue
		}
		for i := range ul.Users {
			u := &ul.Users[i]
			if u.Name == user && (u.Insecure && u.Password == pass || !u.Insecure && cryptMatch(u.Password, pass)) {
				return ul, u
			}
		}
	}
	return nil, nil
}

// httpMatcher is one compiled ACL line for http mode.
type httpMatcher struct {
	l4     *l4Matcher // src/dst/... reuse the tcp matchers
	always int
	fetch  fetchFn
	method string
	fold   bool
	strs   [][]byte
	res    []*regexp.Regexp
	ints   [][2]int64
	nets   []netip.Prefix // -m ip
}

// patternFiles adds the patterns of `-f file` flags to values: one a line,
// blank lines and #-comments skipped.
func patternFiles(flags, values []string, pos parser.Pos) ([]string, error) {
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] != "-f" {
			continue
		}
		raw, err := os.ReadFile(flags[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s: ACL pattern file: %v", pos, err)
		}
		for _, l := range strings.Split(string(raw), "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				values = append(values, l)
			}
		}
		i++
	}
	return values, nil
}

// compileHTTP compiles an ACL for http mode.
func compileHTTP(fetch string, flags, values []string, pos parser.Pos, rt *Runtime) (*httpMatcher, error) {
	values, err := patternFiles(flags, values, pos)
	if err != nil {
		return nil, err
	}
	switch fetch {
	case "always_true", "TRUE", "always_false", "FALSE", "src", "dst", "src_port":
		l, err := compileL4(fetch, flags, values, pos)
		if err != nil {
			return nil, err
		}
		return &httpMatcher{l4: l}, nil
	case "METH_GET":
		fetch, values = "method", []string{"GET", "HEAD"}
	case "METH_POST":
		fetch, values = "method", []string{"POST"}
	case "HTTP_1.1":
		return &httpMatcher{always: 2, fetch: func(q *hreq, f func([]byte) bool) {}}, nil
	}
	fn, method, err := httpFetch(fetch, pos, rt)
	if err != nil {
		return nil, err
	}
	if requestOnly(fetch, true) {
		fn = noResponseValue(fn)
	}
	m := &httpMatcher{fetch: fn, method: method}
	if fetch == "method" {
		// haproxy matches methods exactly, -i or not: a lower-case
		// pattern never matches a known method
		defer func() { m.fold = false }()
	}
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case "-i":
			m.fold = true
		case "-m":
			if i+1 < len(flags) {
				m.method = flags[i+1]
				i++
			}
		case "-f":
			i++ // read by patternFiles
		case "-n", "--", "-u":
		default:
			return nil, fmt.Errorf("%s: ACL flag '%s' is not available in gohaka's http runtime yet", pos, flags[i])
		}
	}
	if (m.method == "int" || m.method == "len") && len(values) == 2 {
		if n, err := strconv.ParseInt(values[1], 10, 64); err == nil {
			const lo, hi = -1 << 62, 1 << 62
			r, ok := map[string][2]int64{"eq": {n, n}, "ge": {n, hi}, "gt": {n + 1, hi}, "le": {lo, n}, "lt": {lo, n - 1}}[values[0]]
			if ok {
				m.ints = append(m.ints, r)
				values = nil
			}
		}
	}
	for _, v := range values {
		switch m.method {
		case "reg":
			expr := v
			if m.fold {
				expr = "(?i)" + v
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("%s: bad regex '%s': %v", pos, v, err)
			}
			m.res = append(m.res, re)
		case "int", "len":
			r, err := intRange(v)
			if err != nil {
				return nil, fmt.Errorf("%s: '%s' is not an integer or range", pos, v)
			}
			m.ints = append(m.ints, r)
		case "bin": // bytes written in hex
			b, err := hex.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("%s: '%s' is not hex", pos, v)
			}
			m.strs = append(m.strs, b)
		case "ip":
			p, err := ipPattern(v)
			if err != nil {
				return nil, fmt.Errorf("%s: '%s' is not a valid IPv4 or IPv6 address", pos, v)
			}
			m.nets = append(m.nets, p)
		default:
			m.strs = append(m.strs, []byte(v))
		}
	}
	return m, nil
}

// sampleIP reads a fetched value as an address, as haproxy converts a
// string: an IPv6 address whole, an IPv4 address also when something not
// part of it follows ("192.0.2.7:80" is 192.0.2.7).
func sampleIP(v []byte) (netip.Addr, bool) {
	s := strings.TrimSpace(string(v))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	k := 0
	for k < len(s) && (s[k] == '.' || s[k] >= '0' && s[k] <= '9') {
		k++
	}
	if a, err := netip.ParseAddr(s[:k]); err == nil && a.Is4() {
		return a, true
	}
	return netip.Addr{}, false
}

// ipPattern reads an address or network pattern: 10.0.0.1, 10.0.0.0/8,
// 10.0.0.0/255.0.0.0, 2001:db8::/32.
func ipPattern(v string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(v, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	if !ok {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if n, err := strconv.Atoi(bits); err == nil {
		return a.Prefix(n)
	}
	mask, err := netip.ParseAddr(bits)
	if err != nil || !mask.Is4() || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("bad mask")
	}
	m := mask.As4()
	n := 0
	for _, b := range m {
		for i := 7; i >= 0; i-- {
			if b>>i&1 == 1 {
				n++
			}
		}
	}
	return a.Prefix(n)
}

// intRange reads an integer pattern: N, A:B, :B, A:, or eq/ge/gt/le/lt N.
func intRange(v string) ([2]int64, error) {
	const lo, hi = -1 << 62, 1 << 62
	if a, b, ok := strings.Cut(v, ":"); ok {
		r := [2]int64{lo, hi}
		var err error
		if a != "" {
			if r[0], err = strconv.ParseInt(a, 10, 64); err != nil {
				return r, err
			}
		}
		if b != "" {
			if r[1], err = strconv.ParseInt(b, 10, 64); err != nil {
				return r, err
			}
		}
		return r, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return [2]int64{n, n}, err
}

func (m *httpMatcher) match(q *hreq) bool {
	if m.l4 != nil {
		return m.l4.match(*q.ci)
	}
	if m.always == 2 {
		return q.major == 1 && q.minor == 1
	}
	hit := false
	m.fetch(q, func(v []byte) bool {
		hit = m.matchOne(v)
		return !hit
	})
	return hit
}

func (m *httpMatcher) matchOne(v []byte) bool {
	switch m.method {
	case "found":
		return true
	case "ip":
		a, ok := sampleIP(v)
		if !ok {
			return false
		}
		for _, p := range m.nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case "bool":
		return len(v) > 0 && v[0] != '0'
	case "int", "len":
		n := int64(len(v))
		if m.method == "int" {
			var err error
			if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return false
			}
		}
		for _, r := range m.ints {
			if n >= r[0] && n <= r[1] {
				return true
			}
		}
		return false
	case "reg":
		for _, re := range m.res {
			if re.Match(v) {
				return true
			}
		}
		return false
	}
	for _, p := range m.strs {
		if matchStr(m.method, v, p, m.fold) {
			return true
		}
	}
	return false
}

func eqb(a, b []byte, fold bool) bool {
	if fold {
		return bytes.EqualFold(a, b)
	}
	return bytes.Equal(a, b)
}

// matchStr applies the string match methods str, beg, end, sub, dir, dom.
func matchStr(method string, v, p []byte, fold bool) bool {
	switch method {
	case "beg":
		return len(v) >= len(p) && eqb(v[:len(p)], p, fold)
	case "end":
		return len(v) >= len(p) && eqb(v[len(v)-len(p):], p, fold)
	case "sub":
		if fold {
			return bytes.Contains(bytes.ToLower(v), bytes.ToLower(p))
		}
		return bytes.Contains(v, p)
	case "dir", "dom":
		sep := byte('/')
		if method == "dom" {
			sep = '.'
		}
		p = bytes.Trim(p, string(sep))
		// p must appear in v delimited by sep or the ends
		for i := 0; i+len(p) <= len(v); i++ {
			if (i == 0 || v[i-1] == sep) && eqb(v[i:i+len(p)], p, fold) && (i+len(p) == len(v) || v[i+len(p)] == sep) {
				return true
			}
		}
		return false
	}
	return eqb(v, p, fold)
}

// hcond is a compiled http condition: terms ORed, factors ANDed.
type hcond struct {
	unless bool
	terms  [][]hfactor
}

type hfactor = condFactor[*httpMatcher]

// compileHTTPCond compiles a condition of an http proxy.
func (r *Runtime) compileHTTPCond(c *parser.Cond, acls []*parser.ACL) (*hcond, error) {
	if c == nil || c.Expr == nil {
		return nil, nil
	}
	out := &hcond{unless: c.Unless}
	for _, t := range c.Expr.Terms {
		var fs []hfactor
		for _, f := range t.Factors {
			hf := hfactor{not: f.Not}
			if f.Anon != nil {
				flags, vals := splitFlags(f.Anon[1:])
				m, err := compileHTTP(f.Anon[0], flags, vals, c.Pos, r)
				if err != nil {
					return nil, err
				}
				hf.ms = append(hf.ms, m)
			} else {
				for _, a := range acls {
					if a.Name == f.Name {
						m, err := compileHTTP(a.Fetch, a.Flags, a.Values, a.Pos, r)
						if err != nil {
							return nil, err
						}
						hf.ms = append(hf.ms, m)
					}
				}
				if len(hf.ms) == 0 {
					m, err := compileHTTP(f.Name, nil, nil, c.Pos, r) // predefined ACLs
					if err != nil {
						return nil, fmt.Errorf("%s: ACL '%s' is not available in gohaka's http runtime yet", c.Pos, f.Name)
					}
					hf.ms = append(hf.ms, m)
				}
			}
			fs = append(fs, hf)
		}
		out.terms = append(out.terms, fs)
	}
	return out, nil
}

// eval evaluates the condition; nil is true.
func (c *hcond) eval(q *hreq) bool {
	return c == nil || evalTerms(c.terms, c.unless, q)
}

// tlsVersionName is the version as haproxy (OpenSSL) names it.
func tlsVersionName(v uint16) string {
	for name, x := range tlsVersions {
		if x == v {
			return name
		}
	}
	return ""
}

// cookies appends to vals the values of the request's cookies called
// name (every cookie when name is empty), in order.
func (q *hreq) cookies(name string, vals [][]byte) [][]byte {
	q.header("cookie", false, func(v []byte) bool {
		for len(v) > 0 {
			var pair []byte
			pair, v, _ = bytes.Cut(v, []byte(";"))
			n, val, ok := bytes.Cut(bytes.TrimSpace(pair), []byte("="))
			if ok && (name == "" || string(n) == name) {
				vals = append(vals, val)
			}
		}
		return true
	})
	return vals
}
