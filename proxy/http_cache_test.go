package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// cacheServer answers GET /<case>... with the headers its case names and
// a body telling how many times that path reached it (the proxies' cache
// hits do not); the counts are returned per path.
func cacheServer(t *testing.T) (int, func() map[string]int) {
	var hits hitCounter
	cases := map[string]string{
		"plain":    "",
		"maxage":   "Cache-Control: max-age=30\r\n",
		"smaxage":  "Cache-Control: s-maxage=30, max-age=5\r\n",
		"etag":     "ETag: \"abc\"\r\n",
		"lastmod":  "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
		"expires":  "Expires: Wed, 21 Oct 2099 07:28:00 GMT\r\n",
		"past":     "Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
		"badexp":   "Expires: soon\r\n",
		"nostore":  "Cache-Control: no-store, max-age=30\r\n",
		"private":  "Cache-Control: private, max-age=30\r\n",
		"nocache":  "Cache-Control: no-cache, max-age=30\r\n",
		"cookie":   "Cache-Control: max-age=30\r\nSet-Cookie: a=b\r\n",
		"vary":     "Cache-Control: max-age=30\r\nVary: Accept-Encoding\r\n",
		"maxage0":  "Cache-Control: max-age=0\r\n",
		"max0s":    "Cache-Control: max-age=0, s-maxage=30\r\n",
		"pragma":   "Pragma: no-cache\r\nETag: \"x\"\r\n",
		"age":      "Cache-Control: max-age=30\r\nAge: 5\r\n",
		"oldage":   "Cache-Control: max-age=30\r\nAge: 50\r\n",
		"etagage":  "ETag: \"e\"\r\nAge: 3\r\n",
		"chunked":  "Cache-Control: max-age=30\r\n",
		"big":      "Cache-Control: max-age=30\r\n",
		"r404":     "Cache-Control: max-age=30\r\n",
		"public":   "Cache-Control: public\r\n",
		"weaketag": "ETag: W/\"w1\"\r\n",
	}
	p := answerHeads(t, func(head string) (string, bool) {
		f := strings.Fields(head)
		path := f[1]
		name := strings.SplitN(strings.Trim(strings.SplitN(path, "?", 2)[0], "/"), "/", 2)[0]
		n := hits.add(path)
		body := fmt.Sprintf("%s %s number %d\n", f[0], path, n)
		status := "200 OK"
		switch name {
		case "big":
			body = strings.Repeat("b", 5000)
		case "r404":
			status = "404 Not Found"
		}
		hdrs := fmt.Sprintf("HTTP/1.1 %s\r\nX-N: %d\r\n%s", status, n, cases[name])
		if name == "chunked" {
			return fmt.Sprintf("%sTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", hdrs, len(body), body), true
		}
		return fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", hdrs, len(body), body), true
	})
	return p, hits.snapshot
}

// cacheConfig: a backend using cache c1 between two response rules, so
// that the kept head is the one before the second; after-response rules
// on every answer.
func cacheConfig(sock, logAddr string, fp, sp int) string {
	return loggedHTTP(sock, logAddr) + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-request cache-use c1 if !{ path_beg /skip }
    http-response set-header x-before %%[res.hdr(x-n)]
    http-response cache-store c1
    http-response set-header x-after yes
    http-response set-header x-cache %%[res.cache_hit]/%%[res.cache_name]
    http-after-response set-header x-final yes
    server s1 127.0.0.1:%d
cache c1
    total-max-size 1
    max-age 20
    max-object-size 4000
`, fp, sp)
}

// TestCacheAsHAProxy: haproxy's small-object cache, the same config and
// the same requests through haproxy 2.6 and gohaka: which responses are
// kept (status, Cache-Control, Pragma, Expires, validators, Vary, Age,
// size), which requests are answered from the cache (method, version,
// Authorization, Cache-Control and Pragma of the request, Host in the
// key), 304 answers to If-None-Match and If-Modified-Since, a POST
// dropping the entry, the answers byte for byte (Age blanked), how often
// the server was reached, the log lines (be/<CACHE>, LR--, haproxy's byte
// counts), the fetches res.cache_hit and res.cache_name, and the
// cache_lookups and cache_hits columns.
func TestCacheAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	hsrv, hhits := cacheServer(t)
	gsrv, ghits := cacheServer(t)
	startHAProxyCfg(t, cacheConfig(hs, hlog.pc.LocalAddr().String(), hp, hsrv))
	startRuntime(t, cacheConfig(gs, glog.pc.LocalAddr().String(), gp, gsrv))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	portOpen(gp)
	hlog.collect(300 * time.Millisecond)
	glog.collect(300 * time.Millisecond)
	type step struct{ method, path, extra string }
	var steps []step
	twice := func(path string) {
		steps = append(steps, step{"GET", path, ""}, step{"GET", path, ""})
	}
	for _, c := range []string{"plain", "maxage", "smaxage", "etag", "lastmod", "expires", "past", "badexp", "nostore",
		"private", "nocache", "cookie", "vary", "maxage0", "max0s", "pragma", "age", "oldage", "etagage", "chunked",
		"big", "r404", "public", "skip/maxage"} {
		twice("/" + c)
	}
	steps = append(steps,
		step{"HEAD", "/maxage", ""},
		step{"GET", "/maxage", "Host: other\r\n"},
		step{"GET", "/maxage", "Host: other\r\n"},
		step{"GET/1.0", "/maxage", ""},
		step{"GET", "/maxage", "Authorization: Basic eDp5\r\n"},
		step{"GET", "/maxage", "Cache-Control: no-store\r\n"},
		step{"GET", "/maxage", "Cache-Control: no-cache\r\n"},
		step{"GET", "/maxage", ""},
		step{"GET", "/maxage", "Cache-Control: max-age=0\r\n"},
		step{"GET", "/maxage", "Pragma: no-cache\r\n"},
		step{"GET", "/maxage", "Pragma: no-cache\r\nCache-Control: no-transform\r\n"},
		step{"GET", "/maxage?q=1", ""},
		step{"GET", "/maxage?q=1", ""},
		step{"GET", "/etag", "If-None-Match: \"abc\"\r\n"},
		step{"GET", "/etag", "If-None-Match: \"zzz\", \"abc\"\r\n"},
		step{"GET", "/etag", "If-None-Match: \"zzz\"\r\n"},
		step{"GET", "/etag", "If-None-Match: *\r\n"},
		step{"GET", "/weaketag", ""},
		step{"GET", "/weaketag", "If-None-Match: \"w1\"\r\n"},
		step{"GET", "/lastmod", "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT\r\n"},
		step{"GET", "/lastmod", "If-Modified-Since: Wed, 21 Oct 2014 07:28:00 GMT\r\n"},
		step{"HEAD", "/etag", "If-None-Match: \"abc\"\r\n"},
		step{"POST", "/maxage", "Content-Length: 2\r\n"},
		step{"GET", "/maxage", ""},
		step{"GET", "/maxage", ""},
		step{"DELETE", "/r404", ""},
		step{"GET", "/chunked", ""},
	)
	ageRe := regexp.MustCompile(`(?m)^age: \d+\r$`)
	norm := func(out string) string {
		out = ageRe.ReplaceAllString(out, "age: N\r")
		head, body, _ := strings.Cut(out, "\r\n\r\n")
		var keep []string
		for _, l := range strings.Split(head, "\r\n") {
			if !strings.HasPrefix(strings.ToLower(l), "date:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, " | ") + " || " + body
	}
	for i, s := range steps {
		method, ver := s.method, "HTTP/1.1"
		if m, ok := strings.CutSuffix(method, "/1.0"); ok {
			method, ver = m, "HTTP/1.0"
		}
		host := "Host: h\r\n"
		if strings.HasPrefix(s.extra, "Host:") {
			host = ""
		}
		req := fmt.Sprintf("%s %s %s\r\n%s%sConnection: close\r\n\r\n", method, s.path, ver, host, s.extra)
		if method == "POST" {
			req += "ok"
		}
		h := norm(rawExchange(t, hp, req, 2*time.Second))
		g := norm(rawExchange(t, gp, req, 2*time.Second))
		if h != g {
			t.Errorf("step %d %s %s %q:\nhaproxy %q\ngohaka  %q", i, s.method, s.path, s.extra, h, g)
		}
	}
	if h, g := fmt.Sprint(hhits()), fmt.Sprint(ghits()); h != g {
		t.Errorf("requests reaching the server:\nhaproxy %s\ngohaka  %s", h, g)
	}
	sameLogsAndCounters(t, hlog, glog, hs, gs, []string{"cache_lookups", "cache_hits", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "req_tot", "bout"})
}

// TestCacheKeepsWithinItsSize: the cache drops its oldest entries to
// keep a new one within total-max-size, and an entry expires after
// max-age (a clock the test moves).
func TestCacheKeepsWithinItsSize(t *testing.T) {
	c, err := newHTTPCache("c", [][]string{{"total-max-size", "1"}, {"max-age", "10"}, {"max-object-size", "300000"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	keep := func(path string, size int) {
		q := &hreq{method: []byte("GET"), uri: []byte(path), major: 1, minor: 1, hdrs: hdrList("host", "h")}
		var tx cacheTxn
		c.use(q, &tx)
		c.prepare(q, &tx, 200, []byte("OK"), hdrList("cache-control", "max-age=60"))
		tx.add(make([]byte, size))
		tx.commit(int64(size))
	}
	found := func(path string) bool {
		q := &hreq{method: []byte("GET"), uri: []byte(path), major: 1, minor: 1, hdrs: hdrList("host", "h")}
		var tx cacheTxn
		_, hit := c.use(q, &tx)
		return hit
	}
	for i := 0; i < 4; i++ { // 4 x 250 kB fill 1 MB
		keep(fmt.Sprint("/", i), 250_000)
	}
	if !found("/0") || !found("/3") {
		t.Fatal("entries that fit were not kept")
	}
	keep("/4", 250_000)
	if found("/0") || !found("/1") || !found("/4") {
		t.Fatalf("after a fifth entry: /0 %v /1 %v /4 %v, want the oldest (/0) dropped", found("/0"), found("/1"), found("/4"))
	}
	if c.used > c.maxSize {
		t.Fatalf("%d bytes used of %d", c.used, c.maxSize)
	}
	now = now.Add(9 * time.Second)
	if !found("/4") {
		t.Fatal("expired before max-age (10 s, under the response's 60)")
	}
	now = now.Add(time.Second)
	if found("/4") {
		t.Fatal("still answered at max-age")
	}
}

func hdrList(kv ...string) []h1.Header {
	var out []h1.Header
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, h1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

// TestCacheH2AsHAProxy: HTTP/2 clients use the cache as HTTP/1.1 ones
// do, sharing its entries with them (the key is the same absolute URI):
// misses, hits with Age, a 304, a HEAD, a chunked response kept from
// one protocol and served to the other, through haproxy 2.6 and gohaka.
func TestCacheH2AsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	cfg := `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    default_backend be
backend be
    http-request cache-use c1
    http-response cache-store c1
    http-response set-header x-cache %%[res.cache_hit]
    server s1 127.0.0.1:%d
cache c1
    total-max-size 1
    max-age 20
`
	hsrv, hhits := cacheServer(t)
	gsrv, ghits := cacheServer(t)
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp, dir, hsrv), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp, dir, gsrv))
	h2 := [2]*http.Client{h2Client(ca, "a.example.com"), h2Client(ca, "a.example.com")}
	h1c := func() *http.Client {
		c := h2Client(ca, "a.example.com")
		tr := c.Transport.(*http.Transport)
		tr.ForceAttemptHTTP2, tr.TLSNextProto = false, map[string]func(string, *tls.Conn) http.RoundTripper{}
		return c
	}
	h1 := [2]*http.Client{h1c(), h1c()}
	ask := func(c *http.Client, port int, method, path, inm string) string {
		req, _ := http.NewRequest(method, fmt.Sprintf("https://127.0.0.1:%d%s", port, path), nil)
		req.Host = "h"
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := c.Do(req)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		age := "no"
		if len(resp.Header.Values("Age")) > 0 {
			age = "yes"
		}
		return fmt.Sprintf("%s %d x-n=%q x-cache=%q age=%s length=%d te=%v etag=%q body=%q", resp.Proto, resp.StatusCode,
			resp.Header.Get("X-N"), resp.Header.Get("X-Cache"), age, resp.ContentLength, resp.TransferEncoding, resp.Header.Get("ETag"), b)
	}
	steps := []struct {
		h2                bool
		method, path, inm string
	}{
		{true, "GET", "/maxage", ""}, {true, "GET", "/maxage", ""}, {false, "GET", "/maxage", ""},
		{true, "GET", "/chunked", ""}, {true, "GET", "/chunked", ""}, {false, "GET", "/chunked", ""},
		{false, "GET", "/chunked/x", ""}, {true, "GET", "/chunked/x", ""},
		{true, "GET", "/etag", ""}, {true, "GET", "/etag", `"abc"`}, {true, "HEAD", "/maxage", ""},
		{true, "GET", "/plain", ""}, {true, "GET", "/plain", ""},
	}
	for i, s := range steps {
		c := h1
		if s.h2 {
			c = h2
		}
		if h, g := ask(c[0], hp, s.method, s.path, s.inm), ask(c[1], gp, s.method, s.path, s.inm); h != g {
			t.Errorf("step %d (h2 %v) %s %s:\nhaproxy %s\ngohaka  %s", i, s.h2, s.method, s.path, h, g)
		}
	}
	if h, g := fmt.Sprint(hhits()), fmt.Sprint(ghits()); h != g {
		t.Errorf("requests reaching the server:\nhaproxy %s\ngohaka  %s", h, g)
	}
}

// TestCacheVaryAsHAProxy: with process-vary on, responses that vary on
// Accept-Encoding and Referer are kept once per variant (the coding the
// server chose, the request's referer), requests get the variant they
// accept, others (Vary: *, Cookie, an unknown coding) are not kept, and
// a key takes at most max-secondary-entries variants — as in haproxy 2.6.
func TestCacheVaryAsHAProxy(t *testing.T) {
	srv := func() (int, func() map[string]int) {
		var hits hitCounter
		p := answerHeads(t, func(head string) (string, bool) {
			path := strings.Fields(head)[1]
			lower := strings.ToLower(head)
			n := hits.add(path)
			hd := "Cache-Control: max-age=30\r\n"
			coding := ""
			switch {
			case strings.HasPrefix(path, "/ae"), strings.HasPrefix(path, "/both"):
				if strings.Contains(lower, "accept-encoding:") && strings.Contains(lower[strings.Index(lower, "accept-encoding:"):], "gzip") &&
					!strings.Contains(lower, "gzip;q=0") {
					coding = "gzip"
				}
				hd += "Vary: Accept-Encoding\r\n"
				if strings.HasPrefix(path, "/both") {
					hd += "Vary: Referer\r\n"
				}
			case strings.HasPrefix(path, "/ref"):
				hd += "Vary: referer\r\n"
			case strings.HasPrefix(path, "/star"):
				hd += "Vary: *\r\n"
			case strings.HasPrefix(path, "/cookie"):
				hd += "Vary: Cookie\r\n"
			case strings.HasPrefix(path, "/br"):
				hd += "Vary: Accept-Encoding\r\n"
				coding = "br"
			case strings.HasPrefix(path, "/multi"): // the first coding asked for
				hd += "Vary: Accept-Encoding\r\n"
				if i := strings.Index(lower, "accept-encoding: "); i >= 0 {
					coding = strings.Fields(strings.NewReplacer(",", " ", "\r", " ").Replace(lower[i+17:]))[0]
				}
			case strings.HasPrefix(path, "/unk"):
				hd += "Vary: Accept-Encoding\r\n"
				coding = "foo"
			}
			if coding != "" {
				hd += "Content-Encoding: " + coding + "\r\n"
			}
			body := fmt.Sprintf("%s %s %d\n", path, coding, n)
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nX-N: %d\r\n%sContent-Length: %d\r\n\r\n%s", n, hd, len(body), body), true
		})
		return p, hits.snapshot
	}
	cfg := func(sock, logAddr string, fp, sp int) string {
		return loggedHTTP(sock, logAddr) + fmt.Sprintf("frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n"+
			"    http-request cache-use c1\n    http-response cache-store c1\n    server s1 127.0.0.1:%d\n"+
			"cache c1\n    total-max-size 1\n    max-age 20\n    process-vary on\n    max-secondary-entries 3\n", fp, sp)
	}
	dir := t.TempDir()
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	hsrv, hhits := srv()
	gsrv, ghits := srv()
	startHAProxyCfg(t, cfg(hs, hlog.pc.LocalAddr().String(), hp, hsrv))
	startRuntime(t, cfg(gs, glog.pc.LocalAddr().String(), gp, gsrv))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	portOpen(gp)
	hlog.collect(300 * time.Millisecond)
	glog.collect(300 * time.Millisecond)
	ae := func(v string) string { return "Accept-Encoding: " + v + "\r\n" }
	ref := func(v string) string { return "Referer: " + v + "\r\n" }
	steps := []struct{ path, extra string }{
		{"/ae", ae("gzip")}, {"/ae", ae("gzip")}, {"/ae", ""}, {"/ae", ae("br")}, {"/ae", ae("br")},
		{"/ae", ae("gzip;q=0")}, {"/ae", ae("identity;q=0, gzip")}, {"/ae", ae("*")}, {"/ae", ae("identity;q=0, br")},
		{"/ae", ae("gzip, deflate, br, zstd")}, {"/ae", ae("unknowncoding")},
		{"/ref", ref("a")}, {"/ref", ref("a")}, {"/ref", ref("b")}, {"/ref", ""}, {"/ref", ""}, {"/ref", ref("c")},
		{"/ref", ref("c")}, {"/ref", ref("b")},
		{"/both", ae("gzip") + ref("a")}, {"/both", ae("gzip") + ref("a")}, {"/both", ae("gzip") + ref("b")}, {"/both", ref("a")},
		{"/star", ""}, {"/star", ""}, {"/cookie", ""}, {"/cookie", ""},
		{"/br", ae("br")}, {"/br", ae("br")}, {"/br", ae("gzip")}, {"/br", ""},
		{"/unk", ae("foo")}, {"/unk", ae("foo")},
		{"/multi", ae("gzip")}, {"/multi", ae("br")}, {"/multi", ae("deflate")}, {"/multi", ae("zstd")},
		{"/multi", ae("zstd")}, {"/multi", ae("br")}, {"/multi", ae("gzip")}, {"/multi", ae("deflate, gzip")},
	}
	ageRe := regexp.MustCompile(`(?m)^age: \d+\r$`)
	for i, s := range steps {
		req := "GET " + s.path + " HTTP/1.1\r\nHost: h\r\n" + s.extra + "Connection: close\r\n\r\n"
		h := ageRe.ReplaceAllString(rawExchange(t, hp, req, 2*time.Second), "age: N\r")
		g := ageRe.ReplaceAllString(rawExchange(t, gp, req, 2*time.Second), "age: N\r")
		if h != g {
			t.Errorf("step %d %s %q:\nhaproxy %q\ngohaka  %q", i, s.path, s.extra, h, g)
		}
	}
	if h, g := fmt.Sprint(hhits()), fmt.Sprint(ghits()); h != g {
		t.Errorf("requests reaching the server:\nhaproxy %s\ngohaka  %s", h, g)
	}
	sameLogsAndCounters(t, hlog, glog, hs, gs, []string{"cache_lookups", "cache_hits", "req_tot", "bout"})
}

// TestShowCacheAsHAProxy: `show cache` lists the same caches and the same
// fresh entries (their key's first bytes, what they vary on, the seconds
// they have left, in the same order) as haproxy 2.6; addresses and sizes
// are each program's own.
func TestShowCacheAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	cfg := func(sock string, fp, sp int) string {
		return fmt.Sprintf("global\n    stats socket %s level admin\n", sock) + httpDefaults +
			fmt.Sprintf("frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n"+
				"    http-request cache-use c1\n    http-response cache-store c1\n    server s1 127.0.0.1:%d\n"+
				"cache c1\n    total-max-size 1\n    max-age 20\n    process-vary on\ncache unused\n    total-max-size 2\n", fp, sp)
	}
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hsrv, _ := cacheServer(t)
	gsrv, _ := cacheServer(t)
	hp, gp := freePort(t), freePort(t)
	startHAProxyCfg(t, cfg(hs, hp, hsrv))
	startRuntime(t, cfg(gs, gp, gsrv))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	for _, p := range []string{"/maxage", "/etag", "/expires", "/plain", "/chunked", "/smaxage", "/vary"} {
		for _, port := range []int{hp, gp} {
			rawExchange(t, port, "GET "+p+" HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n", 2*time.Second)
		}
	}
	norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+|shctx:0x[0-9a-f]+|size:\d+ \(\d+ blocks\)|available blocks:\d+`)
	h := norm.ReplaceAllString(cliQuery(t, "unix:"+hs, "show cache"), "_")
	g := norm.ReplaceAllString(cliQuery(t, "unix:"+gs, "show cache"), "_")
	// seconds left: the two queries may fall either side of a second
	expire := regexp.MustCompile(`expire:(\d+)`)
	he, ge := expire.FindAllStringSubmatch(h, -1), expire.FindAllStringSubmatch(g, -1)
	for i := 0; i < min(len(he), len(ge)); i++ {
		a, _ := strconv.Atoi(he[i][1])
		b, _ := strconv.Atoi(ge[i][1])
		if a-b > 1 || b-a > 1 || a < 18 {
			t.Errorf("entry %d: %d seconds left in haproxy, %d in gohaka (max-age 20)", i, a, b)
		}
	}
	h, g = expire.ReplaceAllString(h, "expire:N"), expire.ReplaceAllString(g, "expire:N")
	if h != g || strings.Count(h, "hash:") != 6 {
		t.Errorf("show cache:\nhaproxy:\n%s\ngohaka:\n%s", h, g)
	}
}
