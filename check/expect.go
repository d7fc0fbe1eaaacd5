package check

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// ExpectKind is what an expect rule looks at.
type ExpectKind uint8

// Expect kinds. The tcp kinds match the raw reply, the HTTP kinds the parsed
// response of the last HTTP request.
const (
	ExpectString      ExpectKind = iota // tcp: reply contains Pattern
	ExpectRString                       // tcp: reply matches Re
	ExpectBinary                        // tcp: reply contains the bytes Pattern
	ExpectRBinary                       // tcp: hex dump of reply matches Re
	ExpectCustom                        // tcp: Custom decides (built-in protocols)
	ExpectHTTPDefault                   // http: status 2xx or 3xx
	ExpectHTTPStatus                    // http: status in Codes
	ExpectHTTPRStatus                   // http: status matches Re
	ExpectHTTPString                    // http: body contains Pattern
	ExpectHTTPRString                   // http: body matches Re
)

// CodeRange is an inclusive range of HTTP status codes.
type CodeRange struct{ Lo, Hi int }

type verdict uint8

const (
	verdictWait verdict = iota
	verdictPass
	verdictFail
)

// Expect is the condition of an expect rule and the statuses it reports.
type Expect struct {
	Kind    ExpectKind
	Negate  bool
	Pattern []byte
	Re      *regexp.Regexp
	Codes   []CodeRange
	// MinRecv is the number of bytes to wait for before matching; -1 (the
	// default) waits for more data on every mismatch until the reply ends.
	MinRecv int
	// OKStatus, ErrStatus and ToutStatus replace L7OK, L7RSP and L7TOUT.
	OKStatus, ErrStatus, ToutStatus Status
	// OnSuccess and OnError replace the info text (literal text only).
	OnSuccess, OnError string
	// Custom decides for ExpectCustom: it returns whether it needs more
	// data, and otherwise the verdict as a result (Passed or not).
	Custom func(in []byte, final bool) (more bool, r Result)
}

func (e *Expect) isHTTP() bool { return e.Kind >= ExpectHTTPDefault }

// describe names the rule in tcp-check error texts.
func (e *Expect) describe() string {
	switch e.Kind {
	case ExpectString:
		return " (expect string '" + string(e.Pattern) + "')"
	case ExpectBinary:
		return " (expect binary '" + strings.ToUpper(hex.EncodeToString(e.Pattern)) + "')"
	case ExpectRString:
		return " (expect regex)"
	case ExpectRBinary:
		return " (expect binary regex)"
	}
	return " (expect)"
}

func (e *Expect) errStatus() Status {
	if e.ErrStatus != StatusUnknown {
		return e.ErrStatus
	}
	return StatusL7RSP
}

func (e *Expect) eval(ss *session, rule *Rule, final bool) (verdict, Result) {
	if e.isHTTP() {
		return e.evalHTTP(ss, final)
	}
	in := ss.in
	if final && len(in) == 0 {
		return verdictFail, Result{Status: e.errStatus(), Info: "TCPCHK got an empty response at step " + strconv.Itoa(ss.step(ss.idx))}
	}
	if e.Kind == ExpectCustom {
		more, r := e.Custom(in, final)
		if more && !final {
			return verdictWait, Result{}
		}
		if more {
			r = Result{Status: e.errStatus(), Info: e.OnError}
		}
		if r.Passed() {
			if r.Info == "" {
				r.Info = ss.okInfo // a later step keeps an earlier step's text
			}
			ss.code, ss.okResult, ss.okInfo = r.Code, &r, r.Info
			return verdictPass, Result{}
		}
		return verdictFail, r
	}
	if e.MinRecv >= 0 && len(in) < e.MinRecv && !final {
		return verdictWait, Result{}
	}
	var match bool
	switch e.Kind {
	case ExpectString, ExpectBinary:
		match = bytes.Contains(in, e.Pattern)
	case ExpectRString:
		match = e.Re.Match(in)
	case ExpectRBinary:
		match = e.Re.MatchString(strings.ToUpper(hex.EncodeToString(in)))
	}
	if !match && !final && e.MinRecv < 0 {
		return verdictWait, Result{}
	}
	if match != e.Negate {
		return verdictPass, Result{}
	}
	info := e.OnError
	if info == "" {
		what := ""
		switch e.Kind {
		case ExpectString:
			what = "'" + string(e.Pattern) + "'"
		case ExpectRString:
			what = "(regex)"
		case ExpectBinary:
			what = "(binary)"
		case ExpectRBinary:
			what = "(binary regex)"
		}
		if e.Negate {
			info = "TCPCHK matched unwanted content " + what
		} else {
			info = "TCPCHK did not match content " + what
		}
		info += " at step " + strconv.Itoa(ss.step(ss.idx))
		if c := or(rule.Comment, ss.comment); c != "" {
			info += " comment: " + c
		}
	}
	return verdictFail, Result{Status: e.errStatus(), Info: info}
}

func (e *Expect) evalHTTP(ss *session, final bool) (verdict, Result) {
	if ss.resp == nil {
		head := ss.lastReq != nil && strings.EqualFold(ss.lastReq.Method, "HEAD")
		resp, more, err := parseHTTPResponse(ss.in, final, head)
		if more {
			return verdictWait, Result{}
		}
		if err != nil {
			return verdictFail, Result{Status: StatusL7RSP}
		}
		ss.resp = resp
	}
	resp := ss.resp
	ss.code = resp.code
	if ss.s.DisableOn404 && !ss.t.ServerDown && resp.code == 404 {
		// handled as the end of the check by the caller through Custom-like
		// short-circuit: report a conditional pass.
		return verdictFail, Result{Status: StatusL7OKC, Code: 404}
	}
	var match bool
	statusKind := false
	switch e.Kind {
	case ExpectHTTPDefault:
		match, statusKind = resp.code >= 200 && resp.code < 400, true
	case ExpectHTTPStatus:
		statusKind = true
		for _, r := range e.Codes {
			if resp.code >= r.Lo && resp.code <= r.Hi {
				match = true
			}
		}
	case ExpectHTTPRStatus:
		statusKind = true
		match = e.Re.MatchString(strconv.Itoa(resp.code))
	case ExpectHTTPString:
		match = bytes.Contains(resp.body, e.Pattern)
	case ExpectHTTPRString:
		match = e.Re.Match(resp.body)
	}
	if match != e.Negate {
		return verdictPass, Result{}
	}
	if statusKind {
		st := e.ErrStatus
		if st == StatusUnknown {
			st = StatusL7STS
		}
		info := e.OnError
		if info == "" {
			info = resp.reason
		}
		return verdictFail, Result{Status: st, Code: resp.code, Info: info}
	}
	info := e.OnError
	if info == "" {
		info = "HTTP content check did not match"
		if e.Negate {
			info = "HTTP check matched unwanted content"
		}
	}
	return verdictFail, Result{Status: e.errStatus(), Code: resp.code, Info: info}
}
