package h1

import (
	"strings"
	"testing"
)

var lim = Limit(0, 0)

// The expectations come from haproxy 2.6.12 (see proxy/http_diff_test.go,
// which replays many of these through the real haproxy).
func TestParseRequest(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBad},
		{"GET  / HTTP/1.1\r\n\r\n", nil},
		{"GET\t/ HTTP/1.1\r\n\r\n", nil},
		{"GET / HTTP/2.0\r\n\r\n", nil},
		{"GET / http/1.1\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1 \r\n\r\n", ErrBad},
		{"GET / HTTP/11\r\n\r\n", ErrBad},
		{"GET /\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\n: x\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\rHost: a\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", nil},
		{"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", nil},
		{"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", nil},
		{"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: 3,\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: 3 4\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnprocessable},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", ErrBad},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBad},
		{"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"GET http://a/b HTTP/1.1\r\nHost: b\r\n\r\n", ErrBad},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrBad},
		{"GET /a#b HTTP/1.1\r\n\r\n", ErrBad},
		{"GET /a\xc3\xa9 HTTP/1.1\r\n\r\n", ErrBad},
		{"GET /a\"<> HTTP/1.1\r\n\r\n", nil},
		{"\r\nGET / HTTP/1.1\r\n\r\n", nil},
		{"GET / HTTP/1.1\nHost: a\n\n", nil},
		{"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: a\r\n", ErrIncomplete},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 15241) + "\r\nHost: a\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 15242) + "\r\nHost: a\r\n\r\n", ErrTooLarge},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 17000), ErrTooLarge},
		{"GET / HTTP/1.1\r\n" + strings.Repeat("a: b\r\n", 101) + "\r\n", ErrTooManyHeaders},
	}
	var m Msg
	for _, c := range cases {
		if err := ParseRequest([]byte(c.in), &m, lim); err != c.want {
			t.Errorf("%q: got %v, want %v", c.in[:min(len(c.in), 80)], err, c.want)
		}
	}
}

func TestRequestFields(t *testing.T) {
	var m Msg
	in := []byte("POST /x?a=1 HTTP/1.0\r\nHost: h\r\nX: a\r\n  b\r\nConnection: keep-alive\r\nContent-Length: 00003\r\n\r\nabc")
	if err := ParseRequest(in, &m, lim); err != nil {
		t.Fatal(err)
	}
	if string(m.Method) != "POST" || string(m.URI) != "/x?a=1" || m.Minor != 0 || m.ContentLength != 3 || !m.KeepAlive() || m.HeadLen != len(in)-3 {
		t.Fatalf("%+v", m)
	}
	if v, _ := m.Get("x"); string(v) != "a    b" {
		t.Fatalf("folded value %q", v)
	}
	in = []byte("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: Upgrade\r\n\r\n")
	if err := ParseRequest(in, &m, lim); err != nil || !m.Chunked || m.ContentLength != -1 || !m.Expect100 || !m.Upgrade {
		t.Fatalf("%v %+v", err, m)
	}
}

func TestParseResponse(t *testing.T) {
	var m Msg
	for in, want := range map[string]error{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n": nil,
		"HTTP/1.1 204\r\n\r\n":                         nil,
		"HTTP/1.1 20 OK\r\n\r\n":                       ErrBad,
		"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n":       ErrBad,
		"HTTX/1.1 200 OK\r\n\r\n":                      ErrBad,
		"HTTP/1.1 200 OK\r\n":                          ErrIncomplete,
	} {
		if err := ParseResponse([]byte(in), &m, lim); err != want {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
}

func TestChunks(t *testing.T) {
	for in, want := range map[string]error{
		"3\r\nabc\r\n0\r\n\r\n":                  nil,
		"3;ext=1\r\nabc\r\n0\r\n\r\n":            nil,
		"3 \r\nabc\r\n0\r\n\r\n":                 nil,
		"3\nabc\n0\n\n":                          nil,
		"3\r\nabc\r\n0\r\nT: x\r\n\r\n":          nil,
		"zz\r\nabc\r\n0\r\n\r\n":                 ErrBad,
		"-3\r\nabc\r\n0\r\n\r\n":                 ErrBad,
		"3\r\nabcX\r\n0\r\n\r\n":                 ErrBad,
		"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n": ErrBad,
	} {
		// byte by byte and in one go must agree
		var c Chunks
		n, err := c.Feed([]byte(in + "NEXT"))
		if err != want || err == nil && (n != len(in) || !c.Done()) {
			t.Errorf("%q: n=%d err=%v done=%v", in, n, err, c.Done())
		}
		c.Reset()
		var err2 error
		for i := 0; i < len(in) && err2 == nil; i++ {
			_, err2 = c.Feed([]byte{in[i]})
		}
		if err2 != want || err2 == nil && !c.Done() {
			t.Errorf("%q bytewise: %v", in, err2)
		}
	}
}

func BenchmarkParseRequest(b *testing.B) {
	in := []byte("GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\nCookie: SRV=s1; a=b\r\n\r\n")
	var m Msg
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseRequest(in, &m, lim); err != nil {
			b.Fatal(err)
		}
	}
}

// checkParsed fails t when a message ParseRequest or ParseResponse
// accepted from in is inconsistent; a chunked body is fed to Chunks.
func checkParsed(t *testing.T, m *Msg, in []byte) {
	if m.HeadLen <= 0 || m.HeadLen > len(in) || m.Chunked && m.ContentLength != -1 || len(m.Headers) > MaxHeaders {
		t.Fatalf("inconsistent %+v", *m)
	}
	for _, h := range m.Headers {
		if len(h.Name) == 0 {
			t.Fatal("empty name")
		}
	}
	if m.Chunked {
		var c Chunks
		c.Feed(in[m.HeadLen:])
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("GET http://a/b HTTP/1.0\r\nX: a\r\n b\r\nContent-Length: 3, 3\r\n\r\n"))
	var m Msg
	f.Fuzz(func(t *testing.T, in []byte) {
		if ParseRequest(in, &m, lim) == nil {
			checkParsed(t, &m, in)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 204 \r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"))
	var m Msg
	f.Fuzz(func(t *testing.T, in []byte) {
		if ParseResponse(in, &m, lim) != nil {
			return
		}
		if m.Status < 100 || m.Status > 999 {
			t.Fatalf("status %d accepted", m.Status)
		}
		checkParsed(t, &m, in)
	})
}
