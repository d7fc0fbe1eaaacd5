package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServerClosedKeepAliveAsHAProxy: a server that closes without a
// response gets the client a 502 (SH-- in the log) on its connection's
// first request; on a later one haproxy 2.6 closes the client connection
// without an answer and without a log line, for the client to retry, and
// counts no error. A tcp-request content reject in http mode logs
// "<BADREQ>" (the server here is haproxy itself, rejecting /drop).
func TestServerClosedKeepAliveAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	bp := freePort(t)
	runHAProxy(t, fmt.Sprintf(httpDefaults+`frontend srv
    bind 127.0.0.1:%d
    tcp-request content reject if { path /drop }
    http-request return status 200
`, bp), bp)
	cfg := func(sock, logAddr string, port int) string {
		return loggedHTTP(sock, logAddr) + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    tcp-request content reject if { path /reject }
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, bp)
	}
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hp, gp := freePort(t), freePort(t)
	hlog, glog := newLogSink(t, "udp", "127.0.0.1:0"), newLogSink(t, "udp", "127.0.0.1:0")
	startHAProxyCfg(t, cfg(hs, hlog.pc.LocalAddr().String(), hp))
	startRuntime(t, cfg(gs, glog.pc.LocalAddr().String(), gp))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hp) }, "haproxy")
	portOpen(gp)
	hlog.collect(300 * time.Millisecond) // the probes' lines
	glog.collect(300 * time.Millisecond)
	for _, paths := range [][]string{{"/drop", "/drop"}, {"/ok", "/drop"}, {"/ok", "/ok", "/drop"}, {"/ok", "/reject"}} {
		h, g := askInTurn(t, hp, "", paths...), askInTurn(t, gp, "", paths...)
		if h != g {
			t.Errorf("%v:\nhaproxy: %s\ngohaka:  %s", paths, h, g)
		}
	}
	sameLogsAndCounters(t, hlog, glog, hs, gs, []string{"eresp", "dreq", "hrsp_2xx", "hrsp_5xx", "req_tot", "wretr", "stot", "econ", "cli_abrt", "srv_abrt"})
}
