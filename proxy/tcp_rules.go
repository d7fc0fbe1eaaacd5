package proxy

// This file runs the tcp-request connection, session and content rules
// in their phases: connection rules on the connection's own addresses
// before a PROXY header or a TLS handshake, session rules after them,
// content rules on the client's first bytes (tcp mode) or on each
// request (http mode).

import (
	"strings"
)

// tcpActionsDone lists, per mode, the tcp-request actions gohaka runs.
var tcpActionsDone = map[string]string{
	"tcp":  "accept, reject, track-sc0/1/2 and sc-inc-gpc0/1",
	"http": "accept, reject, track-sc0/1/2, sc-inc-gpc0/1, set-var, set-var-fmt, unset-var, set-src, set-dst, set-src-port and set-dst-port",
}

// setsAction tells the tcp-request actions that set a variable or an
// address, which an http frontend runs as http-request does.
func setsAction(action string) bool {
	switch action {
	case "set-src", "set-dst", "set-src-port", "set-dst-port":
		return true
	}
	for _, verb := range []string{"set-var(", "set-var-fmt(", "unset-var("} {
		if strings.HasPrefix(action, verb) {
			return true
		}
	}
	return false
}

// addTCPRule files a compiled tcp-request rule in its phase's list. In
// http mode the content rules that track, count or set run per request.
func (fe *frontend) addTCPRule(tr tcpRule) {
	switch {
	case tr.session:
		fe.sessRules = append(fe.sessRules, tr)
	case !tr.content:
		fe.connRules = append(fe.connRules, tr)
	case fe.px.Mode == "http" && (tr.track != nil || tr.inc != nil || tr.act != nil):
		fe.streamTracks = append(fe.streamTracks, tr)
	default:
		fe.rules = append(fe.rules, tr)
	}
}

// tcpPhase runs one phase's rules on ci until one accepts; false when
// one rejected the connection (counted, its counters released). tracked
// notes the counters tracked for the session.
func (r *Runtime) tcpPhase(fe *frontend, ci *connInfo, rules []tcpRule, tracked *[3]bool) bool {
	for _, rule := range rules {
		if rule.act != nil {
			r.tcpAct(fe, ci, rule.act)
			continue
		}
		if !rule.cond.eval(*ci) {
			continue
		}
		switch {
		case rule.track != nil:
			if r.trackSession(rule.track, ci) && !rule.content {
				tracked[rule.track.n] = true
			}
		case rule.inc != nil:
			rule.inc.run(nil, ci.sc)
		case !rule.accept:
			if ci.sc != nil {
				ci.sc.release()
			}
			r.denied(fe, rule)
			return false
		default:
			return true
		}
	}
	return true
}

// tcpAct runs a set-var or set-src style rule before the first request:
// addresses change in ci, variables of the session scope are kept in
// ci.vars (others have no transaction to live in yet).
func (r *Runtime) tcpAct(fe *frontend, ci *connInfo, act []*httpRule) {
	q := hreq{ci: ci, rt: r, fe: fe, vars: append([]hvar(nil), ci.vars...)}
	q.appendFirst = func(v []byte) bool { q.arena = append(q.arena, v...); return false }
	runRequestRules(act, &q)
	if q.sessSet {
		ci.vars = keepSessVars(nil, q.vars)
	}
}

// keepSessVars appends to dst copies of the session-scope variables
// among vars: they outlive the request (and its arena) that set them.
func keepSessVars(dst, vars []hvar) []hvar {
	for _, v := range vars {
		if strings.HasPrefix(v.name, "sess.") {
			val := make([]byte, len(v.val)) // set, even when empty
			copy(val, v.val)
			dst = append(dst, hvar{v.name, val})
		}
	}
	return dst
}
