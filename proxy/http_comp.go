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

// relayCompressed sends the body of the response whose head is in sbuf,
// decoded from its framing (length or chunks, read no further than its
// end), compressed with algo and chunked to the client; it returns the
// body's bytes in (as haproxy counts them) and out. What the server sent
// after the body stays in sbuf, as after a relayed body.
func (h *hconn) relayCompressed(algo string) (in, out int64, err error) {
	rs := &h.resp
	cw := &countingWriter{w: h.c}
	chunks := httputil.NewChunkedWriter(cw)
	enc := compWriter(algo, chunks)
	buf, start, n := h.sbuf, rs.HeadLen, h.sn
	left := rs.ContentLength
	if rs.Chunked {
		h.ck.Reset()
	}
	full := false // the last read filled the buffer: more is on its way
	for {
		var data []byte
		var k int
		done := false
		if rs.Chunked {
			data = buf[start:start] // decoded in place
			if k, err = h.ck.Decode(buf[start:n], &data); err != nil {
				return in, cw.n, err
			}
			done = h.ck.Done()
		} else {
			k = int(min(int64(n-start), left))
			data = buf[start : start+k]
			left -= int64(k)
			done = left == 0
		}
		start += k
		if len(data) > 0 {
			in += int64(len(data))
			h.cdl.write(h.c, time.Now(), h.fe.px.Timeouts.Client)
			if _, err := enc.Write(data); err != nil {
				return in, cw.n, err
			}
			if f, ok := enc.(interface{ Flush() error }); ok && !done && !full {
				f.Flush() // what came so far goes on, as the server sends it
			}
		}
		if done {
			break
		}
		h.sc.SetReadDeadline(deadline(h.serverTimeout()))
		r, rerr := h.sc.Read(buf)
		if r == 0 {
			if rerr == nil || rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return in, cw.n, rerr
		}
		start, n, full = 0, r, r == len(buf)
	}
	enc.Close()
	chunks.Close()
	io.WriteString(cw, "\r\n")
	h.sn = copy(h.sbuf, buf[start:n])
	if rs.Chunked {
		in++ // haproxy counts a chunked body's end as a byte
	}
	return in, cw.n, nil
}

// finishCompressed relays a response compressed: its head rewritten
// (compHeaders), its body through relayCompressed. The server connection
// is kept for the next request as after any response, unless srvClose.
func (h *hconn) finishCompressed(keepAlive, srvClose bool) bool {
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
	switch {
	case err != nil:
		h.closeServer(false)
	case srvClose:
		h.closeServer(true)
	default:
		h.srvIdle = true
	}
	return keepAlive && err == nil
}
