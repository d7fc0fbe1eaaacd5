package h1

import (
	"bytes"
	"errors"
)

// Errors returned by the parsers.
var (
	// ErrIncomplete means the head is not complete yet: read more.
	ErrIncomplete = errors.New("h1: incomplete message head")
	// ErrBad is an invalid message (haproxy answers 400, or 502 for a response).
	ErrBad = errors.New("h1: invalid message")
	// ErrTooLarge is a head that does not fit in the buffer (haproxy: 400).
	ErrTooLarge = errors.New("h1: message head too large")
	// ErrTooManyHeaders is more header fields than tune.http.maxhdr allows.
	ErrTooManyHeaders = errors.New("h1: too many header fields")
	// ErrUnprocessable is a request whose transfer-coding haproxy answers with 422.
	ErrUnprocessable = errors.New("h1: unsupported transfer-coding")
)

// MaxHeaders is haproxy's default tune.http.maxhdr as it counts them: a
// message with more header fields is refused.
const MaxHeaders = 100

// Header is one header field; both slices point into the parsed buffer.
type Header struct {
	Name, Value []byte
}

// Msg is the parsed head of a request or a response. Its slices point into
// the buffer given to the parser; reuse a Msg to avoid allocations.
type Msg struct {
	// Request line: Method, URI; status line: Status, Reason.
	Method, URI []byte
	Status      int
	Reason      []byte
	// Major and Minor are the HTTP version digits.
	Major, Minor int
	Headers      []Header
	// HeadLen is the length of the head in the buffer, final empty line included.
	HeadLen int
	// ContentLength is the body length, -1 when not given.
	ContentLength int64
	// Chunked is true when the body is chunked (Transfer-Encoding ends with chunked).
	Chunked bool
	// ConnClose and ConnKeepAlive report the Connection header tokens.
	ConnClose, ConnKeepAlive bool
	// Upgrade is set when Connection has the upgrade token.
	Upgrade bool
	// Ambiguous is set when the framing was doubtful (Content-Length with
	// chunked, chunked HTTP/1.0): Content-Length is dropped and the
	// connection ends after this message, as haproxy does.
	Ambiguous bool
	// Expect100 is set by `Expect: 100-continue`.
	Expect100 bool
	// Size is haproxy's internal size of the head (its HTX accounting),
	// compared with the buffer limit.
	Size int
}

// reset clears m keeping its header slice.
func (m *Msg) reset() {
	hs := m.Headers[:0]
	*m = Msg{Headers: hs, ContentLength: -1}
}

// KeepAlive reports whether the connection may carry another message after
// this one, by version and Connection header.
func (m *Msg) KeepAlive() bool {
	if m.ConnClose {
		return false
	}
	if m.Major == 1 && m.Minor == 0 || m.Major == 0 {
		return m.ConnKeepAlive
	}
	return true
}

// Get returns the value of the first header of that name (case-insensitive).
func (m *Msg) Get(name string) ([]byte, bool) {
	for i := range m.Headers {
		if EqualFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}

// EqualFold compares an ASCII header name with a string, ignoring case.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 {
			return false
		}
		if c != d && (c|0x20 < 'a' || c|0x20 > 'z') {
			return false
		}
	}
	return true
}

// tchar marks the RFC 7230 token characters.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-32] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// uriChar marks the bytes haproxy 2.6 accepts in a request target.
var uriChar = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = true
	}
	t['#'] = false
	return
}()

// line returns the next line of buf from off (without CRLF or LF) and the
// offset after it; ok is false when no LF is there yet.
func line(buf []byte, off int) (l []byte, next int, ok bool) {
	i := bytes.IndexByte(buf[off:], '\n')
	if i < 0 {
		return nil, 0, false
	}
	l = buf[off : off+i]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l, off + i + 1, true
}

// ParseRequest parses a request head at the start of buf into m. limit is
// the room haproxy gives a head (see Limit). It returns ErrIncomplete when
// buf holds no full head yet.
func ParseRequest(buf []byte, m *Msg, limit int) error {
	m.reset()
	off := 0
	for off+1 < len(buf) && buf[off] == '\r' && buf[off+1] == '\n' || off < len(buf) && buf[off] == '\n' {
		if buf[off] == '\r' {
			off += 2
		} else {
			off++
		}
	}
	l, next, ok := line(buf, off)
	if !ok {
		if len(buf) > limit {
			return ErrTooLarge
		}
		return ErrIncomplete
	}
	if err := parseRequestLine(l, m); err != nil {
		return err
	}
	m.Size = len(m.Method) + len(m.URI) + 8
	if err := parseHeaders(buf, next, m, limit); err != nil {
		return err
	}
	if err := requestSemantics(m); err != nil {
		return err
	}
	return nil
}

// ParseResponse parses a response head at the start of buf into m.
func ParseResponse(buf []byte, m *Msg, limit int) error {
	m.reset()
	l, next, ok := line(buf, 0)
	if !ok {
		if len(buf) > limit {
			return ErrTooLarge
		}
		return ErrIncomplete
	}
	if err := parseStatusLine(l, m); err != nil {
		return err
	}
	m.Size = 3 + len(m.Reason) + 8
	if err := parseHeaders(buf, next, m, limit); err != nil {
		return err
	}
	return bodySemantics(m, false)
}

func isSP(c byte) bool { return c == ' ' || c == '\t' }

func parseRequestLine(l []byte, m *Msg) error {
	i := 0
	for i < len(l) && tchar[l[i]] {
		i++
	}
	if i == 0 || i == len(l) || !isSP(l[i]) {
		return ErrBad
	}
	m.Method = l[:i]
	for i < len(l) && isSP(l[i]) {
		i++
	}
	j := i
	for j < len(l) && uriChar[l[j]] {
		j++
	}
	if j == i || j == len(l) || !isSP(l[j]) {
		return ErrBad // no version (HTTP/0.9) or a bad byte in the target
	}
	m.URI = l[i:j]
	for j < len(l) && isSP(l[j]) {
		j++
	}
	return parseVersion(l[j:], m)
}

func parseVersion(v []byte, m *Msg) error {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return ErrBad
	}
	m.Major, m.Minor = int(v[5]-'0'), int(v[7]-'0')
	return nil
}

func parseStatusLine(l []byte, m *Msg) error {
	if len(l) < 12 {
		return ErrBad
	}
	if err := parseVersion(l[:8], m); err != nil {
		return err
	}
	if l[8] != ' ' {
		return ErrBad
	}
	st := 0
	for _, c := range l[9:12] {
		if c < '0' || c > '9' {
			return ErrBad
		}
		st = st*10 + int(c-'0')
	}
	if st < 100 {
		return ErrBad
	}
	m.Status = st
	if len(l) > 12 {
		if l[12] != ' ' {
			return ErrBad
		}
		m.Reason = l[13:]
	}
	return nil
}

// parseHeaders reads header lines from off up to the empty line.
func parseHeaders(buf []byte, off int, m *Msg, limit int) error {
	for {
		l, next, ok := line(buf, off)
		if !ok {
			if len(buf) > limit {
				return ErrTooLarge
			}
			return ErrIncomplete
		}
		if next > limit+1109 { // the raw head must fit in tune.bufsize
			return ErrTooLarge
		}
		if len(l) == 0 {
			m.HeadLen = next
			if m.Size > limit {
				return ErrTooLarge
			}
			return nil
		}
		if isSP(l[0]) { // obs-fold: joins the previous value
			if len(m.Headers) == 0 {
				return ErrBad
			}
			h := &m.Headers[len(m.Headers)-1]
			// as haproxy: the line break becomes spaces, the value goes on
			buf[off-1] = ' '
			if off >= 2 && buf[off-2] == '\r' {
				buf[off-2] = ' '
			}
			start := cap(buf) - cap(h.Value) // offset of the value in buf
			v := trimOWS(buf[start : off+len(l)])
			h.Value = v
			m.Size += len(l)
			off = next
			continue
		}
		c := bytes.IndexByte(l, ':')
		if c <= 0 {
			return ErrBad
		}
		name := l[:c]
		for _, ch := range name {
			if !tchar[ch] {
				return ErrBad
			}
		}
		if bytes.IndexByte(l[c+1:], '\r') >= 0 {
			return ErrBad
		}
		if len(m.Headers) >= MaxHeaders {
			return ErrTooManyHeaders
		}
		v := trimOWS(l[c+1:])
		m.Headers = append(m.Headers, Header{Name: name, Value: v})
		m.Size += 8 + len(name) + len(v)
		off = next
	}
}

func trimOWS(v []byte) []byte {
	for len(v) > 0 && isSP(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && (isSP(v[len(v)-1]) || v[len(v)-1] == '\r' || v[len(v)-1] == '\n') {
		v = v[:len(v)-1]
	}
	return v
}
