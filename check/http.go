package check

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// HTTPRequest is the request of an HTTP check ("option httpchk" and
// "http-check send").
type HTTPRequest struct {
	Method, URI, Version string // defaults OPTIONS, /, HTTP/1.0
	Headers              [][2]string
	Body                 string
}

func (r *HTTPRequest) method() string { return or(r.Method, "OPTIONS") }
func (r *HTTPRequest) uri() string    { return or(r.URI, "/") }
func (r *HTTPRequest) version() string {
	return or(r.Version, "HTTP/1.0")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Bytes renders the request as haproxy 2.6 puts it on the wire: header names
// in lower case and in order, user Content-Length and Transfer-Encoding
// dropped, "content-length" added when there is a body, and for HTTP/1.1
// "connection: close" unless a Connection header was given. A Connection
// header loses the token that is the version's default (keep-alive in 1.1,
// close in 1.0).
func (r *HTTPRequest) Bytes() []byte {
	var b bytes.Buffer
	ver := r.version()
	v11 := strings.EqualFold(ver, "HTTP/1.1")
	b.WriteString(r.method() + " " + r.uri() + " " + ver + "\r\n")
	userConn := false
	for _, h := range r.Headers {
		name := strings.ToLower(h[0])
		val := h[1]
		switch name {
		case "content-length", "transfer-encoding":
			continue
		case "connection":
			userConn = true
			val = dropToken(val, map[bool]string{true: "keep-alive", false: "close"}[v11])
			if val == "" {
				continue
			}
		}
		b.WriteString(name + ": " + val + "\r\n")
	}
	if r.Body != "" {
		b.WriteString("content-length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	}
	if v11 && !userConn {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.Body)
	return b.Bytes()
}

func dropToken(v, tok string) string {
	var keep []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t != "" && !strings.EqualFold(t, tok) {
			keep = append(keep, t)
		}
	}
	return strings.Join(keep, ", ")
}

// ParseHTTPCheckOption reads the arguments of the old form "option httpchk
// [<uri>] | [<meth> <uri> [<ver>]]", where the version may hide headers (and
// a body) after CR LF, as haproxy still accepts.
func ParseHTTPCheckOption(args []string) *HTTPRequest {
	r := &HTTPRequest{}
	switch len(args) {
	case 0:
	case 1:
		r.URI = args[0]
	case 2:
		r.Method, r.URI = args[0], args[1]
	default:
		r.Method, r.URI = args[0], args[1]
		ver := args[2]
		if i := strings.Index(ver, "\r\n"); i >= 0 {
			rest := ver[i+2:]
			ver = ver[:i]
			head, body, _ := strings.Cut(rest, "\r\n\r\n")
			for _, line := range strings.Split(head, "\r\n") {
				name, val, ok := strings.Cut(line, ":")
				if !ok || name == "" {
					continue
				}
				r.Headers = append(r.Headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(val)})
			}
			r.Body = body
		}
		r.Version = ver
	}
	return r
}

// httpResponse is the part of an HTTP reply the expect rules look at.
type httpResponse struct {
	code    int
	reason  string
	headers [][2]string
	body    []byte
}

var errBadHTTP = errors.New("invalid HTTP response")

// parseHTTPResponse parses b; more asks for more data. final means no more
// data will come (end of stream or buffer full).
func parseHTTPResponse(b []byte, final, head bool) (resp *httpResponse, more bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if final {
			return nil, false, errBadHTTP
		}
		return nil, true, nil
	}
	lines := strings.Split(string(b[:end]), "\r\n")
	sl := lines[0]
	if len(sl) < 12 || !strings.HasPrefix(sl, "HTTP/") || sl[8] != ' ' {
		return nil, false, errBadHTTP
	}
	code, err := strconv.Atoi(sl[9:12])
	if err != nil || code < 100 || (len(sl) > 12 && sl[12] != ' ') {
		return nil, false, errBadHTTP
	}
	resp = &httpResponse{code: code}
	if len(sl) > 13 {
		resp.reason = sl[13:]
	}
	clen, chunked := -1, false
	for _, l := range lines[1:] {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			return nil, false, errBadHTTP
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		resp.headers = append(resp.headers, [2]string{name, val})
		switch strings.ToLower(name) {
		case "content-length":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, false, errBadHTTP
			}
			clen = n
		case "transfer-encoding":
			chunked = strings.Contains(strings.ToLower(val), "chunked")
		}
	}
	body := b[end+4:]
	switch {
	case head || code < 200 || code == 204 || code == 304:
		body = nil
	case chunked:
		dec, complete := dechunk(body)
		if !complete && !final {
			return nil, true, nil
		}
		body = dec
	case clen >= 0:
		if len(body) < clen && !final {
			return nil, true, nil
		}
		if len(body) > clen {
			body = body[:clen]
		}
	default:
		if !final {
			return nil, true, nil
		}
	}
	resp.body = body
	return resp, false, nil
}

// dechunk decodes a chunked body; complete is false until the last chunk.
func dechunk(b []byte) (out []byte, complete bool) {
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return out, false
		}
		sz := string(b[:i])
		if j := strings.IndexByte(sz, ';'); j >= 0 {
			sz = sz[:j]
		}
		n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 32)
		if err != nil || n < 0 {
			return out, true
		}
		b = b[i+2:]
		if n == 0 {
			return out, true
		}
		if int64(len(b)) < n+2 {
			return append(out, b...), false
		}
		out = append(out, b[:n]...)
		b = b[n+2:]
	}
}
