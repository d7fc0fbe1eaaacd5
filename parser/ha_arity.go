package parser

// This file checks that rule actions with a fixed number of arguments
// get no more, with haproxy 2.6's messages: a word past them is taken as
// a condition that does not start with if or unless.

import (
	"strings"
)

// ruleArity is how many words an action takes before its condition, for
// the actions whose count is fixed; optional is a keyword that may follow
// with one value (del-header NAME -m METH, set-status N reason R).
var ruleArity = map[string]struct {
	n        int
	optional string
}{
	"set-header": {2, ""}, "add-header": {2, ""}, "replace-header": {3, ""}, "replace-value": {3, ""},
	"del-header": {1, "-m"}, "set-src": {1, ""}, "set-dst": {1, ""}, "set-src-port": {1, ""},
	"set-dst-port": {1, ""}, "set-var": {1, ""}, "set-var-fmt": {1, ""}, "unset-var": {0, ""},
	"allow": {0, ""}, "set-status": {1, "reason"}, "accept": {0, ""}, "reject": {0, ""},
	"track-sc0": {1, "table"}, "track-sc1": {1, "table"}, "track-sc2": {1, "table"},
}

// replyWords are the words of a deny, tarpit or return answer and how
// many values each takes.
var replyWords = map[string]int{"status": 1, "content-type": 1, "hdr": 2, "string": 1, "lf-string": 1,
	"file": 1, "lf-file": 1, "errorfile": 1, "errorfiles": 1, "default-errorfiles": 0}

// replyArgsEnd is the index of the first word of a that is not part of
// the answer's description (deny_status too for deny and tarpit).
func replyArgsEnd(a []string, denyStatus bool) int {
	i := 0
	for i < len(a) {
		n, ok := replyWords[a[i]]
		if !ok && denyStatus && a[i] == "deny_status" {
			n, ok = 1, true
		}
		if !ok {
			return i
		}
		i += 1 + n
	}
	return len(a)
}

// headerArgs are the header actions and the count of words they need.
var headerArgs = map[string]int{"set-header": 2, "add-header": 2, "replace-header": 3, "replace-value": 3}

// formatActions take exactly one log-format argument, and say so.
var formatActions = map[string]bool{"set-path": true, "set-pathq": true, "set-query": true, "set-uri": true, "set-method": true}

// checkArity reports a rule whose action got more words than it takes;
// false when it did (the rule is dropped, as haproxy stops there).
func (r *haReader) checkArity(px *Proxy, rule *Rule, apos []Pos) bool {
	act, _, _ := strings.Cut(rule.Action, "(")
	a := rule.Args
	if formatActions[act] && strings.HasPrefix(rule.Keyword, "http-") {
		if len(a) != 1 {
			r.d.Errorf(rule.Pos, "error detected in %s '%s' while parsing '%s %s' rule : expects exactly 1 argument <format>.", px.Kind, px.Name, rule.Keyword, rule.Action)
			r.d[len(r.d)-1].NonFatal, r.d[len(r.d)-1].Abort = true, true // haproxy stops reading there
			return false
		}
		return true
	}
	if n := headerArgs[act]; n > 0 && len(a) < n && strings.HasPrefix(rule.Keyword, "http-") {
		r.d.Errorf(rule.Pos, "error detected in %s '%s' while parsing '%s %s' rule : expects exactly %d arguments.", px.Kind, px.Name, rule.Keyword, rule.Action, n)
		r.d[len(r.d)-1].NonFatal, r.d[len(r.d)-1].Abort = true, true
		return false
	}
	extra := len(a)
	if act == "deny" || act == "tarpit" || act == "return" {
		extra = replyArgsEnd(a, act != "return")
	} else if ar, ok := ruleArity[act]; ok && len(a) > ar.n {
		extra = ar.n
		if ar.optional != "" && a[ar.n] == ar.optional {
			extra += 2
		}
	}
	if len(a) <= extra {
		return true
	}
	word, at := a[extra], apos[extra]
	if strings.HasPrefix(rule.Keyword, "tcp-") {
		r.d.Errorf(at, "'%s %s' only accepts 'if' or 'unless', in %s '%s' (got '%s')", rule.Keyword, rule.Action, px.Kind, px.Name, word)
	} else {
		r.d.Errorf(at, "'%s %s' expects either 'if' or 'unless' followed by a condition but found '%s'.", rule.Keyword, rule.Action, word)
		d := &r.d[len(r.d)-1]
		d.Form, d.NonFatal, d.Abort = "colon", true, true
	}
	return false
}

// globalMaxArgs and proxyMaxArgs are how many words keywords take; more
// is haproxy's "cannot handle unexpected argument" error.
var globalMaxArgs = map[string]int{"maxconn": 1, "nbthread": 1, "pidfile": 1, "user": 1, "group": 1,
	"chroot": 1, "daemon": 0, "ulimit-n": 1, "uid": 1, "gid": 1, "spread-checks": 1, "ca-base": 1,
	"crt-base": 1, "tune.bufsize": 1, "tune.maxrewrite": 1, "maxpipes": 1, "noepoll": 0, "nopoll": 0,
	"nosplice": 0, "node": 1, "quiet": 0, "zero-warning": 0, "maxsslconn": 1, "maxconnrate": 1,
	"maxsessrate": 1, "maxcomprate": 1, "localpeer": 1}

var proxyMaxArgs = map[string]int{"mode": 1, "maxconn": 1, "retries": 1, "fullconn": 1,
	"default_backend": 1, "monitor-uri": 1, "id": 1, "backlog": 1}

// tooManyArgs reports a keyword line with words past what the keyword
// takes; true when it did (the line is not applied, as in haproxy).
func (r *haReader) tooManyArgs(max map[string]int, key string, args []string, apos []Pos) bool {
	n, ok := max[key]
	if !ok || len(args) <= n {
		return false
	}
	r.d.Errorf(apos[n], "'%s' cannot handle unexpected argument '%s'.", key, args[n])
	return true
}
