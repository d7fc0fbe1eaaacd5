package proxy

// This file holds http compression (`compression algo|type|offload`):
// which responses are compressed and how, as haproxy 2.6 decides it.

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// compSpec is a proxy's compression lines.
type compSpec struct {
	algos   []string // in the configured order: gzip, deflate, raw-deflate, identity
	types   []string // lower case; none: every type
	offload bool     // Accept-Encoding is not passed to the server
}

// newCompSpec reads a proxy's compression lines (nil: none).
func newCompSpec(px *parser.Proxy) *compSpec {
	var c *compSpec
	for _, l := range px.Settings {
		if len(l.Words) < 2 || l.Words[0] != "compression" {
			continue
		}
		if c == nil {
			c = &compSpec{}
		}
		switch l.Words[1] {
		case "algo":
			c.algos = append([]string(nil), l.Words[2:]...)
		case "type":
			for _, t := range l.Words[2:] {
				c.types = append(c.types, strings.ToLower(t))
			}
		case "offload":
			c.offload = true
		}
	}
	if c != nil && len(c.algos) == 0 {
		return nil
	}
	return c
}

// compFor is the compression of a request reaching be from fe: the
// backend's lines, else the frontend's.
func compFor(fe *frontend, be *backend) *compSpec {
	if be != nil && be.http != nil && be.http.comp != nil {
		return be.http.comp
	}
	return fe.http.comp
}

// pickAlgo chooses the algorithm for a request's Accept-Encoding values:
// the first one the client lists (not with q=0) that is configured, "*"
// standing for the first configured; "" when none.
func (c *compSpec) pickAlgo(hdrs []h1.Header) string {
	for _, hd := range hdrs {
		if !h1.EqualFold(hd.Name, "accept-encoding") {
			continue
		}
		for _, tok := range strings.Split(string(hd.Value), ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(tok), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && strings.Trim(q, "0.") == "" {
				continue // q=0: not acceptable
			}
			for _, a := range c.algos {
				if a != "identity" && (name == a || name == "*") {
					return a
				}
			}
		}
	}
	return ""
}

// compressible reports whether a response to a request that chose an
// algorithm is compressed: status 200-203, a body, none of its own
// Content-Encoding, no Cache-Control no-transform, a configured type.
func (c *compSpec) compressible(rs *h1.Msg, hdrs []h1.Header) bool {
	if rs.Status < 200 || rs.Status > 203 {
		return false
	}
	ctype := ""
	for _, hd := range hdrs {
		switch {
		case h1.EqualFold(hd.Name, "content-encoding"):
			return false
		case h1.EqualFold(hd.Name, "cache-control") && bytes.Contains(bytes.ToLower(hd.Value), []byte("no-transform")):
			return false
		case h1.EqualFold(hd.Name, "content-type"):
			ctype = strings.ToLower(strings.TrimSpace(string(hd.Value)))
		}
	}
	if len(c.types) == 0 {
		return true
	}
	for _, t := range c.types {
		if strings.HasPrefix(ctype, t) {
			return true
		}
	}
	return false
}

// compHeaders rewrites a compressed response's headers as haproxy does:
// no length, a strong ETag made weak, then Transfer-Encoding chunked,
// Vary and Content-Encoding added at the end.
func compHeaders(hdrs []h1.Header, algo string) []h1.Header {
	out := hdrs[:0]
	for _, hd := range hdrs {
		switch {
		case h1.EqualFold(hd.Name, "content-length"), h1.EqualFold(hd.Name, "transfer-encoding"):
			continue
		case h1.EqualFold(hd.Name, "etag") && bytes.HasPrefix(hd.Value, []byte{'"'}):
			hd.Value = append([]byte("W/"), hd.Value...)
		}
		out = append(out, hd)
	}
	return append(out, h1.Header{Name: []byte("transfer-encoding"), Value: []byte("chunked")},
		h1.Header{Name: []byte("vary"), Value: []byte("Accept-Encoding")},
		h1.Header{Name: []byte("content-encoding"), Value: []byte(algo)})
}

// compWriter is the encoder of an algorithm over w.
func compWriter(algo string, w io.Writer) io.WriteCloser {
	switch algo {
	case "deflate":
		return zlib.NewWriter(w)
	case "raw-deflate":
		fw, _ := flate.NewWriter(w, flate.DefaultCompression)
		return fw
	}
	return gzip.NewWriter(w)
}

// countCompressed books a compressed response on its frontend and
// backend: bytes into and out of the compressor.
func countCompressed(fe *frontend, be *backend, in, out int64) {
	for _, c := range []*httpCtr{&fe.ctr.http, &be.ctr.http} {
		c.compIn.Add(in)
		c.compOut.Add(out)
		c.compRsp.Add(1)
	}
}

// deadlineReader refreshes a connection's read deadline before each read.
type deadlineReader struct {
	c       interface{ SetReadDeadline(time.Time) error }
	r       io.Reader
	timeout time.Duration
}

func (d deadlineReader) Read(b []byte) (int, error) {
	if d.timeout > 0 {
		d.c.SetReadDeadline(time.Now().Add(d.timeout))
	}
	return d.r.Read(b)
}

// relayCompressed sends the body of the response whose head is in sbuf,
// decoded from its framing (length or chunks), compressed with algo and
// chunked to the client; it returns the body's bytes in (as haproxy
// counts them) and out.
func (h *hconn) relayCompressed(algo string) (in, out int64, err error) {
	rs := &h.resp
	var body io.Reader = deadlineReader{c: h.sc, r: io.MultiReader(bytes.NewReader(h.sbuf[rs.HeadLen:h.sn]), h.sc), timeout: h.serverTimeout()}
	if rs.Chunked {
		body = httputil.NewChunkedReader(body)
	} else {
		body = io.LimitReader(body, rs.ContentLength)
	}
	cw := &countingWriter{w: h.c}
	chunks := httputil.NewChunkedWriter(cw)
	enc := compWriter(algo, chunks)
	buf := bufPool.Get()
	defer bufPool.Put(buf)
	for {
		n, rerr := body.Read(*buf)
		if n > 0 {
			in += int64(n)
			h.cdl.write(h.c, time.Now(), h.fe.px.Timeouts.Client)
			if _, err := enc.Write((*buf)[:n]); err != nil {
				return in, cw.n, err
			}
			if f, ok := enc.(interface{ Flush() error }); ok && n < len(*buf) {
				f.Flush() // what came so far goes on, as the server sends it
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return in, cw.n, rerr
		}
	}
	if !rs.Chunked && in != rs.ContentLength {
		return in, cw.n, io.ErrUnexpectedEOF
	}
	enc.Close()
	chunks.Close()
	io.WriteString(cw, "\r\n")
	h.sn = 0
	if rs.Chunked {
		in++ // haproxy counts a chunked body's end as a byte
	}
	return in, cw.n, nil
}

// finishCompressed relays a response compressed: its head rewritten
// (compHeaders), its body through relayCompressed; the server
// connection is not kept (what follows the body was not looked at).
func (h *hconn) finishCompressed(keepAlive bool) bool {
	algo := h.compAlgo
	h.hdrs = compHeaders(h.hdrs, algo)
	if h.writeResponseHead(keepAlive, nil) != nil {
		h.closeServer(false)
		return false
	}
	in, out, err := h.relayCompressed(algo)
	h.ob.srvOut += in
	countCompressed(h.fe, h.be, in, out)
	h.sdl.forget()
	h.closeServer(err == nil)
	return keepAlive && err == nil
}
