package proxy

// This file holds relaying server responses (http mode).

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// relayInterim reads the server's first answer to an Expect: 100-continue
// request; final is true when it is already the final response.
func (h *hconn) relayInterim() (final, ok bool) {
	if err := h.readResponseHead(); err != nil {
		h.sendServerError(err)
		return false, false
	}
	if h.resp.Status == 100 {
		h.countServerHead()
		h.hdrs = append(h.hdrs[:0], h.resp.Headers...)
		h.writeResponseHead(true, nil)
		h.sconsume(h.resp.HeadLen)
		return false, true
	}
	return true, true
}

// countServerHead books the response head just read as haproxy counts
// what the server sent, before any rewrite.
func (h *hconn) countServerHead() {
	h.ob.srvOut += int64(h.resp.HeadLen) + headAdjust(h.sbuf[:h.resp.HeadLen])
}

func (h *hconn) sconsume(k int) {
	copy(h.sbuf, h.sbuf[k:h.sn])
	h.sn -= k
}

// readResponseHead reads one response head from the server.
func (h *hconn) readResponseHead() error {
	h.sdl.read(h.sc, h.since(h.ob.sent), h.serverTimeout())
	for {
		if h.sn > 0 {
			err := h1.ParseResponse(h.sbuf[:h.sn], &h.resp, h.fe.http.limit)
			if err == nil {
				return nil
			}
			if err != h1.ErrIncomplete || h.sn == len(h.sbuf) {
				return h1.ErrBad
			}
		}
		var m int
		var err error
		if h.sn == 0 && h.plainServer() && h.sp.ctx != 0 {
			m, err = h.waitResponse()
		} else {
			h.getSbuf()
			m, err = h.sc.Read(h.sbuf[h.sn:])
		}
		h.sn += m
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			if h.sn == 0 {
				return errServerClosed
			}
			return h1.ErrBad
		}
	}
}

// waitResponse reads the first bytes of a response once the server's
// socket is readable (waitThen): the request was just sent, so a read
// before waiting would nearly always find nothing.
func (h *hconn) waitResponse() (int, error) {
	if h.srvReadFn == nil {
		h.srvReadFn = func(fd uintptr) bool {
			h.getSbuf()
			h.srvM, h.srvErr = rawRecv(int(fd), h.sbuf[h.sn:])
			if h.srvErr == syscall.EAGAIN {
				emptyReads.Add(1)
				return false
			}
			return true
		}
	}
	if err := h.sp.waitThen(h.srvReadFn); err != nil {
		return 0, err
	}
	if h.srvErr == nil && h.srvM == 0 {
		return 0, io.EOF
	}
	return h.srvM, h.srvErr
}

// errServerClosed: the server closed or reset the connection before
// sending a byte of its response.
var errServerClosed = errors.New("server closed the connection before responding")

// serverFailed answers a request whose response did not come or was
// invalid (502/504) and closes the server connection; the client's stays
// open for its next request, as in haproxy, unless keepAlive is false.
func (h *hconn) serverFailed(err error, keepAlive bool) bool {
	if h.reqs > 0 && err == errServerClosed {
		// not the connection's first request: a client that kept it
		// alive retries, so haproxy closes without an answer, unlogged
		h.q.silent = true
		if be := h.ob.be; be != nil {
			be.ctr.http.reqTot.Add(-1) // nor counted as the backend's
		}
		h.srvIdle = false
		h.dropServer()
		return false
	}
	h.sendServerError(err)
	h.srvIdle = false
	h.dropServer()
	h.sn = 0
	return keepAlive && h.req.KeepAlive()
}

func (h *hconn) sendServerError(err error) {
	code := 502
	if errors.Is(err, os.ErrDeadlineExceeded) {
		code = 504
	}
	h.obsServerError(code) // http_obs.go
	h.ob.srvAborted = err == errServerClosed
	resp := h.afterReply(h.errorFor(code, h.be).bytes(&h.q))
	if !h.req.KeepAlive() { // the client asked for the end: haproxy says so
		resp = addConnClose(resp)
	}
	h.c.Write(resp)
}

// writeResponseHead sends the response head to the client, rules applied.
// writeResponseHead sends the response head, with body (a whole small
// body already read) in the same write.
func (h *hconn) writeResponseHead(keepAlive bool, body []byte) error {
	rs := &h.resp
	b := h.outBuf()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(rs.Status), 10)
	b = append(b, ' ')
	b = append(b, rs.Reason...)
	b = append(b, "\r\n"...)
	for _, hd := range h.hdrs {
		if h1.EqualFold(hd.Name, "connection") && rs.Status != 101 {
			continue
		}
		b = appendLower(b, hd.Name)
		b = append(b, ": "...)
		b = append(b, hd.Value...)
		b = append(b, "\r\n"...)
	}
	if rs.Status >= 200 {
		if !keepAlive {
			b = append(b, "connection: close\r\n"...)
		} else if h.req.Minor == 0 {
			b = append(b, "connection: keep-alive\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	h.cdl.write(h.c, clockNow(), h.fe.px.Timeouts.Client)
	yieldBeforeWrite()
	_, err := h.c.Write(b)
	h.putOut()
	return err
}

// finishResponse reads (unless already read) and relays the final
// response; false ends the connection.
func (h *hconn) finishResponse(keepAlive, srvClose, read bool) bool {
	for {
		if read {
			if err := h.readResponseHead(); err != nil {
				return h.serverFailed(err, keepAlive)
			}
		}
		read = true
		rs := &h.resp
		h.hdrs = append(h.hdrs[:0], rs.Headers...)
		if rs.Status >= 200 || rs.Status == 101 {
			h.ob.srvStatus = rs.Status
			if reply := h.responseRules(); reply != nil { // deny, return, redirect
				return h.replaceResponse(reply, keepAlive)
			}
			if h.be.px.Cookie != nil && rs.Status >= 200 {
				h.cookieResponse(h.be)
			}
		}
		h.countServerHead()
		if rs.Status == 101 {
			if h.writeResponseHead(true, nil) != nil {
				return false
			}
			h.sconsume(rs.HeadLen)
			h.tunnel()
			return false
		}
		if rs.Status < 200 {
			if h.writeResponseHead(true, nil) != nil {
				return false
			}
			h.sconsume(rs.HeadLen)
			continue
		}
		noBody := h.head || rs.Status == 204 || rs.Status == 304
		untilClose := !noBody && !rs.Chunked && rs.ContentLength < 0
		if untilClose || !rs.KeepAlive() {
			srvClose = true
			if untilClose {
				keepAlive = false
			}
		}
		compress := h.compAlgo != "" && !noBody && !untilClose && compFor(h.fe, h.be).compressible(rs, h.hdrs)
		if h.cache.store != nil && (compress || noBody || untilClose) {
			h.cache.store = nil // kept only as it came, with a length
		}
		if compress {
			return h.finishCompressed(keepAlive, srvClose)
		}
		// a small body that came with the head goes out in the same write
		var inline []byte
		if !noBody && !rs.Chunked && rs.ContentLength >= 0 && rs.ContentLength <= 16384 && int64(h.sn-rs.HeadLen) >= rs.ContentLength {
			inline = h.sbuf[rs.HeadLen : rs.HeadLen+int(rs.ContentLength)]
		}
		if h.writeResponseHead(keepAlive, inline) != nil {
			return false
		}
		if noBody {
			h.sconsume(rs.HeadLen)
		} else if inline != nil {
			h.ob.srvOut += int64(len(inline))
			h.sconsume(rs.HeadLen + len(inline))
			if h.cache.store != nil {
				h.cache.add(inline)
				h.cache.commit(int64(len(inline)))
			}
		} else {
			var cnt bodyCount
			var dst net.Conn = h.c
			if h.cache.store != nil {
				dst = cacheTee{h.c, &h.cache}
			}
			end, n, err := forwardBody(dst, h.sc, h.sbuf, rs.HeadLen, h.sn, rs, &h.ck, h.serverTimeout(), &cnt)
			h.ob.srvOut += cnt.msg
			h.sdl.forget()
			if err != nil && !(untilClose && err == io.EOF) {
				h.cache.store = nil
				return false
			}
			h.cache.commit(cnt.msg)
			h.sn = n
			h.sconsume(end)
		}
		if srvClose {
			h.closeServer(true) // the response has ended: nothing is lost
		} else {
			h.srvIdle = true
		}
		return keepAlive
	}
}

// forwardBody copies a message body whose first bytes are buf[start:n]
// from src to dst, following m's framing. It returns where the body ended
// in buf and how much of buf is in use then (bytes of the next message);
// cnt grows by the body's bytes as haproxy counts them and, for chunks,
// by the bytes they took on the wire.
func forwardBody(dst, src net.Conn, buf []byte, start, n int, m *h1.Msg, ck *h1.Chunks, to time.Duration, cnt *bodyCount) (int, int, error) {
	switch {
	case m.Chunked:
		// as haproxy: the chunks are decoded and sent again, one chunk per
		// read, sizes in upper-case hex, trailer names in lower case
		ck.Reset()
		var size [20]byte
		for {
			out := buf[start:start]
			k, err := ck.Decode(buf[start:n], &out)
			if err != nil {
				return 0, 0, err
			}
			cnt.wire += int64(k)
			cnt.msg += int64(len(out))
			if len(out) > 0 {
				sz := append(appendHexUpper(size[:0], uint64(len(out))), '\r', '\n')
				bufs := net.Buffers{sz, out, crlf}
				if _, err := bufs.WriteTo(dst); err != nil {
					return 0, 0, err
				}
			}
			if ck.Done() {
				cnt.msg += 1 + trailerCount(ck.Trailer) // haproxy counts the end and the trailers' names and values
				if _, err := dst.Write(lastChunk(ck.Trailer)); err != nil {
					return 0, 0, err
				}
				return start + k, n, nil
			}
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf)
			if r == 0 && err != nil {
				return 0, 0, err
			}
			start, n = 0, r
		}
	case m.ContentLength >= 0:
		left := m.ContentLength
		for {
			k := min(int64(n-start), left)
			if _, err := dst.Write(buf[start : start+int(k)]); err != nil {
				return 0, 0, err
			}
			cnt.msg += k
			left -= k
			if left == 0 {
				return start + int(k), n, nil
			}
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf[:min(int64(len(buf)), left)])
			if r == 0 && err != nil {
				return 0, 0, err
			}
			start, n = 0, r
		}
	default: // until the server closes
		if _, err := dst.Write(buf[start:n]); err != nil {
			return 0, 0, err
		}
		cnt.msg += int64(n - start)
		for {
			src.SetReadDeadline(deadline(to))
			r, err := src.Read(buf)
			if r > 0 {
				if _, werr := dst.Write(buf[:r]); werr != nil {
					return 0, 0, werr
				}
				cnt.msg += int64(r)
			}
			if err != nil {
				return 0, 0, io.EOF
			}
		}
	}
}

// bodyCount is what forwardBody moved: msg as haproxy counts a body (the
// data; for chunks also the trailers' names and values and one for the
// end), wire the chunked body's bytes as they came.
type bodyCount struct{ msg, wire int64 }

var crlf = []byte("\r\n")

func appendHexUpper(b []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// trailerCount is what haproxy counts of trailer lines: names and
// values without separators.
func trailerCount(trailer []byte) int64 {
	var n int64
	for _, l := range bytes.Split(bytes.TrimSuffix(trailer, []byte("\n")), []byte("\n")) {
		if name, val, ok := bytes.Cut(l, []byte(":")); ok {
			n += int64(len(bytes.TrimSpace(name)) + len(bytes.TrimSpace(val)))
		}
	}
	return n
}

// lastChunk is the final chunk with the trailers, names in lower case.
func lastChunk(trailer []byte) []byte {
	if len(trailer) == 0 {
		return []byte("0\r\n\r\n")
	}
	out := []byte("0\r\n")
	for _, l := range bytes.Split(bytes.TrimSuffix(trailer, []byte("\n")), []byte("\n")) {
		name, val, _ := bytes.Cut(l, []byte(":"))
		out = appendLower(out, name)
		out = append(append(append(out, ": "...), bytes.TrimSpace(val)...), "\r\n"...)
	}
	return append(out, "\r\n"...)
}
