package proxy

// This file is the runtime API's `show cache`.

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/gohaka/gohaka/balance"
)

// showCache lists each cache section and its fresh entries in haproxy's
// form: the entries by the first four bytes of their key, one per key,
// with their secondary key (what a variant varies on), size, blocks,
// references and seconds left. Addresses are gohaka's objects, sizes
// gohaka's bytes.
func (r *Runtime) showCache() string {
	var b strings.Builder
	for _, s := range r.cfg.Others {
		if s.Kind != "cache" {
			continue
		}
		c := r.caches[s.Name]
		if c == nil { // named by no rule: empty
			var lines [][]string
			for _, l := range s.Lines {
				lines = append(lines, l.Words)
			}
			if c, _ = newHTTPCache(s.Name, lines); c == nil {
				continue
			}
		}
		c.mu.Lock()
		fmt.Fprintf(&b, "%p: %s (shctx:%p, available blocks:%d)\n", c, c.name, &c.lru, (c.maxSize-c.used)/1024)
		now := c.now().Unix()
		type row struct {
			hash uint32
			e    *cacheEntry
		}
		var rows []row
		for key, els := range c.entries {
			if e := els[0].Value.(*cacheEntry); e.expire > now {
				rows = append(rows, row{binary.LittleEndian.Uint32(key[:4]), e})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].hash < rows[j].hash })
		for _, rw := range rows {
			e := rw.e
			fmt.Fprintf(&b, "%p hash:%d vary:0x%s size:%d (%d blocks), refcount:0, expire:%d\n",
				e, rw.hash, e.v.secondaryKey(), len(e.head)+len(e.body), e.size/1024, e.expire-now)
		}
		c.mu.Unlock()
	}
	return b.String()
}

// secondaryKey is haproxy's secondary key of a variant in hex: the
// response's coding bits and the referer's hash, little-endian; zeros
// for a response that varies on nothing.
func (v *variant) secondaryKey() string {
	var k [8]byte
	if v.sig != 0 {
		binary.LittleEndian.PutUint32(k[:4], v.enc) // haproxy writes it for any Vary
		if v.sig&varyReferer != 0 && v.hasRef {
			binary.LittleEndian.PutUint32(k[4:], balance.HashFuncByName("crc32")([]byte(v.referer)))
		}
	}
	return fmt.Sprintf("%x", k)
}
