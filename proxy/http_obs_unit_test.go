package proxy

import (
	"testing"
	"time"
)

// TestHeadAdjust checks the head sizes haproxy 2.6 reported in the
// differential tests: %U 78 for a 75-byte request with 3 header lines,
// 81 for a 97-byte one that also has "Connection: close", %B 81 for a
// 74-byte response with 2 header lines, 192 for the 189-byte 403 page.
func TestHeadAdjust(t *testing.T) {
	cases := []struct {
		msg  string
		want int64
	}{
		{"GET /ok/0 HTTP/1.1\r\nHost: test\r\nUser-Agent: obs-test\r\nContent-Length: 0\r\n\r\n", 78},
		{"GET /badresp HTTP/1.1\r\nHost: test\r\nUser-Agent: obs-test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 81},
		{"HTTP/1.1 200 X\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nserver s1\n", 81},
		{"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" +
			"<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n", 192},
	}
	for _, c := range cases {
		if got := int64(len(c.msg)) + headAdjust([]byte(c.msg)); got != c.want {
			t.Errorf("%.30q: %d, want %d", c.msg, got, c.want)
		}
	}
}

// TestHTTPLogFormatRendering checks the formats' layout on a fixed
// request: separators merge, %hr/%hrl without captures print nothing and
// keep one space, an empty %HQ keeps both, %o quotes the strings after
// it, %tsc is never quoted, %CC prints - or "".
func TestHTTPLogFormatRendering(t *testing.T) {
	at := time.Date(2026, 12, 2, 4, 51, 49, 838e6, time.UTC)
	tx := &httpTx{id: 42, accept: at, first: at, headDone: at, end: at.Add(3 * time.Millisecond), status: 200, in: 78,
		out: 81, beName: "be1", term: "----", method: []byte("GET"), uri: []byte("/ok/0"), ver: []byte("HTTP/1.1"),
		server: true, gotResp: true}
	lv := &logVars{tx: tx}
	cases := []struct{ format, want string }{
		{"%ST %B %U %b %HM %HP %HQ %HV %CC %{+Q}CC %tsc %{+Q}tsc end", `200 81 78 be1 GET /ok/0  HTTP/1.1 - "" ---- ---- end`},
		{"[%tr]  %hr  %hs %{+Q}r", `[02/Dec/2026:04:51:49.838] "GET /ok/0 HTTP/1.1"`},
		{`%{+Q}o %{-Q}HM %b %ST %hrl %hsl`, `GET "be1" 200 `},
		{"rt=%rt %TR/%Tw/%Tc/%Tr/%Ta %trg", "rt=41 0/0/0/0/3 02/Dec/2026:04:51:49 +0000"},
	}
	for _, c := range cases {
		if got := renderLogFormat(c.format, lv); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.format, got, c.want)
		}
	}
}
