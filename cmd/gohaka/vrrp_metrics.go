package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gohaka/gohaka/vrrp"
)

// speakers returns the running speakers, by instance name.
func (v *vrrpSet) speakers() []*vrrp.Speaker {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*vrrp.Speaker
	for _, r := range v.running {
		out = append(out, r.sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// writeVRRPMetrics writes the gohaka_vrrp_* metrics of the running
// instances in Prometheus' text format. States are numbered as in
// keepalived's SNMP MIB: 0 init, 1 backup, 2 master, 3 fault.
func writeVRRPMetrics(w io.Writer, sps []*vrrp.Speaker) {
	type sample struct {
		labels string
		value  int
	}
	metrics := []struct {
		name, help, typ string
		get             func(c vrrp.Counters) []sample
	}{
		{"gohaka_vrrp_state", "VRRP instance state (0 init, 1 backup, 2 master, 3 fault).", "gauge",
			func(c vrrp.Counters) []sample { return []sample{{"", int(c.State)}} }},
		{"gohaka_vrrp_priority", "Effective priority of the instance.", "gauge",
			func(c vrrp.Counters) []sample { return []sample{{"", c.Priority}} }},
		{"gohaka_vrrp_adverts_sent_total", "Advertisements sent.", "counter",
			func(c vrrp.Counters) []sample { return []sample{{"", c.AdvertsSent}} }},
		{"gohaka_vrrp_adverts_received_total", "Valid advertisements received.", "counter",
			func(c vrrp.Counters) []sample { return []sample{{"", c.AdvertsReceived}} }},
		{"gohaka_vrrp_transitions_total", "State transitions.", "counter",
			func(c vrrp.Counters) []sample { return []sample{{"", c.Transitions}} }},
		{"gohaka_vrrp_bad_packets_total", "Received packets dropped, by reason.", "counter",
			func(c vrrp.Counters) []sample {
				var out []sample
				for _, r := range dropReasons {
					out = append(out, sample{fmt.Sprintf(",reason=%q", string(r)), c.Dropped[r]})
				}
				return out
			}},
	}
	stats := make([]vrrp.Counters, len(sps))
	for i, sp := range sps {
		stats[i] = sp.Stats()
	}
	for _, m := range metrics {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for i, sp := range sps {
			base := fmt.Sprintf("instance=%q,interface=%q,vrid=\"%d\"", promEscape(sp.Name()), promEscape(sp.Interface()), sp.VRID())
			for _, s := range m.get(stats[i]) {
				fmt.Fprintf(w, "%s{%s%s} %d\n", m.name, base, s.labels, s.value)
			}
		}
	}
}

// dropReasons are every reason a received packet can be dropped for.
var dropReasons = []vrrp.DropReason{vrrp.DropShort, vrrp.DropTTL, vrrp.DropVersion, vrrp.DropType, vrrp.DropLength,
	vrrp.DropChecksum, vrrp.DropAuth, vrrp.DropInterval, vrrp.DropVRID, vrrp.DropFamily}

// promEscape keeps a label value inside its quotes (%q already escapes
// quotes and backslashes; newlines become \n).
func promEscape(s string) string { return strings.ReplaceAll(s, "\n", " ") }
