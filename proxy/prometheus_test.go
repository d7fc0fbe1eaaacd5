package proxy

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
)

func promConfig(fe, prom int, sp []int, dead int) string {
	return fmt.Sprintf(`global
    nbthread 1
    maxconn 500
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe1
    bind 127.0.0.1:%d
    default_backend be1
backend be1
    server s1 127.0.0.1:%d maxconn 20
    server s2 127.0.0.1:%d check inter 100ms weight 3
    server s3 127.0.0.1:%d check inter 100ms fall 1
    server s4 127.0.0.1:%d disabled
frontend prom
    mode http
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    no log
`, fe, sp[0], sp[1], dead, sp[0], prom)
}

// promSample splits a sample line into "name{labels}" and value.
var promSample = regexp.MustCompile(`^(\S+) (\S+)$`)

// promVolatile are metrics that measure time, rates or the process
// itself (memory, tasks, descriptors): only their presence is compared.
var promVolatile = regexp.MustCompile(`^haproxy_process_|_seconds|_rate|check_duration|_max_session`)

// TestPrometheusMatchesHAProxy scrapes /metrics from haproxy 2.6's
// exporter and from gohaka after the same traffic: the same metric names
// with the same help, type and labels, in the same order, and the same
// values for the frontend, backend and server counters.
func TestPrometheusMatchesHAProxy(t *testing.T) {
	sp := replyServers(t, 2)
	dead := deadPort(t)
	hfe, hprom, gfe, gprom := freePort(t), freePort(t), freePort(t), freePort(t)
	startHAProxyCfg(t, promConfig(hfe, hprom, sp, dead))
	startRuntime(t, promConfig(gfe, gprom, sp, dead))
	scrape := func(port int) string {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return ""
		}
		c.Close()
		resp, body := pageGet(t, port, "/metrics", "", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("port %d: %d %q", port, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return body
	}
	ready := func(body string) bool {
		return strings.Contains(body, `haproxy_server_check_status{proxy="be1",server="s3",state="L4CON"} 1`) &&
			strings.Contains(body, `haproxy_server_check_status{proxy="be1",server="s2",state="L4OK"} 1`)
	}
	waitFor(t, func() bool { h, g := scrape(hprom), scrape(gprom); return ready(h) && ready(g) }, "checks in both")
	hit(t, hfe, 40)
	hit(t, gfe, 40)
	// Both proxies count a session's bytes when it ends, which can be
	// just after the client saw its reply end: compare once none is open.
	var h, g string
	closed := `haproxy_backend_current_sessions{proxy="be1"} 0`
	waitFor(t, func() bool {
		h, g = scrape(hprom), scrape(gprom)
		return strings.Contains(h, closed) && strings.Contains(g, closed)
	}, "sessions ended in both")
	hl, gl := strings.Split(strings.TrimSpace(h), "\n"), strings.Split(strings.TrimSpace(g), "\n")
	if len(hl) != len(gl) {
		t.Errorf("haproxy %d lines, gohaka %d", len(hl), len(gl))
	}
	compared := 0
	for i := 0; i < min(len(hl), len(gl)); i++ {
		a, b := hl[i], gl[i]
		if strings.HasPrefix(a, "#") || strings.HasPrefix(b, "#") {
			if a != b {
				t.Errorf("line %d: haproxy %q, gohaka %q", i+1, a, b)
			}
			continue
		}
		if strings.HasPrefix(a, "haproxy_process_build_info") { // the version label differs by design
			a, b = "haproxy_process_build_info 1", "haproxy_process_build_info 1"
		}
		ma, mb := promSample.FindStringSubmatch(a), promSample.FindStringSubmatch(b)
		if ma == nil || mb == nil || ma[1] != mb[1] {
			t.Errorf("line %d: haproxy %q, gohaka %q", i+1, a, b)
			continue
		}
		if promVolatile.MatchString(ma[1]) || strings.Contains(ma[1], `proxy="prom"`) || strings.HasPrefix(ma[1], "haproxy_server_need_connections") {
			continue
		}
		if ma[2] != mb[2] {
			t.Errorf("%s: haproxy %s, gohaka %s", ma[1], ma[2], mb[2])
		}
		compared++
	}
	t.Logf("%d lines, %d sample values compared equal", len(gl), compared)
	if !strings.Contains(g, `haproxy_backend_sessions_total{proxy="be1"} 40`) {
		t.Error("gohaka's be1 sessions_total is not 40")
	}
}
