package proxy

import (
	"strconv"

	"github.com/gohaka/gohaka/proxy/h1"
)

// http-response and http-after-response rules: header rewrites,
// variables, set-status, and the rules that replace the server's
// response (deny, return, redirect).

// respOutcome is what response rules decided besides header changes.
type respOutcome struct {
	rule   *httpRule // a deny, return or redirect that replaces the response (nil: none)
	reply  []byte    // its answer
	reason []byte    // set-status: the new reason phrase (the status is in q.status)
}

// runResponseRules applies lists of response rules in turn (backend's,
// then frontend's; `allow` ends a list) to the response headers hdrs of
// a response with this status.
func runResponseRules(lists [2][]*httpRule, q *hreq, status int, hdrs []h1.Header) ([]h1.Header, respOutcome) {
	var out respOutcome
	saved := q.hdrs
	q.hdrs, q.resp, q.status = hdrs, true, status
	defer func() { q.hdrs, q.resp = saved, false }()
	for _, rules := range lists {
	list:
		for _, hr := range rules {
			if !hr.cond.eval(q) {
				continue
			}
			switch hr.action {
			case "deny", "return":
				out.rule, out.reply = hr, hr.resp
				if hr.lfBody != nil {
					out.reply = hr.lfAnswer(q)
				}
				return hdrs, out
			case "redirect":
				out.rule, out.reply = hr, hr.redir.answer(q)
				return hdrs, out
			case "allow":
				break list
			case "set-status":
				q.status, out.reason = hr.status, hr.nameB
			case "set-var":
				if v := hr.value.value(q); len(v) > 0 {
					q.setVarIf(hr.name, hr.conds, v)
				}
			case "unset-var":
				q.setVar(hr.name, nil)
			case "set-log-level": // silent
				q.silent = true
			case "capture": // into its response slot of the log's {...}
				if q.rcaps != nil && hr.slot < len(*q.rcaps) {
					v := hr.value.value(q)
					(*q.rcaps)[hr.slot] = string(v[:min(len(v), hr.max)])
				}
			case "sc-inc-gpc":
				hr.inc.run(&q.sc, q.ci.sc)
			case "cache-store": // http_cache.go
				if t := q.cacheTx; t != nil && t.hit == nil && t.c == hr.cache {
					reason := out.reason
					if reason == nil {
						reason = t.reason
					}
					hdrs = hr.cache.prepare(q, t, q.status, reason, hdrs)
					q.hdrs = hdrs // the server's Age may have left
				}
			default:
				hdrs, _, _ = applyRewrite(hr, q, hdrs, nil, nil)
				q.hdrs = hdrs
			}
		}
	}
	return hdrs, out
}

// respLists are the http-response rules for a response of be (nil: none)
// through fe, the backend's first.
func respLists(fe *frontend, be *backend) [2][]*httpRule {
	lists := [2][]*httpRule{nil, fe.http.respRules}
	if be != nil && be.http != nil {
		lists[0] = be.http.respRules
	}
	return lists
}

// afterLists are the http-after-response rules, the backend's first.
func afterLists(fe *frontend, be *backend) [2][]*httpRule {
	lists := [2][]*httpRule{nil, fe.http.afterRules}
	if be != nil && be.http != nil {
		lists[0] = be.http.afterRules
	}
	return lists
}

// serverResponseRules applies to a server's response head the
// http-response rules, then, unless one of them replaced the response,
// the http-after-response rules (h1 and h2 alike). A set-status leaves
// the status in q.status and its reason in the outcome.
func serverResponseRules(fe *frontend, be *backend, q *hreq, status int, hdrs []h1.Header) ([]h1.Header, respOutcome) {
	var out respOutcome
	for _, lists := range [2][2][]*httpRule{respLists(fe, be), afterLists(fe, be)} {
		if lists[0] == nil && lists[1] == nil || out.rule != nil {
			continue
		}
		var o respOutcome
		hdrs, o = runResponseRules(lists, q, status, hdrs)
		if o.reason != nil {
			status, out.reason = q.status, o.reason
		}
		out.rule, out.reply = o.rule, o.reply
	}
	return hdrs, out
}

// responseRules applies the response rules to the server's response head
// (h.hdrs, h.resp); it returns the answer that replaces the response
// when an http-response rule denies it, returns or redirects.
func (h *hconn) responseRules() []byte {
	var out respOutcome
	h.cache.reason = h.resp.Reason
	h.hdrs, out = serverResponseRules(h.fe, h.be, &h.q, h.resp.Status, h.hdrs)
	if out.reason != nil { // set-status
		h.resp.Status, h.resp.Reason = h.q.status, out.reason
	}
	if out.rule == nil {
		return nil
	}
	h.obsAnswerResponse(out.rule)
	return h.afterReply(out.reply)
}

// replaceResponse sends the answer of a response rule instead of the
// server's response, whose connection is closed (its body unread). As
// haproxy, the bytes out are the server's response as far as it came
// and the answer.
func (h *hconn) replaceResponse(reply []byte, keepAlive bool) bool {
	rs := &h.resp
	h.countServerHead()
	if body := int64(h.sn - rs.HeadLen); rs.ContentLength >= 0 {
		h.ob.srvOut += min(body, rs.ContentLength)
	}
	h.closeServer(false)
	if !keepAlive {
		reply = addConnClose(reply)
	}
	h.ob.srvOut += int64(len(reply)) + headAdjust(reply)
	_, err := h.c.Write(reply)
	return err == nil && keepAlive
}

// afterReply applies the http-after-response rules to an answer gohaka
// made (a whole HTTP/1.1 response): errors, deny, return, redirect.
func (h *hconn) afterReply(resp []byte) []byte {
	return afterReply(h.fe, h.q.be, &h.q, resp)
}

// afterReply is hconn.afterReply for any request: resp unchanged when
// there are no rules (or it cannot be read).
func afterReply(fe *frontend, be *backend, q *hreq, resp []byte) []byte {
	lists := afterLists(fe, be)
	if lists[0] == nil && lists[1] == nil {
		return resp
	}
	var m h1.Msg
	if h1.ParseResponse(resp, &m, 1<<20) != nil {
		return resp
	}
	hdrs, out := runResponseRules(lists, q, m.Status, append([]h1.Header(nil), m.Headers...))
	status, reason := m.Status, m.Reason
	if out.reason != nil {
		status, reason = q.status, out.reason
	}
	b := make([]byte, 0, len(resp)+64)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(append(append(b, ' '), reason...), "\r\n"...)
	for _, hd := range hdrs {
		b = append(append(append(append(b, hd.Name...), ": "...), hd.Value...), "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, resp[m.HeadLen:]...)
}
