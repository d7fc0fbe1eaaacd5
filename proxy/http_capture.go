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
		if len(w) < 6 || w[0] != "capture" || w[2] != "header" || w[4] != "len" {
			continue
		}
		for len(rules) > 0 && before(rules[0].Pos, l.Pos[0]) { // slots in the config's order
			addRule(rules[0])
			rules = rules[1:]
		}
		n, _ := strconv.Atoi(w[5])
		switch w[1] {
		case "request":
			cs.req = append(cs.req, capHdr{name: w[3], max: n})
		case "response":
			cs.res = append(cs.res, capHdr{name: w[3], max: n})
		}
	}
	for _, r := range rules {
		addRule(r)
	}
	return cs
}

// captureRules are px's `http-request capture SAMPLE len N` rules.
func captureRules(px *parser.Proxy) []*parser.Rule {
	var out []*parser.Rule
	for _, r := range px.Rules {
		if r.Keyword == "http-request" && r.Action == "capture" {
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
	out = out[:0]
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(head)
	}
	lines := bytes.Split(head[:end], []byte("\r\n"))
	for _, c := range caps {
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
		out = append(out, string(v))
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
