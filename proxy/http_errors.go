package proxy

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// httpErrorText holds haproxy 2.6's default error messages: status reason
// and the sentence of the page, copied from the pages the real haproxy
// 2.6.12 sends (proxy/http_diff_test.go compares them byte for byte).
var httpErrorText = map[int][2]string{
	200: {"OK", "Service ready."},
	400: {"Bad request", "Your browser sent an invalid request."},
	401: {"Unauthorized", "You need a valid user and password to access this content."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
	407: {"Unauthorized", "You need a valid user and password to access this content."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"Gone", "The resource is no longer available and will not be available again."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	422: {"Unprocessable Content", "The server cannot process the contained instructions."},
	425: {"Too Early", "Your browser sent early data."},
	429: {"Too Many Requests", "You have sent too many requests in a given amount of time."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", ".The server does not support the functionality required to fulfill the request."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
}

// errorBody is the html page of a default error message.
func errorBody(code int) string {
	t := httpErrorText[code]
	return "<html><body><h1>" + strconv.Itoa(code) + " " + t[0] + "</h1>\n" + t[1] + "\n</body></html>\n"
}

// errorPage is a default error as the stream sends it (deny, 503, 502, 504):
// lower-case header names; extra holds further header lines.
func errorPage(code int, extra string, close bool) []byte {
	body := errorBody(code)
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + httpErrorText[code][0] + "\r\n")
	b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n")
	b.WriteString(extra)
	if close {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

// rawErrorPage is an error sent before a request could be parsed (400, 408,
// 422): the message as haproxy stores it, with capitalised header names.
func rawErrorPage(code int) []byte {
	body := errorBody(code)
	conn := "Connection: close\r\n"
	if code == 422 {
		conn = ""
	}
	return []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + httpErrorText[code][0] + "\r\nContent-length: " + strconv.Itoa(len(body)) +
		"\r\nCache-Control: no-cache\r\n" + conn + "Content-Type: text/html\r\n\r\n" + body)
}

// errAnswer is an errorfile's message ready to send; close is set when it
// has no length (the connection ends after it).
type errAnswer struct {
	resp  []byte
	close bool
	lf    *httpRule // an http-error reply with a log-format body, made per request
}

// bytes is the answer to send for request q (nil: none known).
func (a errAnswer) bytes(q *hreq) []byte {
	if a.lf != nil && q != nil {
		return a.lf.lfAnswer(q)
	}
	return a.resp
}

// httpErrorSections reads the http-errors sections: name -> code -> file.
func httpErrorSections(cfg *parser.Config) map[string]map[int]string {
	out := map[string]map[int]string{}
	for _, sec := range cfg.Others {
		if sec.Kind != "http-errors" {
			continue
		}
		m := map[int]string{}
		for _, l := range sec.Lines {
			if len(l.Words) >= 3 && l.Words[0] == "errorfile" {
				if code, err := strconv.Atoi(l.Words[1]); err == nil {
					m[code] = l.Words[2]
				}
			}
		}
		out[sec.Name] = m
	}
	return out
}

// errorfilePaths gathers a proxy's error files: `errorfiles NAME [CODE...]`
// lines import from http-errors sections, then `errorfile` lines.
func (r *Runtime) errorfilePaths(px *parser.Proxy) (map[int]string, error) {
	paths := map[int]string{}
	for _, l := range px.Settings {
		if len(l.Words) < 2 || l.Words[0] != "errorfiles" {
			continue
		}
		sec, ok := r.httpErrors[l.Words[1]]
		if !ok {
			return nil, fmt.Errorf("%s: errorfiles: unknown http-errors section '%s'", l.Pos[0], l.Words[1])
		}
		if len(l.Words) == 2 {
			maps.Copy(paths, sec)
			continue
		}
		for _, c := range l.Words[2:] {
			code, _ := strconv.Atoi(c)
			if f, ok := sec[code]; ok {
				paths[code] = f
			}
		}
	}
	maps.Copy(paths, px.Errorfiles)
	return paths, nil
}

// loadErrorfiles reads the error files of a proxy as haproxy sends
// them: status line kept, header names in lower case, Connection dropped,
// body as in the file.
func (r *Runtime) loadErrorfiles(px *parser.Proxy) (map[int]errAnswer, error) {
	files, err := r.errorfilePaths(px)
	if err != nil {
		return nil, err
	}
	out := map[int]errAnswer{}
	for code, path := range files {
		a, err := readErrorfile(path)
		if err != nil {
			return nil, fmt.Errorf("%s '%s': errorfile %d: %v", px.Kind, px.Name, code, err)
		}
		out[code] = a
	}
	if err := r.httpErrorReplies(px, out); err != nil { // http_reply.go
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// readErrorfile reads an error file as haproxy sends it: status line
// kept, header names in lower case, Connection dropped, body as in the
// file; an empty file (/dev/null) sends nothing.
func readErrorfile(path string) (errAnswer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return errAnswer{}, err
	}
	if len(raw) == 0 {
		return errAnswer{resp: []byte{}}, nil
	}
	var m h1.Msg
	if err := h1.ParseResponse(raw, &m, len(raw)+1<<20); err != nil {
		return errAnswer{}, fmt.Errorf("errorfile %s is not an HTTP response: %v", path, err)
	}
	b := fmt.Appendf(nil, "HTTP/%d.%d %03d %s\r\n", m.Major, m.Minor, m.Status, m.Reason)
	for _, hd := range m.Headers {
		if h1.EqualFold(hd.Name, "connection") {
			continue
		}
		b = append(appendLower(b, hd.Name), ": "...)
		b = append(append(b, hd.Value...), "\r\n"...)
	}
	b = append(append(b, "\r\n"...), raw[m.HeadLen:]...)
	return errAnswer{resp: b, close: m.ContentLength < 0 && !m.Chunked}, nil
}

// parseErrorPage is the answer to a request that could not be read
// (400, 408, 422): haproxy's built-in page, or nothing when the
// frontend's errorfile for the code is empty (`errorfile 408 /dev/null`,
// the usual way to keep browsers' unused preconnections quiet). haproxy
// 2.6 sends its built-in page here even when the errorfile has one.
func (h *hconn) parseErrorPage(code int) []byte {
	if a, ok := h.fe.http.errs[code]; ok && len(a.resp) == 0 {
		return nil
	}
	return rawErrorPage(code)
}

// errorFor is the answer for an error status: the backend's errorfile,
// else the frontend's, else haproxy's default page.
func (h *hconn) errorFor(code int, be *backend) errAnswer { return errorFor(h.fe, code, be) }

// errorFor is the answer for an error code: the backend's errorfile, the
// frontend's, or haproxy's default page.
func errorFor(fe *frontend, code int, be *backend) errAnswer {
	if be != nil && be.http != nil {
		if a, ok := be.http.errs[code]; ok {
			return a
		}
	}
	if a, ok := fe.http.errs[code]; ok {
		return a
	}
	return errAnswer{resp: errorPage(code, "", false)}
}
