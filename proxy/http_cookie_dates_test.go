package proxy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCookieDateEncoding: haproxy 2.6, asked at unix time 1796199708,
// dated its inserted cookie "aw/VH": (t+3)/4 in five characters of the
// base64 alphabet, most significant first.
func TestCookieDateEncoding(t *testing.T) {
	if got := string(appendDate(nil, dateUnit(1796199708))); got != "aw/VH" {
		t.Errorf("date of 1796199708: %q, want aw/VH", got)
	}
	for _, u := range []int64{0, 1, 63, 64, 449049927, 1<<30 - 1} {
		if got := decodeDate(appendDate(nil, u)); got != u {
			t.Errorf("round trip of %d: %d", u, got)
		}
	}
	for _, bad := range []string{"", "aw/V", "aw/VHH", "aw/V*"} {
		if got := decodeDate([]byte(bad)); got != -1 {
			t.Errorf("decodeDate(%q) = %d, want -1", bad, got)
		}
	}
}

// TestCookieMaxIdleMaxLife: with `maxidle 30m maxlife 8h` an inserted
// cookie carries SERVER|LASTSEEN|FIRSTSEEN. As haproxy 2.6 answered the
// same cookies: a cookie seen within maxidle and first set within maxlife
// keeps its server, is sent again when its last-seen date is older than
// the current 4-second unit (its first-seen date kept), and not at all
// when it is current; one idle for more than 30 minutes, or first set
// more than 8 hours ago, is ignored (balanced, new dates); a cookie
// without dates or with unreadable ones keeps its server and gets dates.
func TestCookieMaxIdleMaxLife(t *testing.T) {
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	fp := freePort(t)
	startRuntime(t, fmt.Sprintf("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n"+
		"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n\nbackend be\n    balance first\n"+
		"    cookie SRV insert indirect maxidle 30m maxlife 8h\n    server s1 127.0.0.1:%d cookie c1\n    server s2 127.0.0.1:%d cookie c2\n", fp, a, b))
	enc := func(u int64) string { return string(appendDate(nil, u)) }
	setCookie := regexp.MustCompile(`(?i)\r\nset-cookie: SRV=([^;\r]*)`)
	ask := func(cookie string) (server, set string) {
		h := "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
		if cookie != "" {
			h += "Cookie: SRV=" + cookie + "\r\n"
		}
		out := rawExchange(t, fp, h+"\r\n", 2*time.Second)
		if strings.Contains(out, "server A") {
			server = "A"
		} else if strings.Contains(out, "server B") {
			server = "B"
		}
		if m := setCookie.FindStringSubmatch(out); m != nil {
			set = m[1]
		}
		return server, set
	}
	for _, c := range []struct {
		name   string
		cookie func(d int64) string
		server string
		// set: "" none, "fresh" both dates now, "first=N" last now and first d-N
		set string
	}{
		{"none", func(d int64) string { return "" }, "A", "fresh"},
		{"current", func(d int64) string { return "c2|" + enc(d) + "|" + enc(d-100) }, "B", ""},
		{"seen 40s ago", func(d int64) string { return "c2|" + enc(d-10) + "|" + enc(d-100) }, "B", "first=100"},
		{"idle 30m", func(d int64) string { return "c2|" + enc(d-450) + "|" + enc(d-450) }, "B", "first=450"},
		{"idle 30m04s", func(d int64) string { return "c2|" + enc(d-451) + "|" + enc(d-451) }, "A", "fresh"},
		{"first 8h04s ago", func(d int64) string { return "c2|" + enc(d) + "|" + enc(d-7201) }, "A", "fresh"},
		{"no dates", func(d int64) string { return "c2" }, "B", "fresh"},
		{"unreadable dates", func(d int64) string { return "c2|zz" }, "B", "fresh"},
		{"future", func(d int64) string { return "c2|" + enc(d+100) + "|" + enc(d) }, "B", ""},
		{"last a day ahead", func(d int64) string { return "c2|" + enc(d+21601) + "|" + enc(d) }, "A", "fresh"},
		{"first a day ahead", func(d int64) string { return "c2|" + enc(d) + "|" + enc(d+21601) }, "A", "fresh"},
	} {
		// a 4-second unit may turn between the two clocks: once more then
		for try := 0; try < 2; try++ {
			d := dateUnit(time.Now().Unix())
			server, set := ask(c.cookie(d))
			if dateUnit(time.Now().Unix()) != d && try == 0 {
				continue
			}
			want := ""
			switch {
			case c.set == "fresh":
				want = "c1|" + enc(d) + "|" + enc(d)
				if c.server == "B" {
					want = "c2|" + enc(d) + "|" + enc(d)
				}
			case strings.HasPrefix(c.set, "first="):
				var k int64
				fmt.Sscan(strings.TrimPrefix(c.set, "first="), &k)
				want = "c2|" + enc(d) + "|" + enc(d-k)
			}
			if server != c.server || set != want {
				t.Errorf("%s: server %s, set-cookie %q; want %s, %q", c.name, server, set, c.server, want)
			}
			break
		}
	}
}
