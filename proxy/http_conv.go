package proxy

// This file holds the sample converters of http mode: `fetch,conv(args),...`
// in ACLs, log formats, header values and dynamic backend names.

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
)

// convFn appends the converted value of in to out; false when the sample
// fails (a map without a match and no default, a field that is not
// there).
type convFn func(q *hreq, out, in []byte) ([]byte, bool)

// splitTop splits s at the commas outside parentheses and quotes.
func splitTop(s string) []string {
	var parts []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// convArgs reads a converter's arguments: name(a,b,"c,d").
func convArgs(s string) (name string, args []string) {
	i := strings.IndexByte(s, '(')
	if i < 0 || !strings.HasSuffix(s, ")") {
		return strings.TrimSpace(s), nil
	}
	for _, a := range splitTop(s[i+1 : len(s)-1]) {
		a = strings.TrimSpace(a)
		if len(a) >= 2 && (a[0] == '"' || a[0] == '\'') && a[len(a)-1] == a[0] {
			a = a[1 : len(a)-1]
		}
		args = append(args, a)
	}
	return strings.TrimSpace(s[:i]), args
}

// compileConv compiles one converter.
func compileConv(s string, pos parser.Pos) (convFn, error) {
	name, args := convArgs(s)
	bad := func(why string) error {
		return fmt.Errorf("%s: converter '%s': %s", pos, name, why)
	}
	switch name {
	case "lower", "upper":
		from, to := byte('A'), byte('a') // ASCII letters only, as haproxy
		if name == "upper" {
			from, to = 'a', 'A'
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			for _, c := range in {
				if c >= from && c <= from+25 {
					c = c - from + to
				}
				out = append(out, c)
			}
			return out, true
		}, nil
	case "base64":
		return func(_ *hreq, out, in []byte) ([]byte, bool) { return base64.StdEncoding.AppendEncode(out, in), true }, nil
	case "hex":
		return func(_ *hreq, out, in []byte) ([]byte, bool) { return hexUpper(out, in), true }, nil
	case "length":
		return func(_ *hreq, out, in []byte) ([]byte, bool) { return strconv.AppendInt(out, int64(len(in)), 10), true }, nil
	case "ipmask":
		return ipmaskConv(args, bad)
	case "digest", "sha1", "sha2": // binary digests (md5, sha1, sha224/256/384/512)
		algo := "sha1"
		switch {
		case name == "digest" && len(args) == 1:
			algo = strings.ToLower(args[0])
		case name == "sha2":
			algo = "sha256"
			if len(args) == 1 {
				algo = "sha" + args[0]
			}
		}
		h, ok := digests[algo]
		if !ok {
			return nil, bad("unknown digest '" + algo + "'")
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			d := h()
			d.Write(in)
			return d.Sum(out), true
		}, nil
	case "bytes": // bytes(offset[,length])
		if len(args) < 1 || len(args) > 2 {
			return nil, bad("expects an offset and an optional length")
		}
		off, err1 := strconv.Atoi(args[0])
		n, err2 := -1, error(nil)
		if len(args) == 2 {
			n, err2 = strconv.Atoi(args[1])
		}
		if err1 != nil || err2 != nil || off < 0 || len(args) == 2 && n < 0 {
			return nil, bad("expects non-negative integers")
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			if off >= len(in) {
				return out, false
			}
			in = in[off:]
			if n >= 0 && n < len(in) {
				in = in[:n]
			}
			return append(out, in...), true
		}, nil
	case "b64dec":
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			o, err := base64.StdEncoding.AppendDecode(out, in)
			return o, err == nil
		}, nil
	case "be2dec", "be2hex":
		return beConv(name, args, bad)
	case "xxh32", "xxh64", "xxh3": // http_xxh.go
		return xxhConv(name, args, bad)
	case "concat", "add_item":
		return joinConv(name, args, bad)
	case "jwt_header_query", "jwt_payload_query": // http_jwt.go
		return jwtQueryConv(name, args, bad)
	case "jwt_verify":
		return jwtVerifyConv(args, bad)
	case "set-var": // sets the variable to the sample, which goes on unchanged
		if len(args) == 0 {
			return nil, bad("needs a variable name")
		}
		v, conds, err := splitVarConds(strings.Join(args, ","))
		if err != nil {
			return nil, bad(err.Error())
		}
		return func(q *hreq, out, in []byte) ([]byte, bool) {
			// a copy: the arena may be the value being made; a condition
			// that does not hold fails the sample, as in haproxy
			if q != nil && !q.setVarIf(v, conds, append([]byte(nil), in...)) {
				return out, false
			}
			return append(out, in...), true
		}, nil
	case "crc32", "crc32c", "djb2", "sdbm", "wt6":
		h := balance.HashFuncByName(name)
		if name == "crc32c" { // Castagnoli's polynomial, no balance hash
			tab := crc32.MakeTable(crc32.Castagnoli)
			h = func(b []byte) uint32 { return crc32.Checksum(b, tab) }
		}
		aval := len(args) > 0 && args[0] != "" && args[0] != "0"
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			v := h(in)
			if aval {
				v = balance.Avalanche(v)
			}
			return strconv.AppendUint(out, uint64(v), 10), true
		}, nil
	case "add", "sub", "mul", "div", "mod":
		if len(args) != 1 {
			return nil, bad("expects one integer")
		}
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return nil, bad("expects an integer")
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			v := leadingInt(in)
			switch name {
			case "add":
				v += n
			case "sub":
				v -= n
			case "mul":
				v *= n
			case "div": // haproxy: a division by zero gives the largest integer
				if n == 0 {
					v = math.MaxInt64
				} else {
					v /= n
				}
			case "mod": // and a modulo by zero 0
				if n == 0 {
					v = 0
				} else {
					v %= n
				}
			}
			return strconv.AppendInt(out, v, 10), true
		}, nil
	case "http_date": // a unix time as an HTTP date, plus an offset
		off := int64(0)
		if len(args) > 0 {
			off, _ = strconv.ParseInt(args[0], 10, 64)
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			v, err := strconv.ParseInt(strings.TrimSpace(string(in)), 10, 64)
			if err != nil {
				return out, false
			}
			return time.Unix(v+off, 0).UTC().AppendFormat(out, "Mon, 02 Jan 2006 15:04:05 GMT"), true
		}, nil
	case "field", "word":
		if len(args) < 2 || len(args) > 3 {
			return nil, bad("expects an index, delimiters and an optional count")
		}
		idx, err := strconv.Atoi(args[0])
		if err != nil || idx == 0 {
			return nil, bad("the index must be a non-zero integer")
		}
		count := 1
		if len(args) == 3 {
			if count, err = strconv.Atoi(args[2]); err != nil || count < 0 {
				return nil, bad("the count must be a positive integer or 0")
			}
		}
		delims, words := args[1], name == "word"
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			return appendFields(out, in, idx, count, delims, words)
		}, nil
	case "regsub":
		if len(args) < 2 || len(args) > 3 {
			return nil, bad("expects a regex, a replacement and optional flags")
		}
		expr, global := args[0], false
		if len(args) == 3 {
			if strings.Contains(args[2], "i") {
				expr = "(?i)" + expr
			}
			global = strings.Contains(args[2], "g")
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, bad(err.Error())
		}
		repl := []byte(backrefs.ReplaceAllString(args[1], "$${$1}"))
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			if global {
				return append(out, re.ReplaceAll(in, repl)...), true
			}
			out, _ = replaceFirst(out, re, in, repl)
			return out, true
		}, nil
	case "map", "map_str", "map_beg", "map_end", "map_sub", "map_reg", "map_dir", "map_dom":
		if len(args) < 1 || len(args) > 2 {
			return nil, bad("expects a file and an optional default value")
		}
		m, err := loadMap(args[0], strings.TrimPrefix(strings.TrimPrefix(name, "map"), "_"))
		if err != nil {
			return nil, bad(err.Error())
		}
		def, hasDef := "", len(args) == 2
		if hasDef {
			def = args[1]
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			if v, ok := m.lookup(in); ok {
				return append(out, v...), true
			}
			return append(out, def...), hasDef
		}, nil
	}
	return nil, fmt.Errorf("%s: converter '%s' is not available in gohaka's http runtime yet (lower, upper, base64, hex, length, add, sub, mul, div, mod, http_date, field, word, regsub, map, map_str, map_beg, map_end, map_sub, map_reg, map_dir, map_dom, ipmask, b64dec, bytes, digest, sha1, sha2, crc32, crc32c, djb2, sdbm, wt6, xxh32, xxh64, xxh3, be2dec, be2hex, concat, add_item, set-var, jwt_header_query, jwt_payload_query, jwt_verify, in_table and table_* are)", pos, name)
}

// appendFields is haproxy's field (empty fields count) and word (runs of
// delimiters are one, empty words do not count): fields idx (1-based, or
// from the end when negative) to idx+count-1, all the rest for count 0.
func appendFields(out, in []byte, idx, count int, delims string, words bool) ([]byte, bool) {
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	type span struct{ a, b int }
	var fs []span
	start := 0
	for i := 0; i <= len(in); i++ {
		if i == len(in) || isDelim(in[i]) {
			if !words || i > start {
				fs = append(fs, span{start, i})
			}
			start = i + 1
		}
	}
	// count 0, or more fields than there are, runs to the input's end
	// (its start, counting from the end), delimiters included
	if idx > 0 {
		first := idx - 1
		if first >= len(fs) {
			return out, false
		}
		end := len(in)
		if last := first + count - 1; count > 0 && last < len(fs) {
			end = fs[last].b
		}
		return append(out, in[fs[first].a:end]...), true
	}
	last := len(fs) + idx
	if last < 0 {
		return out, false
	}
	from := 0
	if first := last - count + 1; count > 0 && first >= 0 {
		from = fs[first].a
	}
	return append(out, in[from:fs[last].b]...), true
}

// valueMap is a map file: "key value" per line, # comments, blank
// lines skipped; looked up in the file's order.
type valueMap struct {
	method string // "", "str", "beg", "end", "sub", "reg", "dir", "dom"
	keys   [][]byte
	vals   [][]byte
	exact  map[string]int
	res    []*regexp.Regexp
}

func loadMap(path, method string) (*valueMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := &valueMap{method: method, exact: map[string]int{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			k, v = line[:i], strings.TrimSpace(line[i:])
		}
		if method == "reg" {
			re, err := regexp.Compile(k)
			if err != nil {
				return nil, fmt.Errorf("bad regex '%s': %v", k, err)
			}
			m.res = append(m.res, re)
		}
		if _, dup := m.exact[k]; !dup {
			m.exact[k] = len(m.keys)
		}
		m.keys = append(m.keys, []byte(k))
		m.vals = append(m.vals, []byte(v))
	}
	return m, sc.Err()
}

func (m *valueMap) lookup(in []byte) ([]byte, bool) {
	switch m.method {
	case "", "str":
		if i, ok := m.exact[string(in)]; ok {
			return m.vals[i], true
		}
		return nil, false
	case "reg":
		for i, re := range m.res {
			if re.Match(in) {
				return m.vals[i], true
			}
		}
		return nil, false
	}
	for i, k := range m.keys {
		var hit bool
		switch m.method {
		case "beg":
			hit = bytes.HasPrefix(in, k)
		case "end":
			hit = bytes.HasSuffix(in, k)
		case "sub":
			hit = bytes.Contains(in, k)
		default: // dir, dom
			hit = matchStr(m.method, in, k, false)
		}
		if hit {
			return m.vals[i], true
		}
	}
	return nil, false
}

// withConvs applies converters to every value of a fetch; the converted
// values live in q.conv while f looks at them.
func withConvs(fetch fetchFn, convs []convFn) fetchFn {
	return func(q *hreq, f func([]byte) bool) {
		fetch(q, func(v []byte) bool {
			base := len(q.conv)
			cur := v
			for _, c := range convs {
				at := len(q.conv)
				var ok bool
				if q.conv, ok = c(q, q.conv, cur); !ok {
					q.conv = q.conv[:base]
					return true // no value: the next one, if any
				}
				cur = q.conv[at:]
			}
			more := f(cur)
			q.conv = q.conv[:base]
			return more
		})
	}
}

// replaceFirst appends in with its first match of re replaced by the
// expansion of repl (\N already turned into ${N}); false when nothing
// matched (in is appended as it is).
func replaceFirst(out []byte, re *regexp.Regexp, in, repl []byte) ([]byte, bool) {
	loc := re.FindSubmatchIndex(in)
	if loc == nil {
		return append(out, in...), false
	}
	out = append(out, in[:loc[0]]...)
	out = re.Expand(out, repl, in, loc)
	return append(out, in[loc[1]:]...), true
}

// leadingInt reads a string as haproxy casts it to an integer: an
// optional sign and the digits that follow, 0 when there are none.
func leadingInt(b []byte) int64 {
	b = bytes.TrimSpace(b)
	neg := len(b) > 0 && b[0] == '-'
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		return -v
	}
	return v
}

// appendUUID appends a random version 4 UUID.
func appendUUID(b []byte) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexd[c>>4], hexd[c&15])
	}
	return b
}

// ipmaskConv is ipmask(mask4[,mask6]): the address with the bits its
// mask clears cleared; a mask is a prefix length or an address (IPv4: a
// netmask; IPv6: any bits, as haproxy takes them); an IPv6 address
// without mask6 has no value.
func ipmaskConv(args []string, bad func(string) error) (convFn, error) {
	var masks [2][]byte
	for i, a := range args[:min(len(args), 2)] {
		size := 4 + 12*i
		if n, err := strconv.Atoi(a); err == nil && n >= 0 && n <= size*8 {
			masks[i] = make([]byte, 0, size)
			for k := 0; k < size; k++ {
				ones := min(max(n-8*k, 0), 8)
				masks[i] = append(masks[i], byte(uint16(0xff00)>>ones))
			}
			continue
		}
		m, err := netip.ParseAddr(a)
		if err != nil || m.Is4() != (i == 0) {
			return nil, bad("bad mask '" + a + "'")
		}
		if i == 0 && !isNetmask(m.AsSlice()) {
			return nil, bad("bad mask '" + a + "'")
		}
		masks[i] = m.AsSlice()
	}
	if masks[0] == nil {
		return nil, bad("expects a mask")
	}
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		a, err := netip.ParseAddr(string(in))
		if err != nil {
			return out, false
		}
		a = a.Unmap()
		m := masks[0]
		if a.Is6() {
			if m = masks[1]; m == nil {
				return out, false
			}
		}
		b := a.AsSlice()
		for k := range b {
			b[k] &= m[k]
		}
		r, _ := netip.AddrFromSlice(b)
		return append(out, r.String()...), true
	}, nil
}

// convOutType is the sample type a converter gives, which an ACL on it
// matches by (haproxy's default match for that type): int, ip, bool or
// str.
func convOutType(c string) string {
	name, _ := convArgs(c)
	switch {
	case name == "in_table":
		return "bool"
	case name == "ipmask":
		return "ip"
	case strings.HasPrefix(name, "table_"):
		return "int"
	}
	switch name {
	case "length", "add", "sub", "mul", "div", "mod", "crc32", "crc32c", "djb2", "sdbm", "wt6", "jwt_verify", "xxh32", "xxh64", "xxh3":
		return "int"
	}
	return "str"
}

// beConv is be2dec(<separator>,<chunk_size>[,<truncate>]) and
// be2hex([<separator>][,<chunk_size>][,<truncate>]): the input bytes
// read big-endian in chunks (a short last chunk dropped with truncate),
// each chunk as a decimal number or as upper-case hex, separated.
func beConv(name string, args []string, bad func(string) error) (convFn, error) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	sep := arg(0)
	size, trunc := 0, arg(2) != "" && arg(2) != "0"
	if s := arg(1); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || name == "be2dec" && n > 8 {
			return nil, bad("chunk size")
		}
		size = n
	} else if name == "be2dec" {
		return nil, bad("needs a chunk size")
	}
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		if name == "be2hex" && size == 0 {
			return hexUpper(out, in), true
		}
		for i := 0; i < len(in); i += size {
			chunk := in[i:min(i+size, len(in))]
			if len(chunk) < size && trunc {
				break
			}
			if i > 0 {
				out = append(out, sep...)
			}
			if name == "be2hex" {
				out = hexUpper(out, chunk)
				continue
			}
			var v uint64
			for _, c := range chunk {
				v = v<<8 | uint64(c)
			}
			out = strconv.AppendUint(out, v, 10)
		}
		return out, true
	}, nil
}

// joinConv is concat([start][,var][,end]) and add_item(delim[,var][,suffix]):
// the sample, then constants and a variable's value; add_item puts delim
// only between a non-empty sample and a non-empty rest.
func joinConv(name string, args []string, bad func(string) error) (convFn, error) {
	if len(args) > 3 || name == "add_item" && len(args) < 2 {
		return nil, bad("wrong number of arguments")
	}
	a := [3]string{}
	copy(a[:], args)
	return func(q *hreq, out, in []byte) ([]byte, bool) {
		var v []byte
		if a[1] != "" && q != nil {
			v, _ = q.getVar(a[1])
		}
		out = append(out, in...)
		if name == "concat" {
			return append(append(append(out, a[0]...), v...), a[2]...), true
		}
		if len(in) > 0 && (len(v) > 0 || a[2] != "") {
			out = append(out, a[0]...)
		}
		return append(append(out, v...), a[2]...), true
	}, nil
}

// hexUpper appends in as upper-case hex digits.
func hexUpper(out, in []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range in {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// isNetmask tells whether the bits of b are ones then zeros
// (255.255.255.0), as an IPv4 mask must be.
func isNetmask(b []byte) bool {
	zeros := false
	for _, c := range b {
		for k := 7; k >= 0; k-- {
			one := c>>k&1 == 1
			if one && zeros {
				return false
			}
			zeros = zeros || !one
		}
	}
	return true
}

// digests are the hash functions of the digest, sha1 and sha2 converters.
var digests = map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224,
	"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}
