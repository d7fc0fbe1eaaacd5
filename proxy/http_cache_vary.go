package proxy

// This file holds the cache's variants (`process-vary on`): a response
// that varies on Accept-Encoding and Referer is kept once per variant,
// and a request is answered with a variant it fits.

import (
	"strings"

	"github.com/gohaka/gohaka/proxy/h1"
)

// the Vary headers haproxy 2.6's cache handles, as signature bits
const (
	varyAcceptEncoding = 1 << iota
	varyReferer
)

// the content codings haproxy knows, one bit each as in its secondary
// keys (show cache prints them); encOther is any other
const (
	encGzip = 1 << iota
	encDeflate
	encBr
	encCompress
	encAES128GCM
	encExi
	encPack200Gzip
	encZstd
	encIdentity
	encStar
	encOther
)

var encodings = map[string]uint32{"aes128gcm": encAES128GCM, "br": encBr, "compress": encCompress, "x-compress": encCompress,
	"deflate": encDeflate, "exi": encExi, "gzip": encGzip, "x-gzip": encGzip, "identity": encIdentity,
	"pack200-gzip": encPack200Gzip, "zstd": encZstd, "*": encStar}

// variant is what a kept response varies on: for Accept-Encoding its own
// coding (the request's accepted ones while it is being kept), for
// Referer the request's value.
type variant struct {
	sig     int
	enc     uint32 // the response's coding bits
	accept  uint32 // the request's accepted codings, while kept
	referer string
	hasRef  bool
}

// varyOf reads the response's Vary headers: false when the response may
// not be kept (a Vary with process-vary off, a header other than
// Accept-Encoding and Referer, an unknown coding, a request whose
// Accept-Encoding cannot be read).
func (c *httpCache) varyOf(t *cacheTxn, hdrs []h1.Header) (v variant, ok bool) {
	for _, hd := range hdrs {
		if !h1.EqualFold(hd.Name, "vary") {
			continue
		}
		if !c.vary {
			return v, false
		}
		for _, name := range strings.Split(string(hd.Value), ",") {
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "accept-encoding":
				v.sig |= varyAcceptEncoding
			case "referer":
				v.sig |= varyReferer
			default:
				return v, false
			}
		}
	}
	if v.sig != 0 && !t.varyOK {
		return v, false
	}
	if v.sig&varyAcceptEncoding != 0 {
		v.accept = t.req.accept
		for _, hd := range hdrs {
			if h1.EqualFold(hd.Name, "content-encoding") {
				for _, e := range strings.Split(string(hd.Value), ",") {
					bit, known := encodings[strings.ToLower(strings.TrimSpace(e))]
					if !known {
						return v, false
					}
					v.enc |= bit
				}
			}
		}
		if v.enc == 0 {
			v.enc = encIdentity
		}
	}
	if v.sig&varyReferer != 0 {
		v.referer, v.hasRef = t.req.referer, t.req.hasRef
	}
	return v, true
}

// acceptBits are the codings a request accepts: identity unless refused,
// those listed without q=0, all for * or no Accept-Encoding; false for
// 16 values or more, which haproxy does not trust.
func acceptBits(hdrs []h1.Header) (uint32, bool) {
	bits, refused, count := uint32(encIdentity), ^uint32(0), 0
	for _, hd := range hdrs {
		if !h1.EqualFold(hd.Name, "accept-encoding") {
			continue
		}
		for _, e := range strings.Split(string(hd.Value), ",") {
			if count == 16 {
				break
			}
			count++
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" {
				continue
			}
			name, weight, _ := strings.Cut(e, ";")
			bit, known := encodings[strings.TrimSpace(name)]
			if !known {
				bits |= encOther
				continue
			}
			if strings.TrimSpace(weight) == "q=0" {
				refused &^= bit
			} else {
				bits |= bit
			}
		}
	}
	if bits&encStar != 0 {
		bits = ^uint32(0)
	}
	bits &= refused
	if count == 0 {
		bits = ^uint32(0)
	}
	return bits, count < 16
}

// fits tells whether a request may be answered with this variant. As in
// haproxy 2.6, a response that varies on Referer but not on
// Accept-Encoding is kept but never fits: its stored key holds the
// response's coding where the request's holds nothing.
func (v *variant) fits(q *hreq) bool {
	if v.sig == varyReferer {
		return false
	}
	if v.sig&varyAcceptEncoding != 0 {
		accept, ok := acceptBits(q.hdrs)
		if !ok || v.enc&encOther != 0 || v.enc&accept != v.enc {
			return false
		}
	}
	if v.sig&varyReferer != 0 {
		ref, has := wholeHeader(q.hdrs, "referer")
		if has != v.hasRef || ref != v.referer {
			return false
		}
	}
	return true
}

// replacedBy tells whether a new response, kept for the request its
// variant was made from, replaces this variant.
func (v *variant) replacedBy(n *variant) bool {
	if v.sig == 0 {
		return true
	}
	if v.sig&varyAcceptEncoding != 0 && (v.enc&encOther != 0 || v.enc&n.accept != v.enc) {
		return false
	}
	return v.sig&varyReferer == 0 || v.hasRef == n.hasRef && v.referer == n.referer
}
