package proxy

import (
	"testing"
	"time"
)

// TestHTTPLogLine renders the example of haproxy's documentation for
// `option httplog` (section 8.2.3) from its fields and expects the same
// bytes.
func TestHTTPLogLine(t *testing.T) {
	recv := time.Date(2009, 2, 6, 12, 14, 14, 655e6, time.Local)
	h := HTTPLog{Client: "10.0.1.2:33317", Received: recv, Frontend: "http-in", Backend: "static", Server: "srv1",
		TR: 10, Tw: 0, Tc: 30, Tr: 69, Ta: 109, Status: 200, Bytes: 2750, TermState: "----",
		Act: 1, Fe: 1, Be: 1, Srv: 1, Retries: "0", ReqHeaders: []string{"1wt.eu"}, ResHeaders: []string{""},
		RequestLine: "GET /index.html HTTP/1.1"}
	want := `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`
	if got := h.Line(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	h.ReqHeaders, h.ResHeaders, h.Server, h.Tc, h.Tr, h.Status, h.TermState = nil, nil, "<NOSRV>", -1, -1, 503, "SC--"
	want = `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/<NOSRV> 10/0/-1/-1/109 503 2750 - - SC-- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`
	if got := h.Line(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
