package proxy

// This file holds haproxy's small-object cache (`cache` sections,
// `http-request cache-use` and `http-response cache-store`): which
// requests may be answered from it, which responses it keeps, how long,
// and the conditional answers (304) it gives.

import (
	"bytes"
	"container/list"
	"crypto/sha1"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// httpCache is one `cache` section: entries by key (sha1 of the request's
// absolute URI), the least recently stored first out when full.
type httpCache struct {
	name    string
	maxSize int64 // total-max-size, in bytes
	maxObj  int64 // max-object-size
	maxAge  int64 // max-age, seconds
	mu      sync.Mutex
	entries map[[20]byte][]*list.Element // a key's variants (process-vary), or its one entry
	lru     list.List                    // of *cacheEntry, oldest at the front
	used    int64                        // bytes of the entries, counted in 1 kB blocks
	now     func() time.Time
	vary    bool // process-vary on: variants by Accept-Encoding and Referer (http_cache_vary.go)
	// maxVariants is max-secondary-entries
	maxVariants int
}

// cacheEntry is a kept response: its head as gohaka writes it (status
// line and headers, no connection header, no end of head) and its body as
// it went to the client.
type cacheEntry struct {
	key     [20]byte
	head    []byte
	body    []byte
	etag    string    // the ETag value, if any
	lastMod time.Time // Last-Modified (zero: none)
	stored  int64     // when, and until when it is fresh, in Unix seconds as haproxy counts
	expire  int64
	age     int64 // the server's own Age
	size    int64
	msg     int64   // the body's bytes as haproxy counts them (data, not chunk framing)
	v       variant // what the response varies on (http_cache_vary.go)
}

// newHTTPCache reads a cache section's lines.
func newHTTPCache(name string, lines [][]string) (*httpCache, error) {
	c := &httpCache{name: name, maxAge: 60, maxVariants: 10, entries: map[[20]byte][]*list.Element{}, now: time.Now}
	for _, w := range lines {
		if len(w) < 2 {
			continue
		}
		n, err := strconv.ParseInt(w[1], 10, 64)
		switch w[0] {
		case "total-max-size":
			c.maxSize = n << 20
		case "max-object-size":
			c.maxObj = n
		case "max-age":
			c.maxAge = n
		case "process-vary":
			c.vary, err = w[1] == "on", nil
		case "max-secondary-entries":
			c.maxVariants = int(n)
		default:
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("cache '%s': %s: bad value '%s'", name, w[0], w[1])
		}
	}
	if c.maxSize <= 0 {
		return nil, fmt.Errorf("cache '%s' has no total-max-size", name)
	}
	if c.maxObj <= 0 {
		c.maxObj = c.maxSize / 256
	}
	return c, nil
}

// cacheNamed is the cache section name, made once for all rules naming it.
func (r *Runtime) cacheNamed(name string) (*httpCache, error) {
	if c := r.caches[name]; c != nil {
		return c, nil
	}
	for _, s := range r.cfg.Others {
		if s.Kind != "cache" || s.Name != name {
			continue
		}
		var lines [][]string
		for _, l := range s.Lines {
			lines = append(lines, l.Words)
		}
		c, err := newHTTPCache(name, lines)
		if err != nil {
			return nil, err
		}
		if r.caches == nil {
			r.caches = map[string]*httpCache{}
		}
		r.caches[name] = c
		return c, nil
	}
	return nil, fmt.Errorf("no cache section named '%s'", name)
}

// cacheTxn is what cache-use found out about a request, for cache-store
// on its response.
type cacheTxn struct {
	c       *httpCache
	key     [20]byte
	keyed   bool // the key could be made (a Host header or an absolute URI)
	noStore bool // the request forbids keeping its response (no-store, Authorization)
	hit     *cacheEntry
	reason  []byte // the server's reason phrase, for the head kept
	// req is the request's side of a variant (process-vary), read at
	// cache-use as the response rules no longer see the request's headers
	req    variant
	varyOK bool // req was read (cache-use looked, the request's Accept-Encoding could be read)
	// the response head kept by cache-store, the body as it is relayed
	store *cacheEntry
}

// use is `http-request cache-use`: looked when the cache was looked up
// (counted as a lookup), hit when the request is answered from it (t.hit).
func (c *httpCache) use(q *hreq, t *cacheTxn) (looked, hit bool) {
	*t = cacheTxn{c: c}
	ignore := q.minor < 1 && q.major < 2 || !(string(q.method) == "GET" || string(q.method) == "HEAD")
	pragma, cc := false, false
	for _, hd := range q.hdrs {
		switch {
		case h1.EqualFold(hd.Name, "pragma"):
			pragma = pragma || strings.EqualFold(strings.TrimSpace(string(hd.Value)), "no-cache")
		case h1.EqualFold(hd.Name, "authorization"):
			ignore, t.noStore = true, true
		case h1.EqualFold(hd.Name, "cache-control"):
			cc = true
			for _, v := range strings.Split(string(hd.Value), ",") {
				v = strings.ToLower(strings.TrimSpace(v))
				for _, p := range []string{"max-age", "no-cache", "max-stale", "min-fresh"} {
					ignore = ignore || strings.HasPrefix(v, p)
				}
				t.noStore = t.noStore || strings.HasPrefix(v, "no-store")
			}
		}
	}
	if pragma && !cc {
		ignore = true
	}
	if !t.makeKey(q) || ignore {
		return false, false
	}
	if c.vary {
		t.req.accept, t.varyOK = acceptBits(q.hdrs)
		t.req.referer, t.req.hasRef = wholeHeader(q.hdrs, "referer")
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, el := range append([]*list.Element(nil), c.entries[t.key]...) {
		e := el.Value.(*cacheEntry)
		if e.expire <= now.Unix() {
			c.drop(el)
			continue
		}
		if e.v.fits(q) {
			t.hit = e
			return true, true
		}
	}
	return true, false
}

// makeKey hashes the request's absolute URI: as sent when absolute,
// else https:// and the Host header before the path.
func (t *cacheTxn) makeKey(q *hreq) bool {
	if len(q.uri) == 0 {
		return false
	}
	s := sha1.New()
	if q.uri[0] == '/' || q.uri[0] == '*' {
		host, ok := wholeHeader(q.hdrs, "host")
		if !ok {
			return false
		}
		s.Write([]byte("https://"))
		s.Write([]byte(host))
	}
	s.Write(q.uri)
	s.Sum(t.key[:0])
	t.keyed = true
	return true
}

// drop removes an entry; c.mu is held.
func (c *httpCache) drop(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	vs := c.entries[e.key]
	for i, x := range vs {
		if x == el {
			vs = append(vs[:i:i], vs[i+1:]...)
			break
		}
	}
	if len(vs) == 0 {
		delete(c.entries, e.key)
	} else {
		c.entries[e.key] = vs
	}
	c.used -= e.size
}

// invalidate drops the entries of a key (a successful unsafe method).
func (c *httpCache) invalidate(key [20]byte) {
	c.mu.Lock()
	for _, el := range append([]*list.Element(nil), c.entries[key]...) {
		c.drop(el)
	}
	c.mu.Unlock()
}

// prepare is `http-response cache-store`: when the response may be kept,
// t.store gets its head; the body follows (add, commit). The server's
// Age header of a response kept leaves the response, as in haproxy.
func (c *httpCache) prepare(q *hreq, t *cacheTxn, status int, reason []byte, hdrs []h1.Header) []h1.Header {
	if t.c == nil || q.minor < 1 && q.major < 2 {
		return hdrs
	}
	m := string(q.method)
	if m != "GET" {
		safe := m == "HEAD" || m == "OPTIONS" || m == "TRACE"
		if t.keyed && !safe && status >= 200 && status < 400 {
			c.invalidate(t.key)
		}
		return hdrs
	}
	if !t.keyed || status != 200 || t.noStore {
		return hdrs
	}
	maxAge, age, ok := c.keepFor(hdrs)
	if !ok {
		return hdrs
	}
	v, ok := c.varyOf(t, hdrs)
	if !ok {
		return hdrs
	}
	now := c.now()
	e := &cacheEntry{key: t.key, stored: now.Unix(), expire: now.Unix() + maxAge, age: age, v: v}
	b := append([]byte("HTTP/1.1 "), strconv.Itoa(status)...)
	b = append(append(append(b, ' '), reason...), "\r\n"...)
	for _, hd := range hdrs {
		switch {
		case h1.EqualFold(hd.Name, "connection"), h1.EqualFold(hd.Name, "age"):
			continue
		case h1.EqualFold(hd.Name, "etag"):
			e.etag = string(hd.Value)
		case h1.EqualFold(hd.Name, "last-modified"):
			e.lastMod, _ = parseHTTPDate(string(hd.Value))
		}
		b = appendLower(b, hd.Name)
		b = append(append(append(b, ": "...), hd.Value...), "\r\n"...)
	}
	e.head = b
	if int64(len(b)) > c.maxObj {
		return hdrs
	}
	t.store = e
	for i, hd := range hdrs {
		if h1.EqualFold(hd.Name, "age") {
			return append(hdrs[:i:i], hdrs[i+1:]...)
		}
	}
	return hdrs
}

// keepFor says whether a 200 response may be kept and for how long:
// haproxy's reading of Pragma, Cache-Control, Expires and validators,
// its limit max-age, and the server's Age.
func (c *httpCache) keepFor(hdrs []h1.Header) (maxAge, age int64, ok bool) {
	fresh, validator, cacheable := false, false, true
	smax, maxA := int64(-1), int64(-1)
	expires, hasExpires := int64(-1), false
	for _, hd := range hdrs {
		v := strings.TrimSpace(string(hd.Value))
		switch {
		case h1.EqualFold(hd.Name, "pragma"):
			if strings.EqualFold(v, "no-cache") {
				return 0, 0, false
			}
		case h1.EqualFold(hd.Name, "etag"), h1.EqualFold(hd.Name, "last-modified"):
			validator = true
		case h1.EqualFold(hd.Name, "expires"):
			if !hasExpires {
				hasExpires = true
				expires = 0 // a date gohaka cannot read is in the past
				if at, err := parseHTTPDate(v); err == nil {
					expires = max(0, int64(at.Sub(c.now())/time.Second))
				}
			}
		case h1.EqualFold(hd.Name, "age"):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return 0, 0, false
			}
			age = n
		case h1.EqualFold(hd.Name, "cache-control"):
			for _, d := range strings.Split(v, ",") {
				d = strings.ToLower(strings.TrimSpace(d))
				// haproxy 2.6 compares whole directives here
				switch {
				case d == "public":
					cacheable = true
				case d == "private", d == "no-cache", d == "no-store", d == "max-age=0", d == "s-maxage=0":
					cacheable = false
				case strings.HasPrefix(d, "s-maxage"), strings.HasPrefix(d, "max-age"):
					fresh = true
				}
				if n, ok := directive(d, "s-maxage"); ok {
					smax = n
				} else if n, ok := directive(d, "max-age"); ok {
					maxA = n
				}
			}
		}
	}
	if !cacheable || !(fresh || hasExpires || validator) {
		return 0, 0, false
	}
	// the lifetime: s-maxage, else max-age, else Expires, under max-age
	// of the section; a response with a validator only lives max-age. A
	// server's Age past the response's own lifetime: stale, not kept.
	life, own := c.maxAge, int64(0)
	switch {
	case smax > 0:
		own = smax
	case maxA > 0:
		own = maxA
	case smax < 0 && maxA < 0 && hasExpires:
		own = expires
		life = min(expires, c.maxAge)
	}
	if own > 0 {
		life = min(own, c.maxAge)
	}
	if age > own {
		return 0, 0, false
	}
	return life, age, life > 0
}

// directive reads `name=N` (N possibly quoted).
func directive(d, name string) (int64, bool) {
	v, ok := strings.CutPrefix(d, name+"=")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	return n, err == nil && n >= 0
}

// add appends relayed body bytes to the response being kept; past
// max-object-size it is not kept.
func (t *cacheTxn) add(b []byte) {
	e := t.store
	if e == nil {
		return
	}
	if int64(len(e.head)+len(e.body)+len(b)) > t.c.maxObj {
		t.store = nil
		return
	}
	e.body = append(e.body, b...)
}

// commit keeps the response whose body has been relayed whole; msg is
// the body's size as haproxy counts it.
func (t *cacheTxn) commit(msg int64) {
	e := t.store
	t.store = nil
	if e == nil {
		return
	}
	e.msg = msg
	c := t.c
	e.size = (int64(len(e.head)+len(e.body)) + 200 + 1023) / 1024 * 1024 // in 1 kB blocks, as haproxy's
	if e.size > c.maxSize {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// the entry this response replaces: the variant the request fits, or
	// the key's entry; a key with as many variants as allowed takes no more
	for _, el := range c.entries[e.key] {
		if old := el.Value.(*cacheEntry); e.v.sig == 0 || old.v.replacedBy(&e.v) {
			c.drop(el)
			break
		}
	}
	if e.v.sig != 0 && len(c.entries[e.key]) >= c.maxVariants {
		return
	}
	for c.used+e.size > c.maxSize && c.lru.Len() > 0 {
		c.drop(c.lru.Front())
	}
	c.entries[e.key] = append(c.entries[e.key], c.lru.PushBack(e))
	c.used += e.size
}

// commitDecoded keeps a response whose body was relayed decoded (the
// HTTP/2 path): chunked, it is kept as one chunk, with the
// Transfer-Encoding header Go's response reader removed.
func (t *cacheTxn) commitDecoded(chunked bool) {
	e := t.store
	if e == nil || !chunked {
		if e != nil {
			t.commit(int64(len(e.body)))
		}
		return
	}
	if !bytes.Contains(e.head, []byte("\r\ntransfer-encoding:")) { // Go's reader took it out
		e.head = append(e.head, "transfer-encoding: chunked\r\n"...)
	}
	data := e.body
	e.body = nil
	if len(data) > 0 {
		e.body = append(strconv.AppendInt(e.body, int64(len(data)), 16), "\r\n"...)
		e.body = append(append(e.body, data...), "\r\n"...)
	}
	e.body = append(e.body, "0\r\n\r\n"...)
	t.commit(int64(len(data)) + 1) // haproxy counts a chunked body's end as a byte
}

// payload is the body of a kept response without its chunk framing (the
// HTTP/2 answers).
func (e *cacheEntry) payload(chunked bool, body []byte) []byte {
	if !chunked || body == nil {
		return body
	}
	var ck h1.Chunks
	out := make([]byte, 0, len(body))
	ck.Decode(body, &out)
	return out
}

// answer is the kept response for q: its head with an Age header, the
// body unless HEAD; a 304 without body when q's If-None-Match or
// If-Modified-Since says the client has it.
func (e *cacheEntry) answer(q *hreq, now time.Time) (head, body []byte) {
	age := max(0, now.Unix()-e.stored) + e.age
	head = e.head
	if e.notModified(q) {
		i := strings.Index(string(head), "\r\n")
		head = append([]byte("HTTP/1.1 304 Not Modified"), head[i:]...)
	} else if string(q.method) != "HEAD" {
		body = e.body
	}
	head = append(append(head[:len(head):len(head)], "age: "...), strconv.FormatInt(age, 10)...)
	head = append(head, "\r\n\r\n"...)
	return head, body
}

// notModified: an If-None-Match naming the entry's ETag (or *), else an
// If-Modified-Since not before its Last-Modified.
func (e *cacheEntry) notModified(q *hreq) bool {
	inm := false
	for _, hd := range q.hdrs {
		if !h1.EqualFold(hd.Name, "if-none-match") {
			continue
		}
		inm = true
		for _, tag := range strings.Split(string(hd.Value), ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || e.etag != "" && weakEqual(tag, e.etag) {
				return true
			}
		}
	}
	if inm || e.lastMod.IsZero() {
		return false
	}
	v, ok := wholeHeader(q.hdrs, "if-modified-since")
	if !ok {
		return false
	}
	at, err := parseHTTPDate(v)
	return err == nil && !e.lastMod.After(at)
}

// wholeHeader is the first value of a header, commas and all.
func wholeHeader(hdrs []h1.Header, name string) (string, bool) {
	for _, hd := range hdrs {
		if h1.EqualFold(hd.Name, name) {
			return string(hd.Value), true
		}
	}
	return "", false
}

// weakEqual compares two entity tags by their opaque part (RFC 7232's
// weak comparison, as a cache does for If-None-Match).
func weakEqual(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// parseHTTPDate reads the three date forms of HTTP.
func parseHTTPDate(s string) (time.Time, error) {
	for _, f := range []string{time.RFC1123, "Monday, 02-Jan-06 15:04:05 MST", time.ANSIC} {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}
