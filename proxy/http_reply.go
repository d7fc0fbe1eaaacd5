package proxy

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
)

// Replies are answers made from the configuration: `http-request return`
// and `http-error` (which replaces the error page for its status). Both
// take the same words: status N, content-type T, hdr NAME VALUE, and a
// body from string S, file F, lf-string S or lf-file F (made per request
// as a log-format), or the answer of errorfile F, errorfiles NAME or
// default-errorfiles (haproxy's own page).

// buildReply reads a reply's words a (after the keyword kw) into a rule
// holding the answer; status is the default status.
func (r *Runtime) buildReply(px *parser.Proxy, pos parser.Pos, kw string, a []string, status int) (*httpRule, error) {
	hr := &httpRule{status: status, pos: pos}
	ctype, body, hdrs := "", "", ""
	lf, from := false, "" // from: errorfile, errorfiles or default-errorfiles
	var arg string
	for i := 0; i < len(a); i++ {
		w := a[i]
		if w == "default-errorfiles" {
			from = w
			continue
		}
		if i+1 >= len(a) {
			break
		}
		switch w {
		case "status":
			hr.status, _ = strconv.Atoi(a[i+1])
		case "content-type":
			ctype = a[i+1]
		case "string":
			body = a[i+1]
		case "hdr":
			if i+2 < len(a) {
				hdrs += strings.ToLower(a[i+1]) + ": " + a[i+2] + "\r\n"
				i++
			}
		case "file", "lf-file":
			raw, err := os.ReadFile(a[i+1])
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %v", pos, kw, w, err)
			}
			body, lf = string(raw), w == "lf-file"
		case "lf-string":
			body, lf = a[i+1], true
		case "errorfile", "errorfiles":
			from, arg = w, a[i+1]
		default:
			continue
		}
		i++
	}
	if from != "" {
		return r.errorfileReply(hr, pos, kw, from, arg)
	}
	if ctype == "" && lf {
		return nil, fmt.Errorf("%s: a content type must be defined with a log-format payload", pos)
	}
	if ctype == "" && body != "" {
		return nil, fmt.Errorf("%s: a content type must be defined when non-empty payload is configured", pos)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(hr.status) + " " + reason(hr.status) + "\r\n" + hdrs)
	if lf {
		f, err := compileFmt(body, pos, r)
		if err != nil {
			return nil, err
		}
		hr.lfBody = &f
		if ctype != "" {
			hr.lfTail = []byte("content-type: " + ctype + "\r\n")
		}
		hr.resp = []byte(b.String())
		return hr, nil
	}
	b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\n")
	if ctype != "" {
		b.WriteString("content-type: " + ctype + "\r\n")
	}
	b.WriteString("\r\n" + body)
	hr.resp = []byte(b.String())
	return hr, nil
}

// errorfileReply is a reply sent as an error file: the file named, the
// one an http-errors section holds for the status, or haproxy's page.
func (r *Runtime) errorfileReply(hr *httpRule, pos parser.Pos, kw, from, arg string) (*httpRule, error) {
	path := arg
	if from == "errorfiles" {
		sec, ok := r.httpErrors[arg]
		if !ok {
			return nil, fmt.Errorf("%s: %s: unknown http-errors section '%s'", pos, kw, arg)
		}
		path = sec[hr.status]
	}
	if from == "default-errorfiles" || path == "" {
		hr.resp = errorPage(hr.status, "", false)
		return hr, nil
	}
	a, err := readErrorfile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", pos, kw, err)
	}
	hr.resp, hr.close = a.resp, a.close
	return hr, nil
}

// httpErrorReplies are a proxy's `http-error` lines by status.
func (r *Runtime) httpErrorReplies(px *parser.Proxy, out map[int]errAnswer) error {
	for _, l := range px.Settings {
		if len(l.Words) == 0 || l.Words[0] != "http-error" {
			continue
		}
		rp, err := r.buildReply(px, l.Pos[0], "http-error", l.Words[1:], 200)
		if err != nil {
			return err
		}
		if _, ok := httpErrorText[rp.status]; !ok {
			return fmt.Errorf("%s: http-error: status '%d' is not one haproxy answers with an error", l.Pos[0], rp.status)
		}
		a := errAnswer{resp: rp.resp, close: rp.close}
		if rp.lfBody != nil {
			a.lf = rp
		}
		out[rp.status] = a
	}
	return nil
}
