package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// counterConfig tracks each client three ways: sc1 by address for the
// connection (tcp-request connection), sc0 by address per request in
// the frontend's own table, sc2 by path for paths under /p.
func counterConfig(sock string, fe, srv int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
backend per_path
    stick-table type string len 8 size 100 expire 30s store conn_cnt,conn_cur,http_req_cnt,http_err_cnt,bytes_in_cnt,bytes_out_cnt
backend per_conn
    stick-table type ip size 100 expire 30s store conn_cnt,conn_cur,conn_rate(10s),sess_cnt,sess_rate(10s),http_req_cnt,http_req_rate(10s),http_err_cnt,bytes_in_cnt,bytes_out_cnt,gpc1
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store gpc0,gpc0_rate(10s),conn_cnt,conn_rate(10s),conn_cur,http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(10s),bytes_in_cnt,bytes_out_cnt,gpc1,http_fail_cnt,http_fail_rate(10s)
    tcp-request connection track-sc1 src table per_conn
    http-request track-sc0 src
    tcp-request content sc-inc-gpc1(1)
    http-request track-sc2 path table per_path if { path_beg /p }
    http-request sc-inc-gpc0(0) if { path_beg /inc }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 12 }
    http-request deny if { path /deny }
    http-request auth if { path /auth }
    http-request redirect location /x if { path /redir }
    http-request return status 200 content-type text/plain lf-string "r=%%[sc_http_req_rate(0)] n1=%%[sc1_http_req_cnt] c=%%[sc_conn_cur(0)] s=%%[src_http_req_rate] g=%%[sc_get_gpc0(0)] t=%%[sc_tracked(2)] cc=%%[sc2_conn_cnt] none=%%[sc2_http_req_rate] x=%%[sc_http_req_cnt(1,per_path)] k=%%[sc0_kbytes_in] tb=%%[src,table_http_req_cnt(fe)] tp=%%[str(/p1),table_http_req_cnt(per_path)] tg=%%[src,table_gpc0(fe)] tn=%%[path,table_http_req_rate(per_path)] i=%%[src_inc_gpc1] sid=%%[src,table_server_id(sticky)] sfe=%%[src,table_server_id(fe)] snone=%%[str(/zz),table_server_id(per_path)] in=%%[src,in_table(fe)] inp=%%[str(/zz),in_table(per_path)]\n" if { path_beg /show }
    http-request return status 202 if { src,table_http_req_cnt(fe) eq 3 } { path /a }
    use_backend sticky if { path /st }
    default_backend be
backend be
    server s1 127.0.0.1:%[3]d
backend sticky
    stick-table type ip size 100 expire 30s
    stick on src
    server sa 127.0.0.1:%[3]d
    server sb 127.0.0.1:%[3]d
`, sock, fe, srv)
}

// askFrom sends paths one after the other on one keep-alive connection
// from address src and returns "status body" for each.
func askFrom(t *testing.T, port int, src string, paths []string) []string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []string
	for _, p := range paths {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s from %s: %v", p, src, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))))
		if resp.Close {
			break
		}
	}
	return out
}

// tableLines are a `show table` answer's lines without what differs by
// design: the entry's address, its expiry in ms and its use count
// (haproxy 2.6 does not always give its references back).
var tableVolatile = regexp.MustCompile(`^0x[0-9a-f]+: |exp=[0-9]+ |use=[0-9]+ `)

func tableLines(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, tableVolatile.ReplaceAllString(l, ""))
	}
	return strings.Join(out, "\n")
}

// TestStickCountersAsHAProxy sends the same requests from four client
// addresses through haproxy 2.6 and gohaka with the same stick-counter
// config: server answers (200, 404, 500), denials, an auth challenge, a
// redirect, the counters read back in a lf-string body, sc-inc-gpc0, and
// table_* converters (also in an ACL), src_inc_gpc1, the usual rate limit (deny 429 once sc_http_req_rate(0) passes 12).
// The statuses, the bodies and `show table` of the three tables (every
// counter and rate) are the same.
func TestStickCountersAsHAProxy(t *testing.T) {
	srv := statusServer(t, "s1")
	dir := t.TempDir()
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	startHAProxyCfg(t, counterConfig(hs, hp, srv))
	startRuntime(t, counterConfig(gs, gp, srv))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	type visit struct {
		src   string
		paths []string
	}
	visits := []visit{
		{"127.0.0.2", []string{"/show", "/a", "/404", "/show", "/p1", "/p1", "/p2/longer/than/eight", "/st", "/show"}},
		{"127.0.0.3", []string{"/st", "/st", "/show"}},
		{"127.0.0.2", []string{"/500", "/deny", "/auth", "/redir", "/inc", "/inc", "/show"}},
		{"127.0.0.3", []string{"/p1", "/show", "/inc", "/pshow"}},
		{"127.0.0.4", []string{"/show"}},
		{"127.0.0.2", []string{"/show", "/a", "/a", "/show", "/a"}}, // past 12 requests: 429, which closes
		{"127.0.0.2", []string{"/show"}},
		{"127.0.0.5", []string{"/a", "/p1", "/a", "/show"}}, // the third: 202 by the table_ ACL
	}
	portOpen(gp) // haproxy's readiness check made one empty connection: so does gohaka's
	var all []string
	for i, v := range visits {
		h, g := askFrom(t, hp, v.src, v.paths), askFrom(t, gp, v.src, v.paths)
		all = append(all, h...)
		if strings.Join(h, "\n") != strings.Join(g, "\n") {
			t.Errorf("visit %d from %s %v:\nhaproxy:\n%s\ngohaka:\n%s", i, v.src, v.paths, strings.Join(h, "\n"), strings.Join(g, "\n"))
		}
	}
	if j := strings.Join(all, "\n"); !strings.Contains(j, "202 ") || !strings.Contains(j, "429 ") || !strings.Contains(j, "tp=2") || !strings.Contains(j, "sid=1") || !strings.Contains(j, "sid=2") || !strings.Contains(j, "sfe= ") || !strings.Contains(j, "snone=0") || !strings.Contains(j, "in=1 inp=0") {
		t.Errorf("haproxy's answers lack a 202, a 429, tp=2, sid=1, sid=2, sfe=, snone=0 or in=1 inp=0: the test does not test what it says:\n%s", j)
	}
	time.Sleep(100 * time.Millisecond) // the last connection's end
	for _, table := range []string{"fe", "per_conn", "per_path", "sticky"} {
		h := tableLines(cliQuery(t, "unix:"+hs, "show table "+table))
		g := tableLines(cliQuery(t, "unix:"+gs, "show table "+table))
		if h != g {
			t.Errorf("show table %s:\nhaproxy:\n%s\ngohaka:\n%s", table, h, g)
		}
	}
	h, g := cliQuery(t, "unix:"+hs, "show table"), cliQuery(t, "unix:"+gs, "show table")
	if h != g {
		t.Errorf("show table:\nhaproxy:\n%s\ngohaka:\n%s", h, g)
	}
	for _, c := range []string{"clear table per_path", "show table per_path", "clear table nope"} {
		if h, g := cliQuery(t, "unix:"+hs, c), cliQuery(t, "unix:"+gs, c); h != g {
			t.Errorf("%s: haproxy %q, gohaka %q", c, h, g)
		}
	}
}

// tcpCounterConfig limits each client address to five connections per
// ten seconds (tcp-request connection) and also tracks it per
// connection in a second table (tcp-request content).
func tcpCounterConfig(sock string, fe, srv int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
backend t2
    stick-table type ipv6 size 100 expire 30s store conn_cnt,conn_cur,sess_cnt,bytes_in_cnt,bytes_out_cnt,http_req_cnt
frontend ft
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store conn_cnt,conn_cur,conn_rate(10s),sess_cnt,sess_rate(10s),bytes_in_cnt,bytes_out_cnt,gpc0
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc_conn_rate(0) gt 5 }
    tcp-request content track-sc1 src table t2
    tcp-request content sc-inc-gpc0(0) if { src 127.0.0.2 }
    default_backend bt
backend bt
    server s1 127.0.0.1:%d
`, sock, fe, srv)
}

// TestTCPStickCountersAsHAProxy: in tcp mode, seven connections from
// one address and two from another through haproxy 2.6 and gohaka with
// a connection-rate limit: the same connections are answered and
// rejected, and `show table` of both tables is the same.
func TestTCPStickCountersAsHAProxy(t *testing.T) {
	srv := replyServers(t, 1)[0]
	dir := t.TempDir()
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	startHAProxyCfg(t, tcpCounterConfig(hs, hp, srv))
	startRuntime(t, tcpCounterConfig(gs, gp, srv))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil }, "haproxy")
	once := func(port int, src string) string {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return "" // a reset can come before the connect is seen done
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hello\n")
		b, _ := io.ReadAll(c)
		return strings.TrimSpace(string(b))
	}
	srcs := []string{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.2"}
	var h, g []string
	for _, s := range srcs {
		h, g = append(h, once(hp, s)), append(g, once(gp, s))
	}
	if strings.Join(h, ",") != strings.Join(g, ",") {
		t.Errorf("answers:\nhaproxy %q\ngohaka  %q", h, g)
	}
	if h[5] == "" || h[6] != "" || h[8] != "" {
		t.Errorf("haproxy's answers %q: the limit is not where the test thinks (5 connections from 127.0.0.2)", h)
	}
	time.Sleep(100 * time.Millisecond)
	for _, table := range []string{"ft", "t2"} {
		h := tableLines(cliQuery(t, "unix:"+hs, "show table "+table))
		g := tableLines(cliQuery(t, "unix:"+gs, "show table "+table))
		if h != g {
			t.Errorf("show table %s:\nhaproxy:\n%s\ngohaka:\n%s", table, h, g)
		}
	}
}
