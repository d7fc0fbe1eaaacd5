package parser

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// aclFlags are the ACL pattern flags and whether they take an argument.
var aclFlags = map[string]bool{"-i": false, "-n": false, "-u": false, "--": false,
	"-f": true, "-m": true, "-M": true}

func (r *haReader) kwACL(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 2 {
		r.d.Errorf(kpos, "'acl' expects an ACL name and a criterion.")
		return
	}
	if c, bad := invalidNameChar(args[0]); bad {
		r.d.Errorf(apos[0], "character '%c' is not permitted in acl name '%s'.", c, args[0])
		return
	}
	a := &ACL{Pos: kpos, Name: args[0], Fetch: args[1]}
	if !r.checkACLExpr(args[1:], apos[1:], fmt.Sprintf("ACL '%s'", args[0])) {
		return
	}
	a.Flags, a.Values = splitACLFlags(args[2:])
	px.ACLs = append(px.ACLs, a)
}

// splitACLFlags separates leading flags from pattern values.
func splitACLFlags(ws []string) (flags, values []string) {
	i := 0
	for i < len(ws) {
		takes, ok := aclFlags[ws[i]]
		if !ok {
			break
		}
		flags = append(flags, ws[i])
		if ws[i] == "--" {
			i++
			break
		}
		if takes && i+1 < len(ws) {
			flags = append(flags, ws[i+1])
			i++
		}
		i++
	}
	return flags, ws[i:]
}

// checkACLExpr checks the fetch and pattern files of an ACL expression
// (the words from the fetch on).
func (r *haReader) checkACLExpr(ws []string, ps []Pos, what string) bool {
	e, rest, err := r.kw.parseSample(ws[0])
	if err == nil && rest != "" {
		err = fmt.Errorf("unexpected '%s' after fetch", rest)
	}
	if err != nil {
		msg := err.Error()
		if msg == "missing fetch method" || strings.HasPrefix(msg, "unknown fetch method") {
			msg = fmt.Sprintf("%s in ACL expression '%s'", msg, ws[0])
		}
		r.d.Errorf(ps[0], "error detected while parsing %s : %s.", what, msg)
		return false
	}
	if conv, msg := r.checkSampleFiles(e); msg != "" {
		r.d.Errorf(ps[0], "error detected while parsing %s : invalid args in converter '%s' : %s in ACL expression '%s'.", what, conv, msg, ws[0])
		return false
	}
	flags, _ := splitACLFlags(ws[1:])
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] == "-f" || flags[i] == "-M" {
			cols := 1
			if flags[i] == "-M" {
				cols = 2
			}
			if msg := r.patternFile(flags[i+1], cols); msg != "" {
				r.d.Errorf(ps[0], "error detected while parsing %s : %s.", what, msg)
				return false
			}
			i++
		} else if flags[i] == "-m" {
			switch flags[i+1] {
			case "found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom":
			default:
				r.d.Errorf(ps[0], "error detected while parsing %s : unknown matching method '%s'.", what, flags[i+1])
				return false
			}
			i++
		}
	}
	r.warnNoPattern(ws, ps[0], e)
	return true
}

// boolFetches are the fetches whose value is a boolean: an ACL on one
// needs no pattern.
var boolFetches = map[string]bool{"always_false": true, "always_true": true, "bool": true, "http_auth": true,
	"http_first_req": true, "req.proto_http": true, "req_proto_http": true, "ssl_bc": true, "ssl_bc_is_resumed": true,
	"ssl_c_used": true, "ssl_fc": true, "ssl_fc_has_crt": true, "ssl_fc_has_early": true, "ssl_fc_has_sni": true,
	"ssl_fc_is_resumed": true, "src_is_local": true, "dst_is_local": true, "stopping": true, "wait_end": true,
	"fc_rcvd_proxy": true, "sc_tracked": true, "sc0_tracked": true, "sc1_tracked": true, "sc2_tracked": true}

// boolConverters are the converters whose output is a boolean.
var boolConverters = map[string]bool{"bool": true, "not": true, "odd": true, "even": true, "in_table": true}

// warnNoPattern gives haproxy's warning for an ACL that has nothing to
// match against (an empty "$VAR", a forgotten value): it never matches.
func (r *haReader) warnNoPattern(ws []string, at Pos, e *sampleExpr) {
	flags, vals := splitACLFlags(ws[1:])
	if len(vals) > 0 && vals[0] == "" { // haproxy's word list ends at an empty word ("$UNSET")
		vals = nil
	}
	boolean := boolFetches[e.Fetch]
	if n := len(e.Convs); n > 0 {
		boolean = boolConverters[e.Convs[n-1].Name]
	}
	if len(vals) > 0 || boolean {
		return
	}
	for i, f := range flags {
		switch {
		case f == "--", f == "-f", f == "-M":
			return
		case f == "-m" && i+1 < len(flags) && (flags[i+1] == "found" || flags[i+1] == "bool"):
			return
		}
	}
	r.d.Warnf(at, "parsing acl keyword '%s' :\n  no pattern to match against were provided, so this ACL will never match.\n"+
		"  If this is what you intended, please add '--' to get rid of this warning.\n"+
		"  If you intended to match only for existence, please use '-m found'.\n"+
		"  If you wanted to force an int to match as a bool, please use '-m bool'.\n", ws[0])
	r.d[len(r.d)-1].Form = "raw"
}

// parseCond parses `if|unless <cond>` words and checks the ACLs it names.
func (r *haReader) parseCond(px *Proxy, ws []string, ps []Pos, ctx string) *Cond {
	c := &Cond{Pos: ps[0], Unless: ws[0] == "unless", Words: ws[1:]}
	what := fmt.Sprintf("an '%s' condition", ctx)
	e, err := ParseCond(ws[1:], ps[1:])
	if err != nil {
		r.d.Errorf(ps[0], "error detected while parsing %s : %s.", what, err)
		return c
	}
	c.Expr = e
	for _, t := range e.Terms {
		for _, f := range t.Factors {
			if f.Anon != nil {
				i := indexOfPos(ps, f.Pos)
				r.checkACLExpr(f.Anon, ps[max(i+1, 0):], what)
				continue
			}
			if r.kw.predefACL[f.Name] || px.findACL(f.Name) {
				continue
			}
			r.noSuchACL(px, ctx, ws[0], f.Name, ps[0], what)
		}
	}
	return c
}

// noSuchACL reports a condition naming an ACL the proxy does not have,
// in the words haproxy's parser of that kind of rule uses; after an http
// rule's, haproxy reads no further.
func (r *haReader) noSuchACL(px *Proxy, ctx, ifWord, name string, at Pos, what string) {
	kind := px.Kind
	if kind == "listen" {
		kind = "proxy"
	}
	switch first, _, _ := strings.Cut(ctx, " "); first {
	case "http-request", "http-response", "http-after-response":
		r.d.Errorf(at, "error detected while parsing %s : no such ACL : '%s'.", what, name)
		r.d[len(r.d)-1].NonFatal, r.d[len(r.d)-1].Abort = true, true
	case "use_backend", "use-server":
		r.d.Errorf(at, "error detected while parsing switching rule : no such ACL : '%s'.", name)
	case "tcp-request", "tcp-response":
		r.d.Errorf(at, "'%s' : error detected in %s '%s' while parsing '%s' condition : no such ACL : '%s'", ctx, kind, px.Name, ifWord, name)
	case "redirect":
		r.d.Errorf(at, "error detected in %s '%s' while parsing redirect rule : error in condition: no such ACL : '%s'.", kind, px.Name, name)
	default:
		r.d.Errorf(at, "error detected while parsing %s : no such ACL : '%s'.", what, name)
		r.d[len(r.d)-1].NonFatal = true
	}
}

func indexOfPos(ps []Pos, lp interface{ String() string }) int {
	for i, p := range ps {
		if fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) == lp.String() {
			return i
		}
	}
	return -1
}

func (px *Proxy) findACL(name string) bool {
	for _, a := range px.ACLs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// kwRule reads http-request, http-response, tcp-request ..., redirect.
func (r *haReader) kwRule(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	anonDefaults := px.Kind == "defaults" && px.Name == ""
	// haproxy reads no further after an http rule it cannot parse (but
	// goes on after one in an anonymous defaults section, refused first)
	if strings.HasPrefix(key, "http-") && !anonDefaults {
		nd := len(r.d)
		defer func() {
			for i := nd; i < len(r.d); i++ {
				if r.d[i].Sev == Error && r.d[i].Stage != "post" { // a post-stage error is found later, without a stop
					r.d[i].NonFatal, r.d[i].Abort = true, true
					break
				}
			}
		}()
	}
	switch key {
	case "http-request", "http-response", "http-after-response":
		if anonDefaults {
			r.d.Errorf(kpos, "'%s' not allowed in anonymous 'defaults' section.", key)
			return
		}
		px.hasRules.http = true
	case "tcp-request connection", "tcp-request session", "tcp-request content", "tcp-response content":
		if anonDefaults {
			if key == "tcp-response content" {
				r.d.Errorf(kpos, "%s is only allowed in 'backend' sections or 'defaults' section with a name", key)
			} else {
				r.d.Errorf(kpos, "%s is not allowed in anonymous 'defaults' sections", key)
			}
			return
		}
		switch key {
		case "tcp-request connection", "tcp-request session":
			px.hasRules.tcpConnSess = true
		case "tcp-response content":
			px.hasRules.tcpResponse = true
		default:
			px.hasRules.tcpContent = true
		}
	}
	if len(args) < 1 {
		r.d.Errorf(kpos, "'%s' expects an action.", key)
		return
	}
	rule := &Rule{Pos: kpos, Keyword: key, Action: args[0]}
	body, bpos := args[1:], apos[1:]
	if key == "redirect" {
		rule.Action, body, bpos = "redirect", args, apos
	} else {
		act := args[0]
		if i := strings.IndexByte(act, '('); i > 0 {
			act = act[:i]
		}
		if strings.HasPrefix(act, "lua.") {
			act = "lua"
		}
		if acts := r.kw.actions[key]; acts != nil && !acts[act] {
			if actionLists[key] != "" {
				r.unknownAction(px, key, args[0], apos[0])
			} else {
				r.d.Errorf(apos[0], "'%s' expects a known action but got '%s'.", key, args[0])
			}
			return
		}
	}
	for i, w := range body {
		if w == "if" || w == "unless" {
			rule.Args = body[:i]
			rule.Cond = r.parseCond(px, body[i:], bpos[i:], key+" "+rule.Action)
			r.warnNeverMatch(px, rule)
			break
		}
	}
	if rule.Cond == nil {
		rule.Args = body
	}
	if !r.checkArity(px, rule, bpos) {
		return
	}
	r.checkRuleArgs(px, rule, bpos)
	r.checkAfterFinal(px, rule)
	px.Rules = append(px.Rules, rule)
}

// checkRuleArgs checks what the actions load from files or evaluate.
func (r *haReader) checkRuleArgs(px *Proxy, rule *Rule, ps []Pos) {
	ctx := rule.Keyword + " " + rule.Action
	a := rule.Args
	switch {
	case rule.Action == "return" || rule.Action == "deny" || rule.Action == "tarpit":
		if rule.Action != "return" {
			r.checkDenyStatus(px, rule, ctx)
		}
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "file" || a[i] == "lf-file" || a[i] == "errorfile" {
				end := "." // haproxy doubles the dot for an errorfile
				if a[i] == "errorfile" {
					end = ".."
				}
				r.checkFile(ps[i+1], a[i+1], fmt.Sprintf("error detected in %s '%s' while parsing '%s' rule : error opening file '%%s'%s", px.Kind, px.Name, ctx, end))
			}
		}
		r.checkReplyContentType(px, rule, ctx)
	case strings.HasPrefix(rule.Action, "track-sc"):
		table := px.Name
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "table" {
				table = a[i+1]
			}
		}
		px.trackRefs = append(px.trackRefs, tableRef{pos: rule.Pos, table: table, what: rule.Action})
		if len(a) > 0 {
			r.checkSampleArg(px, a[0], ps[0], ctx)
		}
		return
	case strings.HasPrefix(rule.Action, "set-var-fmt"):
		if len(a) > 0 { // a log-format string
			r.checkLogFormat(px, strings.Join(a, " "), ps[0], ctx)
		}
		return
	case strings.HasPrefix(rule.Action, "set-var") || rule.Action == "set-src" || rule.Action == "set-dst":
		if len(a) > 0 {
			r.checkSampleArg(px, a[0], ps[0], ctx)
		}
		return
	}
	for i, w := range a {
		if strings.Contains(w, "%[") {
			r.checkRuleFormat(px, w, ps[i], ctx)
		}
	}
}

// finalActions end the evaluation of their rule list.
var finalActions = map[string]bool{"allow": true, "deny": true, "tarpit": true, "redirect": true,
	"return": true, "reject": true, "auth": true, "silent-drop": true}

// checkAfterFinal warns, as haproxy does, about a rule placed after an
// unconditional final rule of the same list.
func (r *haReader) checkAfterFinal(px *Proxy, rule *Rule) {
	if rule.Keyword != "http-request" && rule.Keyword != "http-response" && rule.Keyword != "http-after-response" {
		return
	}
	for i := len(px.Rules) - 1; i >= 0; i-- {
		prev := px.Rules[i]
		if prev.Keyword != rule.Keyword {
			continue
		}
		if finalActions[prev.Action] && prev.Cond == nil {
			r.d.Warnf(rule.Pos, "previous '%s' action is final and has no condition attached, further entries are NOOP.", rule.Keyword)
			r.d[len(r.d)-1].Form = "colon"
		}
		return
	}
}

// checkDenyStatus checks a deny or tarpit rule's deny_status as haproxy
// 2.6 does: 200 to 599, and one it has a default error page for unless
// the rule gives its own answer (content-type, a payload, errorfile...).
func (r *haReader) checkDenyStatus(px *Proxy, rule *Rule, ctx string) {
	a, code, own := rule.Args, "", false
	for i, w := range a {
		switch w {
		case "deny_status":
			if i+1 < len(a) {
				code = a[i+1]
			}
		case "content-type", "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles":
			own = true
		}
	}
	if code == "" {
		return
	}
	where := fmt.Sprintf("error detected in %s '%s' while parsing '%s' rule", px.Kind, px.Name, ctx)
	if n, err := strconv.Atoi(code); err != nil || n < 200 || n > 599 {
		r.d.Errorf(rule.Pos, "%s : Unexpected status code '%s'.", where, code)
	} else if !own && !httpErrorCodes[code] {
		r.d.Errorf(rule.Pos, "%s : status code '%s' not handled by default with 'default-errorfiles' argument..", where, code)
		r.d[len(r.d)-1].NonFatal, r.d[len(r.d)-1].Abort = true, true // haproxy stops reading there
	}
}

// checkReplyContentType makes haproxy's remarks on an http reply (return,
// deny, tarpit): an empty string payload is an error; a content-type
// goes unused with an errorfile, without a payload or with an empty file.
func (r *haReader) checkReplyContentType(px *Proxy, rule *Rule, ctx string) {
	a := rule.Args
	ct, hasCT, payload, errfile, empty := "", false, false, false, false
	for i := 0; i < len(a); i++ {
		n, ok := replyWords[a[i]]
		if !ok || i+n >= len(a) {
			continue
		}
		v := "" // default-errorfiles takes none
		if n > 0 {
			v = a[i+1]
		}
		switch a[i] {
		case "content-type":
			ct, hasCT = v, true
		case "string", "lf-string":
			if v == "" {
				what := map[string]string{"string": "<str>", "lf-string": "<fmt>"}[a[i]]
				r.d.Errorf(rule.Pos, "error detected in %s '%s' while parsing '%s' rule : '%s' expects %s as argument.", px.Kind, px.Name, ctx, a[i], what)
				return
			}
			payload = true
		case "file", "lf-file":
			payload = true
			if st, err := os.Stat(r.resolvePath("", v)); !r.opts.Offline && err == nil && st.Size() == 0 {
				empty = true
			}
		case "errorfile", "errorfiles":
			errfile = true
		}
		i += n
	}
	switch {
	case !hasCT:
	case errfile:
		r.d.Warnf(rule.Pos, "content-type '%s' ignored by the http reply when used with an erorrfile.", ct) // sic, haproxy's spelling
	case !payload:
		r.d.Warnf(rule.Pos, "content-type '%s' ignored by the http reply because neither errorfile nor payload defined.", ct)
	case empty:
		r.d.Warnf(rule.Pos, "content-type '%s' ignored by the http reply when used with an empty payload.", ct)
	}
}
