package proxy

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// captureSpec is a frontend's `capture request header NAME len N` and
// `capture response header NAME len N` lines, in order: the %hr and %hs
// fields of its log lines.
type captureSpec struct {
	req, res []capHdr
	slots    map[*parser.Rule]int // the request slot of each capture rule
}

type capHdr struct {
	name string
	max  int
	rule bool // filled by an `http-request capture` rule, not from a header
}

// captures returns px's capture lines compiled once, nil when it has
// none.
func (r *Runtime) captures(px *parser.Proxy) *captureSpec {
	if v, ok := r.obs.captures.Load(px); ok {
		return v.(*captureSpec)
	}
	v, _ := r.obs.captures.LoadOrStore(px, buildCaptures(px))
	return v.(*captureSpec)
}

// buildCaptures compiles px's capture lines and capture rules: request
// slots in the configuration's order.
func buildCaptures(px *parser.Proxy) *captureSpec {
	rules := captureRules(px)
	if len(px.Captures) == 0 && len(rules) == 0 {
		return nil
	}
	cs := &captureSpec{slots: map[*parser.Rule]int{}}
	addRule := func(r *parser.Rule) {
		cs.slots[r] = len(cs.req)
		cs.req = append(cs.req, capHdr{max: captureLen(r), rule: true})
	}
	for _, l := range px.Captures {
		w := l.Words
		var c capHdr
		var side string
		switch {
		case len(w) >= 6 && w[0] == "capture" && w[2] == "header" && w[4] == "len":
			side, c.name = w[1], w[3]
			c.max, _ = strconv.Atoi(w[5])
		case len(w) >= 5 && w[0] == "declare" && w[3] == "len": // a slot for capture ... id N
			side, c.rule = w[2], true
			c.max, _ = strconv.Atoi(w[4])
		default:
			continue
		}
		for len(rules) > 0 && before(rules[0].Pos, l.Pos[0]) { // slots in the config's order
			addRule(rules[0])
			rules = rules[1:]
		}
		switch side {
		case "request":
			cs.req = append(cs.req, c)
		case "response":
			cs.res = append(cs.res, c)
		}
	}
	for _, r := range rules {
		addRule(r)
	}
	return cs
}

// captureRules are px's `http-request capture SAMPLE len N` rules (those
// with `id N` write a slot a `declare capture` line made).
func captureRules(px *parser.Proxy) []*parser.Rule {
	var out []*parser.Rule
	for _, r := range px.Rules {
		if r.Keyword == "http-request" && r.Action == "capture" && !(len(r.Args) > 1 && r.Args[1] == "id") {
			out = append(out, r)
		}
	}
	return out
}

// captureLen is a capture rule's len.
func captureLen(r *parser.Rule) int {
	for i := 0; i+1 < len(r.Args); i++ {
		if r.Args[i] == "len" {
			n, _ := strconv.Atoi(r.Args[i+1])
			return n
		}
	}
	return 0
}

// before tells whether a is earlier in the configuration than b.
func before(a, b parser.Pos) bool {
	if a.File != b.File {
		return false
	}
	return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
}

// captureValue is the last occurrence of a header, cut at max bytes.
func captureValue(hdrs []h1.Header, c capHdr) string {
	if c.rule {
		return "" // until the rule runs
	}
	var v []byte
	for _, hd := range hdrs {
		if h1.EqualFold(hd.Name, c.name) {
			v = hd.Value
		}
	}
	if len(v) > c.max {
		v = v[:c.max]
	}
	return string(v)
}

// captureHead captures headers from a raw response head.
func captureHead(head []byte, caps []capHdr, out []string) []string {
	for len(out) < len(caps) {
		out = append(out, "")
	}
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(head)
	}
	lines := bytes.Split(head[:end], []byte("\r\n"))
	for i, c := range caps {
		if c.rule { // an http-response capture rule's slot: set already
			continue
		}
		var v []byte
		for _, l := range lines[1:] {
			name, val, ok := bytes.Cut(l, []byte(":"))
			if ok && h1.EqualFold(name, c.name) {
				v = bytes.TrimSpace(val)
			}
		}
		if len(v) > c.max {
			v = v[:c.max]
		}
		out[i] = string(v)
	}
	return out
}

// encodeCapture escapes what haproxy escapes in captured headers:
// control characters, bytes from 127, '"', '{', '|' and '}' as #XX.
func encodeCapture(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 32 || c >= 127 || c == '"' || c == '{' || c == '|' || c == '}' || c == '#' {
			b.WriteString("#" + strings.ToUpper(strconv.FormatInt(int64(c)>>4, 16)+strconv.FormatInt(int64(c)&15, 16)))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// capturesBraced is %hr / %hs: {v1|v2}, nothing without captures.
func capturesBraced(vals []string) string {
	enc := make([]string, len(vals))
	for i, v := range vals {
		enc[i] = encodeCapture(v)
	}
	return "{" + strings.Join(enc, "|") + "}"
}
