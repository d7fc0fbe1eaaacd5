package proxy

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strconv"
	"strings"
)

// crypt(3) as userlist `password` lines use it: MD5-crypt ($1$),
// SHA-256-crypt ($5$) and SHA-512-crypt ($6$), written from the published
// descriptions of the algorithms (Poul-Henning Kamp's MD5 scheme and
// Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512").

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptMatch tells whether pass hashes to the stored crypt string.
func cryptMatch(stored, pass string) bool {
	got, ok := unixCrypt(pass, stored)
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
}

// unixCrypt hashes pass with the method, salt and rounds of setting (a
// whole stored hash or just its "$id$[rounds=N$]salt" part).
func unixCrypt(pass, setting string) (string, bool) {
	switch {
	case strings.HasPrefix(setting, "$1$"):
		return md5Crypt(pass, cryptSalt(setting[3:], 8)), true
	case strings.HasPrefix(setting, "$5$"):
		return shaCrypt(pass, setting[3:], "$5$", sha256.New, sha256Order)
	case strings.HasPrefix(setting, "$6$"):
		return shaCrypt(pass, setting[3:], "$6$", sha512.New, sha512Order)
	}
	return "", false
}

// cryptSalt is the salt: up to max characters, ending at '$'.
func cryptSalt(s string, max int) string {
	if i := strings.IndexByte(s, '$'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// b64From24 appends n characters encoding the 24-bit group b2 b1 b0.
func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		out = append(out, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return out
}

func md5Crypt(pass, salt string) string {
	p, s := []byte(pass), []byte(salt)
	alt := md5.New()
	alt.Write(p)
	alt.Write(s)
	alt.Write(p)
	altSum := alt.Sum(nil)
	ctx := md5.New()
	ctx.Write(p)
	ctx.Write([]byte("$1$"))
	ctx.Write(s)
	for n := len(p); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(p[:1])
		}
	}
	final := ctx.Sum(nil)
	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 != 0 {
			c.Write(p)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(s)
		}
		if i%7 != 0 {
			c.Write(p)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(p)
		}
		final = c.Sum(final[:0])
	}
	out := []byte("$1$" + salt + "$")
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = b64From24(out, final[g[0]], final[g[1]], final[g[2]], 4)
	}
	out = b64From24(out, 0, 0, final[11], 2)
	return string(out)
}

// The byte order in which SHA-crypt encodes its final digest: groups of
// three bytes, then the tail (one byte for SHA-512, two for SHA-256).
var (
	sha512Order = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
		{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26},
		{27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
)

// repeatTo fills n bytes with copies of d.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(d) <= n {
		out = append(out, d...)
	}
	return append(out, d[:n-len(out)]...)
}

// shaCrypt is SHA-crypt; rounds out of 1000..999999999 are refused, as
// the libxcrypt that Debian's haproxy uses refuses them.
func shaCrypt(pass, setting, prefix string, newHash func() hash.Hash, order [][3]int) (string, bool) {
	rounds, custom := 5000, false
	if r, ok := strings.CutPrefix(setting, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i <= 0 {
			return "", false
		}
		n, err := strconv.ParseUint(r[:i], 10, 64)
		if err != nil || n < 1000 || n > 999999999 {
			return "", false
		}
		rounds, custom = int(n), true
		setting = r[i+1:]
	}
	salt := cryptSalt(setting, 16)
	p, s := []byte(pass), []byte(salt)
	b := newHash()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	bSum := b.Sum(nil)
	size := len(bSum)
	a := newHash()
	a.Write(p)
	a.Write(s)
	n := len(p)
	for ; n > size; n -= size {
		a.Write(bSum)
	}
	a.Write(bSum[:n])
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(p)
		}
	}
	aSum := a.Sum(nil)
	dp := newHash()
	for range len(p) {
		dp.Write(p)
	}
	pSeq := repeatTo(dp.Sum(nil), len(p))
	ds := newHash()
	for range 16 + int(aSum[0]) {
		ds.Write(s)
	}
	sSeq := repeatTo(ds.Sum(nil), len(s))
	c := aSum
	h := newHash()
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(pSeq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(c[:0])
	}
	out := []byte(prefix)
	if custom {
		out = append(strconv.AppendInt(append(out, "rounds="...), int64(rounds), 10), '$')
	}
	out = append(append(out, salt...), '$')
	for _, g := range order {
		out = b64From24(out, c[g[0]], c[g[1]], c[g[2]], 4)
	}
	if size == 64 {
		out = b64From24(out, 0, 0, c[63], 2)
	} else {
		out = b64From24(out, 0, c[31], c[30], 3)
	}
	return string(out), true
}
