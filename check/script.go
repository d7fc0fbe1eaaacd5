package check

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// bufSize is haproxy's default check buffer (tune.bufsize): a reply that
// fills it is evaluated as it stands.
const bufSize = 16384

// RuleKind is the action of one check rule.
type RuleKind uint8

// Rule kinds, as "tcp-check connect|send|expect|comment" and their
// http-check counterparts.
const (
	RuleConnect RuleKind = iota
	RuleSend
	RuleExpect
	RuleComment
	RuleNoop // set-var / unset-var: counted as a step, does nothing here
)

// Rule is one step of a check script.
type Rule struct {
	Kind RuleKind
	// Connect: Port and Addr override the target's; SendProxy sends a PROXY
	// header; SSL wraps the connection in TLS; Implicit marks the connect
	// haproxy adds in front of rules that do not start with one; Linger
	// closes gracefully instead of with a reset.
	Port      int
	Addr      string
	SendProxy bool
	SSL       bool
	Implicit  bool
	Linger    bool
	// Send: Data is sent as is; Dyn, when set, builds the bytes at send
	// time; HTTP is an HTTP request.
	Data []byte
	Dyn  func(now time.Time) []byte
	HTTP *HTTPRequest
	// Expect: what the reply must (or must not) look like.
	Expect *Expect
	// Comment: the rule's "comment" option, or the text of a comment rule.
	Comment string
}

// Script is a sequence of check rules: every check kind except ICMP is one.
type Script struct {
	// Kind names the ruleset: "tcp" (plain check), "tcp-check" (user rules;
	// connection errors then name the step), "http", or a built-in protocol.
	Kind  string
	Rules []Rule
	// DisableOn404 reports a 404 from a server that is not DOWN as L7OKC.
	DisableOn404 bool
}

// session is the state of one run of a Script.
type session struct {
	ctx      context.Context
	t        Target
	s        *Script
	start    time.Time
	deadline time.Time
	conn     net.Conn
	in       []byte
	closed   bool
	tls      bool
	comment  string
	resp     *httpResponse
	lastReq  *HTTPRequest
	code     int
	idx      int
	okResult *Result // result of the last passed custom expect
	okInfo   string  // last non-empty info of a passed custom expect
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

// Run executes the script against t.
func (s *Script) Run(ctx context.Context, t Target) Result {
	bp := bufPool.Get().(*[]byte)
	ss := &session{ctx: ctx, t: t, s: s, start: time.Now(), in: (*bp)[:0]}
	ss.deadline = ss.start.Add(t.Timeouts.ConnectTimeout())
	r := ss.run()
	ss.closeConn(false)
	r.Duration = time.Since(ss.start)
	*bp = ss.in[:0]
	bufPool.Put(bp)
	return r
}

func (ss *session) run() Result {
	var last *Rule
	for i := range ss.s.Rules {
		rule := &ss.s.Rules[i]
		ss.idx = i
		var r Result
		ok := true
		switch rule.Kind {
		case RuleComment:
			ss.comment = rule.Comment
			continue
		case RuleNoop:
			continue
		case RuleConnect:
			r, ok = ss.connect(rule)
		case RuleSend:
			r, ok = ss.send(rule)
		case RuleExpect:
			r, ok = ss.expect(rule)
		}
		if !ok {
			return r
		}
		last = rule
	}
	return ss.success(last)
}

// step returns haproxy's step number of rule i: the implicit connect is
// step 0, user rules count from 1.
func (ss *session) step(i int) int {
	if len(ss.s.Rules) > 0 && ss.s.Rules[0].Implicit {
		return i
	}
	return i + 1
}

func (ss *session) success(last *Rule) Result {
	switch {
	case last != nil && last.Kind == RuleExpect:
		e := last.Expect
		if e.Custom != nil && ss.okResult != nil {
			return *ss.okResult
		}
		st := e.OKStatus
		if st == StatusUnknown {
			st = StatusL7OK
		}
		info := e.OnSuccess
		if info == "" && !e.isHTTP() {
			info = "(tcp-check)"
		}
		return Result{Status: st, Code: ss.code, Info: info}
	case last != nil && last.Kind == RuleConnect:
		st := StatusL4OK
		if ss.tls {
			st = StatusL6OK
		}
		info := ""
		if !last.Implicit {
			info = "(tcp-check)"
		}
		return Result{Status: st, Info: info}
	}
	return Result{Status: StatusL7OK, Info: "(tcp-check)"}
}

func (ss *session) closeConn(linger bool) {
	if ss.conn == nil {
		return
	}
	if tc, ok := ss.conn.(*net.TCPConn); ok && !linger {
		_ = tc.SetLinger(0)
	}
	_ = ss.conn.Close()
	ss.conn = nil
}

func (ss *session) connect(rule *Rule) (Result, bool) {
	ss.closeConn(true)
	ss.in, ss.closed, ss.resp, ss.tls = ss.in[:0], false, nil, false
	addr := ss.t.Addr
	if rule.Addr != "" || rule.Port != 0 {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return ss.connErr(StatusL4CON, err.Error()), false
		}
		if rule.Addr != "" {
			host = rule.Addr
		}
		if rule.Port != 0 {
			port = strconv.Itoa(rule.Port)
		}
		addr = net.JoinHostPort(host, port)
	}
	begin := time.Now()
	c, err := dialTCP(ss.ctx, addr, ss.t.Source, ss.deadline)
	if err != nil {
		if isTimeout(err) || ss.ctx.Err() != nil {
			return ss.connErr(StatusL4TOUT, ""), false
		}
		return ss.connErr(StatusL4CON, errText(err)), false
	}
	ss.conn = c
	ss.deadline = time.Now().Add(ss.t.Timeouts.ReadTimeout(time.Since(begin)))
	if rule.SendProxy || (rule.Implicit && ss.t.SendProxy > 0) {
		v := ss.t.SendProxy
		if v == 0 {
			v = 1
		}
		if r, ok := ss.write(ProxyHeader(v, c.LocalAddr(), c.RemoteAddr())); !ok {
			return r, false
		}
	}
	if rule.SSL || (rule.Implicit && ss.t.TLS != nil) {
		cfg := ss.t.TLS
		if cfg == nil {
			cfg = &tls.Config{InsecureSkipVerify: true}
		}
		tc := tls.Client(c, cfg)
		_ = tc.SetDeadline(ss.deadline)
		if err := tc.HandshakeContext(ss.ctx); err != nil {
			if isTimeout(err) {
				return ss.connErr(StatusL6TOUT, ""), false
			}
			return ss.connErr(StatusL6RSP, errText(err)), false
		}
		ss.conn, ss.tls = tc, true
	}
	return Result{}, true
}

func (ss *session) write(b []byte) (Result, bool) {
	if ss.conn == nil {
		return ss.connErr(StatusSockErr, "Broken pipe"), false
	}
	_ = ss.conn.SetWriteDeadline(ss.deadline)
	if _, err := ss.conn.Write(b); err != nil {
		if isTimeout(err) {
			return ss.connErr(StatusL7TOUT, ""), false
		}
		return ss.connErr(StatusSockErr, errText(err)), false
	}
	return Result{}, true
}

func (ss *session) send(rule *Rule) (Result, bool) {
	data := rule.Data
	switch {
	case rule.Dyn != nil:
		data = rule.Dyn(time.Now())
	case rule.HTTP != nil:
		data = rule.HTTP.Bytes()
		ss.lastReq = rule.HTTP
	}
	ss.in, ss.resp = ss.in[:0], nil
	return ss.write(data)
}

// read reads more of the reply; it sets closed at end of stream.
func (ss *session) read() error {
	if ss.conn == nil {
		ss.closed = true
		return nil
	}
	_ = ss.conn.SetReadDeadline(ss.deadline)
	if cap(ss.in) < bufSize {
		ss.in = append(make([]byte, 0, bufSize), ss.in...)
	}
	n, err := ss.conn.Read(ss.in[len(ss.in):bufSize])
	ss.in = ss.in[:len(ss.in)+n]
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) && len(ss.in) > 0 {
		ss.closed = true
		return nil
	}
	if ss.ctx.Err() != nil {
		return context.DeadlineExceeded
	}
	return err
}

func (ss *session) expect(rule *Rule) (Result, bool) {
	e := rule.Expect
	for {
		final := ss.closed || len(ss.in) >= bufSize
		v, r := e.eval(ss, rule, final)
		switch v {
		case verdictPass:
			return Result{}, true
		case verdictFail:
			return r, false
		}
		if final {
			return ss.connErr(StatusL7RSP, ""), false
		}
		if err := ss.read(); err != nil {
			if isTimeout(err) {
				st := e.ToutStatus
				if st == StatusUnknown {
					st = StatusL7TOUT
				}
				return ss.connErr(st, ""), false
			}
			return ss.connErr(StatusSockErr, errText(err)), false
		}
	}
}

// connErr builds the result of a connection-level failure at the current
// rule; for user tcp-check rules haproxy names the step.
func (ss *session) connErr(st Status, msg string) Result {
	r := Result{Status: st, Info: msg}
	if ss.s.Kind != "tcp-check" {
		return r
	}
	step := ss.step(ss.idx)
	if step == 0 {
		r.Info = msg + " at initial connection step of tcp-check"
		return r
	}
	r.Info = msg + " at step " + strconv.Itoa(step) + " of tcp-check"
	rule := &ss.s.Rules[ss.idx]
	switch rule.Kind {
	case RuleConnect:
		if rule.Port != 0 {
			r.Info += " (connect port " + strconv.Itoa(rule.Port) + ")"
		} else {
			r.Info += " (connect)"
		}
	case RuleSend:
		r.Info += " (send)"
	case RuleExpect:
		r.Info += rule.Expect.describe()
	}
	comment := rule.Comment
	if comment == "" {
		comment = ss.comment
	}
	if comment != "" {
		r.Info += " comment: '" + comment + "'"
	}
	return r
}
