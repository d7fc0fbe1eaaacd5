package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// denyConfig denies four ways: tarpit (500, and 429 given), reject and
// silent-drop; it logs each request and tracks the client.
func denyConfig(sock, logAddr string, port int) string {
	return loggedHTTP(sock, logAddr) + fmt.Sprintf(`    timeout tarpit 300ms
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 10 store http_req_cnt,http_err_cnt,conn_cnt
    http-request track-sc0 src
    http-request reject if { path /rej }
    http-request tarpit if { path /tar }
    http-request tarpit deny_status 429 if { path /tar429 }
    http-request silent-drop if { path /drop }
    http-request return status 200 if { path /ok }
`, port)
}

// TestTarpitRejectSilentDropAsHAProxy: through haproxy 2.6 and gohaka, a
// tarpitted request is answered after `timeout tarpit` with 500 (or its
// deny_status); a rejected one gets its connection closed with no
// answer; a silently dropped one gets nothing at all (not even the
// close) while the connection is forgotten. The log lines (PT--, PR--,
// status -1), the frontend's dreq and hrsp_* counters and the stick
// counters' http errors are the same.
func TestTarpitRejectSilentDropAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	run := func(start func(string), sock string) (answers, logs string) {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		port := freePort(t)
		start(denyConfig(sock, udp.pc.LocalAddr().String(), port))
		waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil && portOpen(port) }, "listener")
		udp.collect(300 * time.Millisecond) // the probe's line
		var out []string
		for _, p := range []string{"/tar", "/tar429", "/rej", "/drop", "/ok"} {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(1500 * time.Millisecond))
			start := time.Now()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", p)
			b := make([]byte, 4096)
			n, err := io.ReadAtLeast(c, b, 12)
			c.Close()
			held := time.Since(start) >= 250*time.Millisecond
			var ne net.Error
			switch {
			case n >= 12:
				out = append(out, fmt.Sprintf("%s %s held=%v", p, b[9:12], held))
			case errors.As(err, &ne) && ne.Timeout():
				out = append(out, p+" nothing")
			default:
				out = append(out, p+" closed")
			}
			// the answer reaches the client before the proxy's goroutine
			// logs it: let the line go before the next request's
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		var ls []string
		for _, l := range udp.collect(500 * time.Millisecond) {
			ls = append(ls, blankTimers(normLog(l)))
		}
		_, rows, _ := parseStat(t, cliQuery(t, "unix:"+sock, "show stat"))
		fe := rows["fe/FRONTEND"]
		for _, col := range []string{"dreq", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_tot"} {
			ls = append(ls, col+"="+fe[colIndex(col)])
		}
		ls = append(ls, tableLines(cliQuery(t, "unix:"+sock, "show table fe")))
		return strings.Join(out, "\n"), strings.Join(ls, "\n")
	}
	ha, hl := run(func(cfg string) { startHAProxyCfg(t, cfg) }, filepath.Join(dir, "h.sock"))
	gh, gl := run(func(cfg string) { startRuntime(t, cfg) }, filepath.Join(dir, "g.sock"))
	if ha != gh {
		t.Errorf("answers:\nhaproxy:\n%s\ngohaka:\n%s", ha, gh)
	}
	if hl != gl {
		t.Errorf("logs and counters:\nhaproxy:\n%s\ngohaka:\n%s", hl, gl)
	}
	if !strings.Contains(ha, "/tar 500 held=true") || !strings.Contains(ha, "/drop nothing") || !strings.Contains(ha, "/rej closed") {
		t.Errorf("haproxy's answers are not what the test expects:\n%s", ha)
	}
}
