package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

func testCtrTable(t *testing.T, line string) *ctrTable {
	t.Helper()
	ct, err := newCtrTable("t", testLine(line))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// testLine is a config line without positions.
func testLine(s string) *parser.Line {
	w := strings.Fields(s)
	return &parser.Line{Words: w, Pos: make([]parser.Pos, len(w))}
}

// TestCtrRate: a rate over a period counts the current period and the
// share of the previous one still inside the sliding window; two
// periods later nothing is left.
func TestCtrRate(t *testing.T) {
	ct := testCtrTable(t, "stick-table type ip size 10 store http_req_rate(10s),http_req_cnt")
	e := ct.get("192.0.2.1", true, time.Now())
	for range 8 {
		ct.add(e, dHTTPReqRate, 1)
		ct.add(e, dHTTPReqCnt, 1)
	}
	at := func(ms int64) int64 { // the rate read ms after the period began
		ct.epoch = time.Now().Add(-time.Duration(e.d[ct.slot[dHTTPReqRate]]+ms) * time.Millisecond)
		v, _ := ct.value(e, dHTTPReqRate)
		return v
	}
	for _, c := range []struct{ ms, want int64 }{{0, 8}, {9999, 8}, {10000, 8}, {12500, 6}, {15000, 4}, {19999, 0}, {20000, 0}, {60000, 0}} {
		if got := at(c.ms); got != c.want {
			t.Errorf("%d ms in: rate %d, want %d", c.ms, got, c.want)
		}
	}
	if n, _ := ct.value(e, dHTTPReqCnt); n != 8 {
		t.Errorf("count %d, want 8", n)
	}
	if _, ok := ct.value(e, dConnCur); ok {
		t.Error("conn_cur is not stored but has a value")
	}
}

// TestCtrTableFullAndExpiry: a full table makes room by dropping an
// untracked entry (expired ones first) and refuses a new key when every
// entry is tracked; an expired entry is gone.
func TestCtrTableFullAndExpiry(t *testing.T) {
	ct := testCtrTable(t, "stick-table type ip size 2 expire 1s store conn_cur")
	var a, b trackSet
	if !a.track(0, ct, "192.0.2.1") || !b.track(0, ct, "192.0.2.2") {
		t.Fatal("tracking in an empty table failed")
	}
	var c trackSet
	if c.track(0, ct, "192.0.2.3") {
		t.Fatal("a table full of tracked entries took one more")
	}
	a.release()
	if !c.track(0, ct, "192.0.2.3") {
		t.Fatal("an untracked entry was not dropped to make room")
	}
	if ct.m["192.0.2.1"] != nil || len(ct.m) != 2 {
		t.Errorf("entries %d, 192.0.2.1 still there: %v", len(ct.m), ct.m["192.0.2.1"] != nil)
	}
	if v, _ := ct.value(ct.m["192.0.2.3"], dConnCur); v != 1 {
		t.Errorf("conn_cur %d, want 1", v)
	}
	b.release()
	later := time.Now().Add(2 * time.Second)
	if ct.get("192.0.2.2", false, later) != nil {
		t.Error("an expired entry is still found")
	}
	if ct.get("192.0.2.3", false, later) == nil {
		t.Error("a tracked entry expired")
	}
}

// TestCtrKeys: samples become keys as each table type takes them.
func TestCtrKeys(t *testing.T) {
	for _, c := range []struct{ typ, in, want string }{
		{"ip", "192.0.2.7", "192.0.2.7"},
		{"ip", "::ffff:192.0.2.7", "192.0.2.7"},
		{"ip", "2001:db8::1", ""},
		{"ipv6", "192.0.2.7", "::ffff:192.0.2.7"},
		{"ipv6", "2001:db8::1", "2001:db8::1"},
		{"integer", "42", "42"},
		{"integer", "x", ""},
		{"string", "/abcdefghijkl", "/abcdefg"},
	} {
		ct := testCtrTable(t, "stick-table type "+c.typ+" len 8 size 1")
		got, ok := ct.key([]byte(c.in))
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("%s table, %q: key %q, want %q", c.typ, c.in, got, c.want)
		}
	}
	if _, err := newCtrTable("t", testLine("stick-table type ip size 1 store http_req_rate")); err == nil {
		t.Error("a rate without a period was taken")
	}
}
