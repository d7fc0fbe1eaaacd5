package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pageConfig: a tcp frontend and backend with a server up, one disabled
// in the configuration and one whose check fails, plus `listen stats`.
func pageConfig(st, fe int, sp []int, dead int) string {
	return fmt.Sprintf(`global
    maxconn 500
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:%d
    default_backend app
backend app
    server a1 127.0.0.1:%d
    server a2 127.0.0.1:%d disabled
    server a3 127.0.0.1:%d check inter 100ms fall 1 rise 1
listen stats
    mode http
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
    stats realm Gohaka\ Stats
    stats auth admin:secret
    stats auth ops:pw2
    stats refresh 5s
    stats hide-version
    stats admin if { src 127.0.0.1 }
    stats scope app
    stats scope .
`, fe, sp[0], sp[1], dead, st)
}

// pageTransport keeps one connection per address: a request waits for
// the previous one's connection to be back in the pool rather than dial
// a second one while the first is still being put back, which would
// leave the proxy's scur one higher at random.
var pageTransport = &http.Transport{MaxConnsPerHost: 1}

// pageGet fetches the page with Go's HTTP client (credentials optional).
func pageGet(t *testing.T, st int, path, user, pass string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", st, path), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	cl := http.Client{Transport: pageTransport, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestStatsPageCSVMatchesHAProxy serves the same config with haproxy and
// gohaka and compares the page's ;csv export: header, rows (the stats
// proxy's own http-mode rows included) and every non-time field, read
// through `stats auth`.
func TestStatsPageCSVMatchesHAProxy(t *testing.T) {
	sp := replyServers(t, 2)
	dead := deadPort(t)
	hst, gst := freePort(t), freePort(t)
	startHAProxyCfg(t, pageConfig(hst, freePort(t), sp, dead))
	startRuntime(t, pageConfig(gst, freePort(t), sp, dead))
	down := func(st int) bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", st))
		if err != nil {
			return false
		}
		c.Close() // an empty connection: a request error in both
		_, body := pageGet(t, st, "/st;csv", "admin", "secret")
		return strings.Contains(body, "\napp,a3,") && strings.Contains(body, ",DOWN,")
	}
	waitFor(t, func() bool {
		h, g := down(hst), down(gst) // both asked the same number of times
		return h && g
	}, "both pages, a3 down")
	for _, st := range []int{hst, gst} {
		resp, _ := pageGet(t, st, "/st", "", "")
		if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Basic realm="Gohaka Stats"` {
			t.Errorf("port %d without credentials: %d %q", st, resp.StatusCode, resp.Header.Get("Www-Authenticate"))
		}
	}
	_, h := pageGet(t, hst, "/st;csv", "ops", "pw2")
	_, g := pageGet(t, gst, "/st;csv", "ops", "pw2")
	// the stats proxy's own counters depend on how each server counts
	// the probes and the page's size: only which fields are set is
	// compared for its rows
	norm := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "stats,") {
				f := strings.Split(l, ",")
				for i := range f {
					if _, err := strconv.Atoi(f[i]); err == nil {
						f[i] = "N"
					}
				}
				l = strings.Join(f, ",")
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}
	checkSameStat(t, norm(h), norm(g))
	hr, _ := pageGet(t, hst, "/st", "admin", "secret")
	gr, _ := pageGet(t, gst, "/st", "admin", "secret")
	for _, k := range []string{"Refresh", "Content-Type", "Cache-Control"} {
		if hr.Header.Get(k) != gr.Header.Get(k) {
			t.Errorf("header %s: haproxy %q, gohaka %q", k, hr.Header.Get(k), gr.Header.Get(k))
		}
	}
	hn, _ := pageGet(t, hst, "/other", "admin", "secret")
	gn, _ := pageGet(t, gst, "/other", "admin", "secret")
	if hn.StatusCode != gn.StatusCode {
		t.Errorf("unknown URI: haproxy %d, gohaka %d", hn.StatusCode, gn.StatusCode)
	}
}

// TestStatsPageAdminAction drains and puts servers in maintenance from
// the page's form (stats admin) and checks the effect on the page, the
// CSV and where the next connections go.
func TestStatsPageAdminAction(t *testing.T) {
	ports := nameBackends(t, 2)
	st, fe := freePort(t), freePort(t)
	startRuntime(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d
listen stats
    mode http
    bind 127.0.0.1:%d
    stats enable
    stats uri /
    stats admin if LOCALHOST
`, fe, ports[0], ports[1], st))
	post := func(body string) *http.Response {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Post(
			fmt.Sprintf("http://127.0.0.1:%d/", st), "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(url.Values{"b": {"l"}, "s": {"s1"}, "action": {"maint"}}.Encode())
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/;st=DONE" {
		t.Fatalf("POST maint: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := pickCounts(t, fe, 6); got["s1"] != 0 || got["s2"] != 6 {
		t.Fatalf("after maint from the page: %v", got)
	}
	_, page := pageGet(t, st, "/;st=DONE", "", "")
	if !strings.Contains(page, `data-name="s1" data-state="MAINT"`) || !strings.Contains(page, "Action processed successfully.") {
		t.Fatalf("page does not show s1 in MAINT:\n%s", page)
	}
	if !strings.Contains(page, `name="s" value="s2"`) {
		t.Fatal("admin page without server checkboxes")
	}
	post(url.Values{"b": {"l"}, "s": {"s1"}, "action": {"ready"}}.Encode())
	post(url.Values{"b": {"l"}, "s": {"s2"}, "action": {"drain"}}.Encode())
	if got := pickCounts(t, fe, 6); got["s1"] != 6 {
		t.Fatalf("after ready s1, drain s2: %v", got)
	}
	_, csv := pageGet(t, st, "/;csv", "", "")
	sc := bufio.NewScanner(strings.NewReader(csv))
	found := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "l,s2,") && strings.Contains(sc.Text(), ",DRAIN,") {
			found = true
		}
	}
	if !found {
		t.Fatalf("CSV does not show s2 DRAIN:\n%s", csv)
	}
	if r := post("b=l&s=nosuch&action=maint"); r.Header.Get("Location") != "/;st=NONE" {
		t.Errorf("unknown server: %q", r.Header.Get("Location"))
	}
}
