package main

import (
	"strings"
	"testing"

	"github.com/gohaka/gohaka/vrrp"
)

// TestVRRPMetrics renders two instances and checks names, labels and
// values line by line.
func TestVRRPMetrics(t *testing.T) {
	var s vrrpSeen
	s.set("VI_2", vrrp.Backup, 90)
	s.set("VI_1", vrrp.Master, 150)
	out := s.metrics()
	for _, want := range []string{
		"# TYPE gohaka_vrrp_state gauge\n",
		`gohaka_vrrp_state{instance="VI_1",state="MASTER"} 1` + "\n",
		`gohaka_vrrp_state{instance="VI_1",state="BACKUP"} 0` + "\n",
		`gohaka_vrrp_state{instance="VI_2",state="BACKUP"} 1` + "\n",
		`gohaka_vrrp_priority{instance="VI_1"} 150` + "\n",
		`gohaka_vrrp_priority{instance="VI_2"} 90` + "\n",
		`gohaka_vrrp_adverts_sent_total{instance="VI_1"} 0` + "\n",
		`gohaka_vrrp_bad_packets_total{instance="VI_2",reason="auth"} 0` + "\n",
		"# TYPE gohaka_vrrp_transitions_total counter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Index(out, `instance="VI_1"`) > strings.Index(out, `instance="VI_2"`) {
		t.Error("instances are not in name order")
	}
	s.drop("VI_1")
	s.drop("VI_2")
	if s.metrics() != "" {
		t.Error("metrics left after the instances stopped")
	}
	m := renderVRRPMetrics([]vrrpMetric{{name: "X", state: vrrp.Fault, counters: vrrp.Counters{AdvertsSent: 7, Transitions: 3,
		Dropped: map[vrrp.DropReason]int{vrrp.DropTTL: 2}}}})
	for _, want := range []string{`gohaka_vrrp_state{instance="X",state="FAULT"} 1`, `gohaka_vrrp_adverts_sent_total{instance="X"} 7`,
		`gohaka_vrrp_bad_packets_total{instance="X",reason="ttl"} 2`, `gohaka_vrrp_transitions_total{instance="X"} 3`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
}
