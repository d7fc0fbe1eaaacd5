package check

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

func stripKeyword(words []string, kw string) []string {
	if len(words) > 0 && words[0] == kw {
		return words[1:]
	}
	return words
}

func buildTCPCheck(lines [][]string) (Probe, error) {
	s := &Script{Kind: "tcp-check"}
	for _, l := range lines {
		r, err := parseRule(stripKeyword(l, "tcp-check"), false)
		if err != nil {
			return nil, fmt.Errorf("tcp-check: %w", err)
		}
		if r != nil {
			s.Rules = append(s.Rules, *r)
		}
	}
	s.Rules = withImplicitConnect(s.Rules)
	return s, nil
}

func withImplicitConnect(rules []Rule) []Rule {
	for _, r := range rules {
		if r.Kind == RuleComment || r.Kind == RuleNoop {
			continue
		}
		if r.Kind == RuleConnect {
			return rules
		}
		break
	}
	return append([]Rule{{Kind: RuleConnect, Implicit: true}}, rules...)
}

func buildHTTPCheck(spec Spec) (Probe, error) {
	s := &Script{Kind: "http", DisableOn404: spec.DisableOn404}
	base := ParseHTTPCheckOption(spec.Args)
	sends := 0
	var soft []error
	usedConn := false // a request was sent on the current connection
	for _, l := range spec.HTTPCheck {
		w := stripKeyword(l, "http-check")
		if len(w) > 0 && w[0] == "disable-on-404" {
			s.DisableOn404 = true
			continue
		}
		if len(w) > 0 && w[0] == "send-state" {
			soft = append(soft, fmt.Errorf("http-check send-state: %w", ErrNotImplemented))
			continue
		}
		r, err := parseRule(w, true)
		if err != nil {
			return nil, fmt.Errorf("http-check: %w", err)
		}
		if r == nil {
			continue
		}
		switch r.Kind {
		case RuleConnect:
			usedConn = false
		case RuleSend:
			if usedConn {
				return nil, fmt.Errorf("http-check send at step %d: missing connect rule", len(s.Rules)+1)
			}
			usedConn = true
			if sends == 0 {
				mergeRequest(r.HTTP, base)
			}
			sends++
			if lf := r.HTTP.URI + r.HTTP.Body; strings.Contains(lf, "%[") {
				soft = append(soft, fmt.Errorf("http-check send: log-format expressions are sent literally: %w", ErrNotImplemented))
			}
		case RuleExpect:
			usedConn = true
		}
		s.Rules = append(s.Rules, *r)
	}
	if sends == 0 {
		// the option's request goes after the connect rule (if any)
		i := 0
		if len(s.Rules) > 0 && s.Rules[0].Kind == RuleConnect {
			i = 1
		}
		s.Rules = append(s.Rules[:i], append([]Rule{{Kind: RuleSend, HTTP: base}}, s.Rules[i:]...)...)
	}
	last := RuleNoop
	for _, r := range s.Rules {
		if r.Kind != RuleComment && r.Kind != RuleNoop {
			last = r.Kind
		}
	}
	if last == RuleSend {
		s.Rules = append(s.Rules, Rule{Kind: RuleExpect, Expect: &Expect{Kind: ExpectHTTPDefault, MinRecv: -1}})
	}
	s.Rules = withImplicitConnect(s.Rules)
	return s, errors.Join(soft...)
}

func mergeRequest(r, base *HTTPRequest) {
	if r.Method == "" {
		r.Method = base.Method
	}
	if r.URI == "" {
		r.URI = base.URI
	}
	if r.Version == "" {
		r.Version = base.Version
	}
	r.Headers = append(append([][2]string(nil), base.Headers...), r.Headers...)
	if r.Body == "" {
		r.Body = base.Body
	}
}

// parseRule reads one tcp-check (http=false) or http-check rule.
func parseRule(w []string, http bool) (*Rule, error) {
	if len(w) == 0 {
		return nil, fmt.Errorf("missing action")
	}
	args := w[1:]
	switch w[0] {
	case "comment":
		if len(args) == 0 {
			return nil, fmt.Errorf("'comment' expects a string")
		}
		return &Rule{Kind: RuleComment, Comment: args[0]}, nil
	case "set-var", "unset-var":
		return &Rule{Kind: RuleNoop}, nil
	case "connect":
		return parseConnect(args)
	case "send", "send-lf", "send-binary", "send-binary-lf":
		if http {
			if w[0] != "send" {
				return nil, fmt.Errorf("unknown action %q", w[0])
			}
			return parseHTTPSend(args)
		}
		return parseTCPSend(w[0], args)
	case "expect":
		return parseExpect(args, http)
	}
	return nil, fmt.Errorf("unknown action %q", w[0])
}

func parseConnect(args []string) (*Rule, error) {
	r := &Rule{Kind: RuleConnect}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "default", "via-socks4", "ssl":
			r.SSL = r.SSL || a == "ssl"
		case "send-proxy":
			r.SendProxy = true
		case "linger":
			r.Linger = true
		case "port", "addr", "sni", "alpn", "proto", "comment":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("'%s' expects an argument", a)
			}
			i++
			switch a {
			case "port":
				p, err := strconv.Atoi(args[i])
				if err != nil || p <= 0 || p > 65535 {
					return nil, fmt.Errorf("invalid port %q", args[i])
				}
				r.Port = p
			case "addr":
				r.Addr = args[i]
			case "comment":
				r.Comment = args[i]
			}
		default:
			return nil, fmt.Errorf("connect: unknown option %q", a)
		}
	}
	return r, nil
}

func parseTCPSend(kw string, args []string) (*Rule, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("'%s' expects a string", kw)
	}
	r := &Rule{Kind: RuleSend, Data: []byte(args[0])}
	if strings.HasPrefix(kw, "send-binary") {
		b, err := hex.DecodeString(args[0])
		if err != nil {
			return nil, fmt.Errorf("'%s': invalid hex string %q", kw, args[0])
		}
		r.Data = b
	}
	if len(args) >= 3 && args[1] == "comment" {
		r.Comment = args[2]
	} else if len(args) > 1 {
		return nil, fmt.Errorf("'%s': unexpected %q", kw, args[1])
	}
	return r, nil
}

func parseHTTPSend(args []string) (*Rule, error) {
	req := &HTTPRequest{}
	r := &Rule{Kind: RuleSend, HTTP: req}
	for i := 0; i < len(args); i++ {
		need := 1
		if args[i] == "hdr" {
			need = 2
		}
		if i+need >= len(args) {
			return nil, fmt.Errorf("send: '%s' expects an argument", args[i])
		}
		switch args[i] {
		case "meth":
			req.Method = args[i+1]
		case "uri", "uri-lf":
			req.URI = args[i+1]
		case "ver":
			req.Version = args[i+1]
		case "hdr":
			req.Headers = append(req.Headers, [2]string{args[i+1], args[i+2]})
		case "body", "body-lf":
			req.Body = args[i+1]
		case "comment":
			r.Comment = args[i+1]
		default:
			return nil, fmt.Errorf("send: unknown option %q", args[i])
		}
		i += need
	}
	return r, nil
}

func parseExpect(args []string, http bool) (*Rule, error) {
	e := &Expect{MinRecv: -1}
	r := &Rule{Kind: RuleExpect, Expect: e}
	var match, pat string
	have := 0 // 0: nothing, 1: match read, 2: pattern read
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "!":
			if have != 0 {
				return nil, fmt.Errorf("expect: unexpected '!'")
			}
			e.Negate = true
			continue
		case "min-recv", "comment", "ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code":
			if have == 1 {
				break // an option name used as a pattern
			}
			if i+1 >= len(args) {
				return nil, fmt.Errorf("expect: '%s' expects an argument", a)
			}
			i++
			if err := setExpectOption(e, r, a, args[i]); err != nil {
				return nil, fmt.Errorf("expect: %s: %w", a, err)
			}
			continue
		}
		switch have {
		case 0:
			match = a
		case 1:
			pat = a
		default:
			return nil, fmt.Errorf("expect: unexpected %q", a)
		}
		have++
	}
	if have < 2 {
		return nil, fmt.Errorf("expect: missing match and pattern")
	}
	var err error
	switch {
	case !http && match == "string":
		e.Kind, e.Pattern = ExpectString, []byte(pat)
	case !http && match == "rstring":
		e.Kind = ExpectRString
		e.Re, err = regexp.Compile(pat)
	case !http && match == "binary":
		e.Kind = ExpectBinary
		e.Pattern, err = hex.DecodeString(pat)
	case !http && match == "rbinary":
		e.Kind = ExpectRBinary
		e.Re, err = regexp.Compile(pat)
	case http && match == "status":
		e.Kind = ExpectHTTPStatus
		e.Codes, err = parseCodes(pat)
	case http && match == "rstatus":
		e.Kind = ExpectHTTPRStatus
		e.Re, err = regexp.Compile(pat)
	case http && match == "string":
		e.Kind, e.Pattern = ExpectHTTPString, []byte(pat)
	case http && match == "rstring":
		e.Kind = ExpectHTTPRString
		e.Re, err = regexp.Compile(pat)
	default:
		return nil, fmt.Errorf("expect: unsupported match %q", match)
	}
	if err != nil {
		return nil, fmt.Errorf("expect %s: %w", match, err)
	}
	return r, nil
}

func setExpectOption(e *Expect, r *Rule, name, v string) error {
	var err error
	switch name {
	case "min-recv":
		e.MinRecv, err = strconv.Atoi(v)
	case "comment":
		r.Comment = v
	case "ok-status":
		e.OKStatus, err = parseStatusWord(v)
	case "error-status":
		e.ErrStatus, err = parseStatusWord(v)
	case "tout-status":
		e.ToutStatus, err = parseStatusWord(v)
	case "on-success":
		e.OnSuccess = v
	case "on-error":
		e.OnError = v
	}
	return err
}

func parseStatusWord(v string) (Status, error) {
	st, ok := ParseStatus(v)
	if !ok || st.Outcome() == OutcomeNone {
		return 0, fmt.Errorf("unknown status %q", v)
	}
	return st, nil
}

// parseCodes reads "200", "200,301", "200-399" lists.
func parseCodes(s string) ([]CodeRange, error) {
	var out []CodeRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("invalid status %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid status range %q", part)
			}
		}
		out = append(out, CodeRange{a, b})
	}
	return out, nil
}
