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
}

type capHdr struct {
	name string
	max  int
}

// captures returns px's capture lines compiled once, nil when it has
// none.
func (r *Runtime) captures(px *parser.Proxy) *captureSpec {
	if len(px.Captures) == 0 {
		return nil
	}
	if v, ok := r.obs.captures.Load(px); ok {
		return v.(*captureSpec)
	}
	cs := &captureSpec{}
	for _, l := range px.Captures {
		w := l.Words
		if len(w) < 6 || w[0] != "capture" || w[2] != "header" || w[4] != "len" {
			continue
		}
		n, _ := strconv.Atoi(w[5])
		switch w[1] {
		case "request":
			cs.req = append(cs.req, capHdr{name: w[3], max: n})
		case "response":
			cs.res = append(cs.res, capHdr{name: w[3], max: n})
		}
	}
	v, _ := r.obs.captures.LoadOrStore(px, cs)
	return v.(*captureSpec)
}

// captureValue is the last occurrence of a header, cut at max bytes.
func captureValue(hdrs []h1.Header, c capHdr) string {
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
