package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// respRulesConfig has http-response rules that set and read variables,
// return, redirect and deny, and http-after-response rules that mark
// every answer (the server's and gohaka's own) with its status.
func respRulesConfig(sock, logAddr string, fe, be int) string {
	return loggedHTTP(sock, logAddr) + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    http-after-response set-header x-after yes
    http-after-response set-header x-st-after %%[status]
    http-after-response set-status 299 reason Renamed if { status 201 }
    http-request set-var(txn.p) path
    http-request set-var(txn.first) http_first_req
    http-request set-var(txn.pq) pathq
    http-after-response set-header x-first %%[var(txn.first)]
    http-after-response set-header x-pq %%[var(txn.pq)]
    http-request deny deny_status 429 if { path /reqdeny }
    http-request return status 201 content-type text/plain string made if { path /made }
    default_backend be
backend be
    http-response set-var(txn.sv) res.hdr(x-s)
    http-response set-header x-var %%[var(txn.sv)]
    http-response return status 404 content-type text/plain string gone if { var(txn.p) -m str /ret }
    http-response redirect location /elsewhere if { var(txn.p) -m str /redir }
    http-response deny if { var(txn.p) -m str /deny }
    http-response deny deny_status 403 if { var(txn.p) -m str /deny403 }
    http-after-response del-header x-s
    server s1 127.0.0.1:%d
`, fe, be)
}

// loggedHTTP is the global and defaults sections of the differential
// tests that read the stats socket and the log lines: an admin socket at
// sock, logs to logAddr, mode http with option httplog.
func loggedHTTP(sock, logAddr string) string {
	return fmt.Sprintf("global\n    stats socket %s level admin\n    log %s local0\n", sock, logAddr) +
		"defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
}

// TestResponseRulesAsHAProxy: http-response set-var, return, redirect
// and deny (502 by default) and http-after-response rules (on the
// server's answers, on answers the request rules made and on those the
// response rules made) give the same status lines, headers and bodies
// through haproxy 2.6 and gohaka, two requests per connection (the
// fetches http_first_req and pathq too), and the same dresp counters.
func TestResponseRulesAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	srvCfg := func(port int) string {
		return fmt.Sprintf("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"+
			"frontend srv\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string ok hdr x-s fromserver\n", port)
	}
	bp := freePort(t)
	runHAProxy(t, srvCfg(bp), bp)
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	startHAProxyCfg(t, respRulesConfig(hs, hlog.pc.LocalAddr().String(), hp, bp))
	startRuntime(t, respRulesConfig(gs, glog.pc.LocalAddr().String(), gp, bp))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	portOpen(gp)
	hlog.collect(300 * time.Millisecond) // the probes' lines
	glog.collect(300 * time.Millisecond)
	norm := func(out string) string {
		head, body, _ := strings.Cut(out, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		var keep []string
		for _, l := range lines[1:] {
			if !strings.HasPrefix(strings.ToLower(l), "date:") {
				keep = append(keep, strings.ToLower(l))
			}
		}
		sort.Strings(keep)
		return lines[0] + " | " + strings.Join(keep, " | ") + " | " + body
	}
	for _, p := range []string{"/a", "/ret", "/redir", "/deny", "/deny403", "/reqdeny", "/made", "/a?x=1"} {
		req := "GET " + p + " HTTP/1.1\r\nHost: h\r\n\r\n"
		h := norm(rawExchange(t, hp, req+strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1), 2*time.Second))
		g := norm(rawExchange(t, gp, req+strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1), 2*time.Second))
		if h != g {
			t.Errorf("%s twice:\nhaproxy %q\ngohaka  %q", p, h, g)
		}
	}
	// the log lines (PH-- for a denied response, LH-- for one a rule
	// answered) and the denial and status counters
	sameLogsAndCounters(t, hlog, glog, hs, gs, []string{"dreq", "dresp", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "req_tot"})
}

// sameLogsAndCounters compares the log lines two sinks got (timers
// blanked, in order of their text: connections' lines interleave) and
// the columns cols of the rows fe/FRONTEND, be/BACKEND and be/s1 at the
// stats sockets hs (haproxy's) and gs (gohaka's).
func sameLogsAndCounters(t *testing.T, hlog, glog *logSink, hs, gs string, cols []string) {
	t.Helper()
	logs := func(s *logSink) string {
		var ls []string
		for _, l := range s.collect(300 * time.Millisecond) {
			ls = append(ls, blankTimers(normLog(l)))
		}
		sort.Strings(ls)
		return strings.Join(ls, "")
	}
	if h, g := logs(hlog), logs(glog); h != g {
		t.Errorf("log lines:\nhaproxy:\n%s\ngohaka:\n%s", h, g)
	}
	_, hrows, _ := parseStat(t, cliQuery(t, "unix:"+hs, "show stat"))
	_, grows, _ := parseStat(t, cliQuery(t, "unix:"+gs, "show stat"))
	for _, row := range []string{"fe/FRONTEND", "be/BACKEND", "be/s1"} {
		for _, col := range cols {
			if h, g := hrows[row][colIndex(col)], grows[row][colIndex(col)]; h != g {
				t.Errorf("%s %s: haproxy %s, gohaka %s", row, col, h, g)
			}
		}
	}
}

// blankTimers blanks the numbers of a log line's slash-separated fields
// (timers, connection counts) but the -1 that say a step did not happen.
func blankTimers(l string) string {
	return regexp.MustCompile(` -?\d+(/-?\d+){4} `).ReplaceAllStringFunc(l, func(f string) string {
		parts := strings.Split(strings.TrimSpace(f), "/")
		for i, p := range parts {
			if p != "-1" {
				parts[i] = "N"
			}
		}
		return " " + strings.Join(parts, "/") + " "
	})
}
