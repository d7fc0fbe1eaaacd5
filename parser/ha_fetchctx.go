package parser

import "strings"

// FetchSide tells where haproxy can evaluate a fetch: 'q' only while
// the request is processed (the request line and headers), 's' only on
// the response (status, response headers), 0 both. acl is true for an
// ACL keyword: hdr() as an ACL reads the request, as a sample the
// message being processed.
func FetchSide(expr string, acl bool) byte {
	name := keywordOf(expr)
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

// warnNeverMatch warns, as haproxy -c does, about ACLs of an
// http-request or http-response condition that can never match there.
func (r *haReader) warnNeverMatch(px *Proxy, rule *Rule) {
	var wrong byte
	switch rule.Keyword {
	case "http-request":
		wrong = 's'
	case "http-response":
		wrong = 'q'
	default:
		return
	}
	if rule.Cond == nil || rule.Cond.Expr == nil || px.Kind == "defaults" {
		return
	}
	kind := "backend"
	if px.Kind == "frontend" {
		kind = "frontend"
	}
	where := kind + " " + rule.Keyword + " header rule"
	for _, t := range rule.Cond.Expr.Terms {
		for _, f := range t.Factors {
			if f.Anon != nil {
				if FetchSide(f.Anon[0], true) == wrong {
					r.d.Warnf(rule.Pos, "anonymous acl will never match because it uses keyword '%s' which is incompatible with '%s'", keywordOf(f.Anon[0]), where)
				}
				continue
			}
			n, all, first := 0, true, ""
			for _, a := range px.ACLs {
				if a.Name == f.Name {
					n++
					bad := FetchSide(a.Fetch, true) == wrong
					all = all && bad
					if bad && first == "" {
						first = keywordOf(a.Fetch)
					}
				}
			}
			switch {
			case n > 0 && all:
				r.d.Warnf(rule.Pos, "acl '%s' will never match because it only involves keywords that are incompatible with '%s'", f.Name, where)
			case first != "":
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
