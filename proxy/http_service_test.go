package proxy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// serviceConfig is an http listen that forwards and also serves its
// stats page, and an http frontend that forwards and also serves the
// Prometheus exporter on /metrics.
func serviceConfig(web, fe int, sp []int) string {
	return fmt.Sprintf(`global
    nbthread 1
    maxconn 500
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen web
    bind 127.0.0.1:%d
    stats enable
    stats uri /admin?stats
    stats auth admin:secret
    balance uri
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d
frontend fe1
    bind 127.0.0.1:%d
    http-request deny if { path_beg /deny }
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be1
backend be1
    balance uri
    server s3 127.0.0.1:%d
    server s4 127.0.0.1:%d
`, web, sp[0], sp[1], fe, sp[2], sp[3])
}

// pageOnlyCols are not compared in the stats proxy's rows: its page's HTML
// is not haproxy's byte for byte (bin/bout), and haproxy counts its
// page answers as client aborts.
var pageOnlyCols = map[string]bool{"bin": true, "bout": true, "cli_abrt": true}

// TestHTTPStatsAndExporterInForwardingProxies runs the same config in
// haproxy 2.6 and gohaka: a listen that forwards and serves its stats
// page on its stats uri (behind stats auth), a frontend that forwards
// and serves the exporter on /metrics. Other requests are forwarded
// (same statuses); the page's ;csv export and the exporter's samples
// agree between the two (the http counters included), except the idle
// server connections (haproxy pools them, gohaka does not) and pageOnlyCols.
func TestHTTPStatsAndExporterInForwardingProxies(t *testing.T) {
	sp := []int{statusServer(t, "s1"), statusServer(t, "s2"), statusServer(t, "s3"), statusServer(t, "s4")}
	hw, hf, gw, gf := freePort(t), freePort(t), freePort(t), freePort(t)
	startHAProxyCfg(t, serviceConfig(hw, hf, sp))
	g := startRuntime(t, serviceConfig(gw, gf, sp))
	waitFor(t, func() bool { return portOpen(hf) && portOpen(hw) }, "haproxy")
	portOpen(gf) // the same empty connections in gohaka
	portOpen(gw)
	paths := httpTraffic(1, 40)
	for _, ports := range [][2]int{{hw, gw}, {hf, gf}} {
		hc, _, _ := sendHTTP(t, ports[0], paths)
		gc, _, _ := sendHTTP(t, ports[1], paths)
		if fmt.Sprint(hc) != fmt.Sprint(gc) {
			t.Errorf("statuses differ:\nhaproxy %v\ngohaka  %v", hc, gc)
		}
	}
	// the page: 401 without credentials, the CSV with them
	if resp, _ := pageGet(t, gw, "/admin?stats", "", ""); resp.StatusCode != 401 {
		t.Errorf("gohaka's page without credentials: %d, want 401", resp.StatusCode)
	}
	if resp, body := pageGet(t, gw, "/admin?stats", "admin", "secret"); resp.StatusCode != 200 || !strings.Contains(body, "s2") {
		t.Errorf("gohaka's page: %d", resp.StatusCode)
	}
	pageGet(t, hw, "/admin?stats", "", "")
	pageGet(t, hw, "/admin?stats", "admin", "secret")
	// connections the clients closed are counted out once gohaka has seen
	// their end: under load that can come after the next request starts
	waitFor(t, func() bool {
		for _, fe := range g.frontends {
			if fe.px.Name == "web" && fe.ctr.scur.Load() > 1 {
				return false
			}
		}
		return true
	}, "gohaka to count out the closed connections")
	hresp, hcsv := pageGet(t, hw, "/admin?stats;csv", "admin", "secret")
	gresp, gcsv := pageGet(t, gw, "/admin?stats;csv", "admin", "secret")
	if hresp.StatusCode != 200 || gresp.StatusCode != 200 {
		t.Fatalf("csv: haproxy %d, gohaka %d", hresp.StatusCode, gresp.StatusCode)
	}
	compared := compareHTTPStats(t, hcsv, gcsv, func(row, col string) bool {
		return strings.HasPrefix(row, "web/") && pageOnlyCols[col]
	})
	// the exporter on the forwarding frontend; a request is counted once
	// its answer has been sent, so let the CSV request's books close
	time.Sleep(200 * time.Millisecond)
	_, hm := pageGet(t, hf, "/metrics", "", "")
	_, gm := pageGet(t, gf, "/metrics", "", "")
	hl, gl := strings.Split(strings.TrimSpace(hm), "\n"), strings.Split(strings.TrimSpace(gm), "\n")
	if len(hl) != len(gl) {
		t.Errorf("exporter: haproxy %d lines, gohaka %d", len(hl), len(gl))
	}
	samples := 0
	for i := 0; i < min(len(hl), len(gl)); i++ {
		a, b := hl[i], gl[i]
		if strings.HasPrefix(a, "#") {
			if a != b {
				t.Errorf("exporter line %d: haproxy %q, gohaka %q", i+1, a, b)
			}
			continue
		}
		ma, mb := promSample.FindStringSubmatch(a), promSample.FindStringSubmatch(b)
		if ma == nil || mb == nil || ma[1] != mb[1] {
			if !strings.HasPrefix(a, "haproxy_process_build_info") {
				t.Errorf("exporter line %d: haproxy %q, gohaka %q", i+1, a, b)
			}
			continue
		}
		if promVolatile.MatchString(ma[1]) || strings.Contains(ma[1], "idle_connections") ||
			strings.Contains(ma[1], `proxy="web"`) && (strings.Contains(ma[1], "_bytes_") || strings.Contains(ma[1], "client_aborts")) || strings.HasPrefix(ma[1], "haproxy_server_need_connections") ||
			strings.Contains(ma[1], "connection_attempts_total") || strings.Contains(ma[1], "connection_reuses_total") ||
			strings.Contains(ma[1], "_bytes_") && strings.Contains(ma[1], `proxy="fe1"`) {
			continue
		}
		if ma[2] != mb[2] {
			t.Errorf("exporter %s: haproxy %s, gohaka %s", ma[1], ma[2], mb[2])
		}
		samples++
	}
	if !strings.Contains(gm, `haproxy_frontend_http_requests_total{proxy="fe1"} 42`) {
		t.Errorf("gohaka's exporter does not count fe1's 42 requests (an empty connection, 40, the scrape)")
	}
	t.Logf("csv: %d fields compared; exporter: %d lines, %d samples compared", compared, len(gl), samples)
}
