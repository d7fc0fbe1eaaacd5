package proxy

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// compServer answers every request with a text body, varied by path:
// another type, its own encoding, 404, no-transform, an ETag, chunked,
// a Vary, 201, or the Accept-Encoding it got.
func compServer(t *testing.T) int {
	var accepted atomic.Int64
	return serveEach(t, func(c net.Conn) {
		id := accepted.Add(1)
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				body := strings.Repeat("hello world ", 2000) + "\n"
				h, code, chunked := "content-type: text/plain\r\n", "200 OK", false
				switch req.URL.Path {
				case "/json":
					h = "content-type: application/json\r\n"
				case "/enc":
					h += "content-encoding: br\r\n"
				case "/404":
					code = "404 Not Found"
				case "/nt":
					h += "cache-control: no-transform\r\n"
				case "/etag":
					h += "etag: \"abc\"\r\n"
				case "/chunked":
					chunked = true
				case "/vary":
					h += "vary: Cookie\r\n"
				case "/201":
					code = "201 Created"
				case "/ae":
					body = "ae=" + req.Header.Get("Accept-Encoding") + "\n"
				}
				if req.URL.RawQuery == "conn" { // which connection answered
					h += fmt.Sprintf("x-conn: %d\r\n", id)
				}
				if chunked {
					fmt.Fprintf(c, "HTTP/1.1 %s\r\n%stransfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", code, h, len(body), body)
				} else {
					fmt.Fprintf(c, "HTTP/1.1 %s\r\n%scontent-length: %d\r\n\r\n%s", code, h, len(body), body)
				}
			}
		}()
	})
}

// compAnswer reads a raw answer: its head as sent, and its body with the
// transfer and content encodings undone.
func compAnswer(t *testing.T, raw, method string) (string, string) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%.300q", err, raw)
	}
	var body io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		if body, err = gzip.NewReader(resp.Body); err != nil {
			t.Fatalf("gzip: %v", err)
		}
	case "deflate":
		if body, err = zlib.NewReader(resp.Body); err != nil {
			t.Fatalf("deflate: %v", err)
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return head, string(b)
}

// TestHTTPCompressionAsHAProxy: with `compression algo gzip`, `type`
// and `offload`, gohaka compresses the responses haproxy 2.6 compresses
// and no others, with the same head byte for byte (no length, chunked,
// Vary and Content-Encoding added, a weak ETag) and the same body once
// decompressed; haproxy's and gohaka's compressed bytes differ (zlib and
// Go), the content does not. Then the frontend and backend count the
// compressed responses and the bytes that went into the compressor, and a keep-alive connection carries compressed
// and plain answers one after the other.
func TestHTTPCompressionAsHAProxy(t *testing.T) {
	sp := compServer(t)
	sockDir := t.TempDir()
	cfg := func(p int) string {
		return fmt.Sprintf("global\n    stats socket %s/%d.sock level admin\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"+
			"frontend fe\n    bind 127.0.0.1:%d\n    use_backend be_defl if { path_beg /defl }\n    default_backend be\n"+
			"backend be\n    compression algo gzip\n    compression type text/plain text/html\n    compression offload\n    server s 127.0.0.1:%d\n"+
			"backend be_defl\n    compression algo deflate gzip\n    server s 127.0.0.1:%d\n", sockDir, p, p, sp, sp)
	}
	hp, gp := freePort(t), freePort(t)
	startHAProxyCfg(t, cfg(hp))
	startRuntime(t, cfg(gp))
	waitFor(t, func() bool { return portOpen(hp) }, "haproxy")
	compressed := 0
	for _, c := range []struct{ m, path, ae string }{
		{"GET", "/", "gzip"}, {"GET", "/", ""}, {"GET", "/", "deflate, gzip;q=0.5"}, {"GET", "/", "gzip;q=0"},
		{"GET", "/json", "gzip"}, {"GET", "/enc", "gzip"}, {"GET", "/404", "gzip"}, {"GET", "/nt", "gzip"},
		{"GET", "/etag", "gzip"}, {"GET", "/chunked", "gzip"}, {"HEAD", "/", "gzip"}, {"GET", "/vary", "gzip"},
		{"GET", "/201", "gzip"}, {"GET", "/ae", "gzip, br"}, {"GET", "/", "br, gzip"}, {"GET", "/", "*"}, {"GET", "/", "GZIP"},
		{"GET", "/defl", "gzip, deflate"}, {"GET", "/defl", "deflate;q=0, gzip"},
	} {
		req := c.m + " " + c.path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		if c.ae != "" {
			req += "Accept-Encoding: " + c.ae + "\r\n"
		}
		hh, hb := compAnswer(t, rawExchange(t, hp, req+"\r\n", 3*time.Second), c.m)
		gh, gb := compAnswer(t, rawExchange(t, gp, req+"\r\n", 3*time.Second), c.m)
		if hh != gh || hb != gb {
			t.Errorf("%s %s (Accept-Encoding %q):\nhaproxy %q %d bytes\ngohaka  %q %d bytes", c.m, c.path, c.ae, hh, len(hb), gh, len(gb))
		}
		if strings.Contains(hh, "content-encoding: gzip") || strings.Contains(hh, "content-encoding: deflate") {
			compressed++
			if c.path == "/etag" {
				t.Logf("e.g. %q", gh)
			}
		}
	}
	for _, req := range []string{ // HTTP/1.0 (not compressed), a POST (compressed)
		"GET / HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\nab",
	} {
		hh, hb := compAnswer(t, rawExchange(t, hp, req, 3*time.Second), "GET")
		gh, gb := compAnswer(t, rawExchange(t, gp, req, 3*time.Second), "GET")
		if hh != gh || hb != gb {
			t.Errorf("%.30q:\nhaproxy %q %d bytes\ngohaka  %q %d bytes", req, hh, len(hb), gh, len(gb))
		}
	}
	if compressed < 8 {
		t.Errorf("haproxy compressed %d answers, want at least 8", compressed)
	}
	// keep-alive: compressed answers one after the other, each proxy over
	// the server connection of its first (haproxy keeps it after a
	// compressed answer as after any other)
	conns := map[int]map[string]bool{}
	for _, p := range []int{hp, gp} {
		conns[p] = map[string]bool{}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for i, path := range []string{"/?conn", "/chunked?conn", "/json?conn", "/?conn"} {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", path)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("port %d request %d: %v", p, i, err)
			}
			conns[p][resp.Header.Get("X-Conn")] = true
			var body io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				body, _ = gzip.NewReader(resp.Body)
			}
			b, err := io.ReadAll(body)
			resp.Body.Close()
			if err != nil || len(b) != 24001 {
				t.Errorf("port %d request %d (%s): %d bytes, %v", p, i, path, len(b), err)
			}
		}
		c.Close()
	}
	// haproxy 2.6 (http-reuse safe) may send a later request over an older
	// idle connection of its pool rather than the client's own (README,
	// connection reuse); neither opens one per compressed answer
	if len(conns[gp]) != 1 || len(conns[hp]) > 2 {
		t.Errorf("server connections that answered 4 keep-alive requests (3 compressed): haproxy %v, gohaka %v (want gohaka's own one)", conns[hp], conns[gp])
	}
	time.Sleep(100 * time.Millisecond)
	for _, row := range []string{"fe,FRONTEND", "be,BACKEND", "be_defl,BACKEND"} {
		for _, col := range []string{"comp_rsp", "comp_in"} {
			h := statField(t, fmt.Sprintf("%s/%d.sock", sockDir, hp), row, col)
			g := statField(t, fmt.Sprintf("%s/%d.sock", sockDir, gp), row, col)
			if h != g {
				t.Errorf("%s %s: haproxy %s, gohaka %s", row, col, h, g)
			}
		}
	}
}

// statField is one field of a `show stat` row ("px,sv").
func statField(t *testing.T, sock, row, col string) string {
	out := cliQuery(t, "unix:"+sock, "show stat")
	i := colIndex(col)
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, row+",") {
			return strings.Split(l, ",")[i]
		}
	}
	return "?"
}

// TestHTTP2CompressionAsHAProxy: HTTP/2 streams get the compression
// HTTP/1.1 requests get, as from haproxy 2.6: the same responses
// compressed, the same Content-Encoding, Vary, ETag and length headers,
// the same content once decompressed.
func TestHTTP2CompressionAsHAProxy(t *testing.T) {
	ca := newTestCA(t)
	dir := certDir(t, ca)
	sp := compServer(t)
	cfg := func(p int) string {
		return fmt.Sprintf("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"+
			"frontend fe\n    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1\n    default_backend be\n"+
			"backend be\n    compression algo gzip\n    compression type text/plain\n    compression offload\n    server s 127.0.0.1:%d\n", p, dir, sp)
	}
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, cfg(hp), hp)
	startRuntime(t, cfg(gp))
	answer := func(c *http.Client, p int, path, ae string) string {
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d%s", p, path), nil)
		req.Header.Set("Accept-Encoding", ae) // set by hand: the client leaves the body as it comes
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s on %d: %v", path, p, err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatalf("%s on %d: gzip: %v", path, p, err)
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("%s on %d: %v", path, p, err)
		}
		return fmt.Sprintf("%s %d encoding=%q vary=%q etag=%q length=%q body %d bytes %.20q", resp.Proto, resp.StatusCode,
			resp.Header.Values("Content-Encoding"), resp.Header.Values("Vary"), resp.Header.Values("Etag"),
			resp.Header.Values("Content-Length"), len(b), b)
	}
	hc, gc := h2Client(ca, "a.example.com"), h2Client(ca, "a.example.com")
	for _, c := range []struct{ path, ae string }{
		{"/", "gzip"}, {"/", "br"}, {"/json", "gzip"}, {"/etag", "gzip"}, {"/chunked", "gzip"}, {"/404", "gzip"},
		{"/vary", "gzip"}, {"/ae", "gzip, br"},
	} {
		h, g := answer(hc, hp, c.path, c.ae), answer(gc, gp, c.path, c.ae)
		if h != g || !strings.HasPrefix(h, "HTTP/2.0") {
			t.Errorf("%s (Accept-Encoding %q):\nhaproxy %s\ngohaka  %s", c.path, c.ae, h, g)
		}
		if c.path == "/etag" {
			t.Logf("e.g. %s", g)
			if !strings.Contains(g, `encoding=["gzip"]`) {
				t.Errorf("/etag was not compressed: %s", g)
			}
		}
	}
}
