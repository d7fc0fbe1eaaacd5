package parser

import "strings"

// FetchSide tells where haproxy can evaluate a fetch: 'q' only while
// the request is processed (the request line and headers), 's' only on
// the response (status, response headers), 0 both. acl is true for an
// ACL keyword: hdr() as an ACL reads the request, as a sample the
// message being processed.
func FetchSide(expr string, acl bool) byte {
	name := keywordOf(expr)
	if side := l6Side(name); side != 0 { // the buffer's bytes: gone once parsed as HTTP
		return side
	}
	base, _, _ := strings.Cut(name, "_")
	switch base {
	case "path", "url", "base", "query", "urlp", "req.hdr", "req.fhdr", "req.hdr_cnt", "req.cook", "cook":
		return 'q'
	case "hdr":
		if acl {
			return 'q'
		}
	case "status", "res.hdr", "res.fhdr", "res.hdr_cnt", "res.cook", "scook", "shdr":
		return 's'
	}
	if name == "url_param" {
		return 'q'
	}
	return 0
}

// warnNeverMatch warns, as haproxy -c does, about ACLs of a rule's
// condition that can never match where the rule runs: response fetches in
// request rules, request ones in response rules, and any but the
// connection's in tcp-request connection and session rules.
func (r *haReader) warnNeverMatch(px *Proxy, rule *Rule) {
	if rule.Cond == nil || rule.Cond.Expr == nil || px.Kind == "defaults" {
		return
	}
	side := "frontend" // what haproxy names the place: by the proxy's side that runs the rule
	if px.Kind == "backend" {
		side = "backend"
	}
	in, where := "", side+" "+rule.Keyword+" header rule"
	var bad func(byte) bool
	switch rule.Keyword {
	case "http-request":
		bad = func(s byte) bool { return s == 's' }
	case "http-response", "http-after-response":
		if px.Kind == "listen" {
			side = "backend"
		}
		bad, where = func(s byte) bool { return s == 'q' }, side+" http-response header rule"
	case "tcp-request content":
		bad, in, where = func(s byte) bool { return s == 's' }, " in '"+rule.Keyword+"'", side+" "+rule.Keyword+" rule"
	case "tcp-request connection", "tcp-request session":
		bad, in, where = func(s byte) bool { return s != 0 }, " in '"+rule.Keyword+"'", side+" "+rule.Keyword+" rule"
	default:
		return
	}
	for _, t := range rule.Cond.Expr.Terms {
		for _, f := range t.Factors {
			if f.Anon != nil {
				if bad(FetchSide(f.Anon[0], true)) {
					r.d.Warnf(rule.Pos, "anonymous acl will never match%s because it uses keyword '%s' which is incompatible with '%s'", in, keywordOf(f.Anon[0]), where)
				}
				continue
			}
			n, all, first := 0, true, ""
			for _, a := range px.ACLs {
				if a.Name == f.Name {
					n++
					b := bad(FetchSide(a.Fetch, true))
					all = all && b
					if b && first == "" {
						first = keywordOf(a.Fetch)
					}
				}
			}
			switch {
			case n > 0 && all:
				r.d.Warnf(rule.Pos, "acl '%s' will never match%s because it only involves keywords that are incompatible with '%s'", f.Name, in, where)
			case first != "" && in == "": // haproxy's words for a tcp rule are not known here
				r.d.Warnf(rule.Pos, "acl '%s' involves keywords '%s' which is incompatible with '%s'", f.Name, first, where)
			}
		}
	}
}

// keywordOf is a fetch's keyword without arguments or converters.
func keywordOf(expr string) string {
	if i := strings.IndexAny(expr, "(,"); i >= 0 {
		return expr[:i]
	}
	return expr
}

// l6Fetches are the fetches of a buffer's raw bytes (haproxy's L6 sample
// fetches): 'q' the request's, 's' the response's.
var l6Fetches = map[string]byte{"req.len": 'q', "req_len": 'q', "req.payload": 'q', "req.payload_lv": 'q',
	"req.proto_http": 'q', "req_proto_http": 'q', "req.rdp_cookie": 'q', "rdp_cookie": 'q',
	"req.rdp_cookie_cnt": 'q', "rdp_cookie_cnt": 'q', "req.ssl_alpn": 'q', "req.ssl_ec_ext": 'q',
	"req.ssl_hello_type": 'q', "req_ssl_hello_type": 'q', "req.ssl_sni": 'q', "req_ssl_sni": 'q',
	"req.ssl_st_ext": 'q', "req.ssl_ver": 'q', "req_ssl_ver": 'q', "payload": 'q', "payload_lv": 'q',
	"res.len": 's', "res.payload": 's', "res.payload_lv": 's', "res.ssl_hello_type": 's', "rep_ssl_hello_type": 's'}

// l6Side is the side whose buffer an L6 fetch reads, 0 for other fetches.
func l6Side(name string) byte { return l6Fetches[name] }

// usesL6 tells whether a condition reads a buffer's raw bytes, through an
// anonymous ACL or a named one of px.
func usesL6(px *Proxy, c *Cond) bool {
	if c == nil || c.Expr == nil {
		return false
	}
	for _, t := range c.Expr.Terms {
		for _, f := range t.Factors {
			if f.Anon != nil {
				if l6Side(keywordOf(f.Anon[0])) != 0 {
					return true
				}
				continue
			}
			for _, a := range px.ACLs {
				if a.Name == f.Name && l6Side(keywordOf(a.Fetch)) != 0 {
					return true
				}
			}
		}
	}
	return false
}

// l6RuleOrder is the order haproxy checks rule conditions for L6 fetches
// in, after use_backend and use-server rules.
var l6RuleOrder = []string{"tcp-request connection", "tcp-request session", "tcp-request content",
	"tcp-response content", "http-request", "http-response", "http-after-response"}

// warnL6 warns about the conditions of an http proxy's use_backend or
// use-server rules (uses) that read a buffer's raw bytes, which haproxy
// ignores there.
func warnL6(px *Proxy, uses []*UseBackend, post func(Pos, Severity, string, ...any)) {
	for _, u := range uses {
		if px.Mode == "http" && usesL6(px, u.Cond) {
			post(u.Pos, Warning, "Proxy '%s': L6 sample fetches ignored on HTTP proxies (declared at %s:%d).", px.Name, u.Pos.File, u.Pos.Line)
		}
	}
}

// warnL6Rules does the same for its action rules (redirect excepted).
func warnL6Rules(px *Proxy, post func(Pos, Severity, string, ...any)) {
	if px.Mode != "http" {
		return
	}
	for _, kw := range l6RuleOrder {
		for _, rule := range px.Rules {
			if rule.Keyword == kw && usesL6(px, rule.Cond) {
				post(rule.Pos, Warning, "Proxy '%s': L6 sample fetches ignored on HTTP proxies (declared at %s:%d).", px.Name, rule.Pos.File, rule.Pos.Line)
			}
		}
	}
}
