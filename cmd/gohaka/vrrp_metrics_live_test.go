package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// getInNS fetches an http path from inside a network namespace (the
// socket is made on a thread switched into it, see inNS).
func getInNS(t *testing.T, ns, addr, path string) (string, error) {
	var body string
	var err error
	inNS(t, ns, func() {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
		var b []byte
		b, err = io.ReadAll(c)
		body = string(b)
	})
	return body, err
}

// TestVRRPMetricsLive: `gohaka run` with a running VRRP instance and the
// Prometheus exporter: once master, the exporter shows the instance in
// MASTER with its priority, adverts sent and transitions.
func TestVRRPMetricsLive(t *testing.T) {
	t.Parallel()
	ns := vrrpHosts(t, 1)[0]
	bin := vrrpBinary(t)
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cfg, []byte("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n"+
		"frontend metrics\n    bind 127.0.0.1:8405\n    http-request use-service prometheus-exporter if { path /metrics }\n"+
		"    http-request return status 404 content-type text/plain string \"no\\n\"\n"), 0o644)
	startInNS(t, ns, bin, "run", "-f", cfg, "-k", kaConf(t, "MASTER", 150))
	waitVIP(t, ns, true, 15*time.Second)
	time.Sleep(1500 * time.Millisecond) // an advert or two as master
	body, err := getInNS(t, ns, "127.0.0.1:8405", "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`gohaka_vrrp_state{instance="VI_1",state="MASTER"} 1`,
		`gohaka_vrrp_priority{instance="VI_1"} 150`,
		`haproxy_process_`,
	} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(body) {
			t.Errorf("exporter lacks %q", want)
		}
	}
	for _, name := range []string{"gohaka_vrrp_adverts_sent_total", "gohaka_vrrp_transitions_total"} {
		m := regexp.MustCompile(name + `\{instance="VI_1"\} (\d+)`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("no %s for VI_1", name)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n < 1 {
			t.Errorf("%s = %d after becoming master", name, n)
		}
	}
	if t.Failed() {
		t.Logf("exporter:\n%s", body)
	}
}
