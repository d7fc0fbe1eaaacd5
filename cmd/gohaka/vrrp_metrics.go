package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gohaka/gohaka/vrrp"
)

// vrrpSeen keeps what the metrics show of each running VRRP instance:
// its last state and priority (from the state callbacks) and its speaker
// (for the counters). It is safe to read while the speakers run.
type vrrpSeen struct {
	mu sync.Mutex
	m  map[string]*seenInstance
}

type seenInstance struct {
	state vrrp.State
	prio  int
	sp    *vrrp.Speaker
}

func (s *vrrpSeen) get(name string) *seenInstance {
	if s.m == nil {
		s.m = map[string]*seenInstance{}
	}
	in := s.m[name]
	if in == nil {
		in = &seenInstance{}
		s.m[name] = in
	}
	return in
}

func (s *vrrpSeen) set(name string, st vrrp.State, prio int) {
	s.mu.Lock()
	in := s.get(name)
	in.state, in.prio = st, prio
	s.mu.Unlock()
}

func (s *vrrpSeen) speaker(name string, sp *vrrp.Speaker) {
	s.mu.Lock()
	s.get(name).sp = sp
	s.mu.Unlock()
}

func (s *vrrpSeen) drop(name string) {
	s.mu.Lock()
	delete(s.m, name)
	s.mu.Unlock()
}

// vrrpMetric is one instance's figures for the exposition.
type vrrpMetric struct {
	name     string
	state    vrrp.State
	prio     int
	counters vrrp.Counters
}

// metrics renders gohaka_vrrp_* for the running instances.
func (s *vrrpSeen) metrics() string {
	s.mu.Lock()
	var list []vrrpMetric
	for name, in := range s.m {
		m := vrrpMetric{name: name, state: in.state, prio: in.prio}
		if in.sp != nil {
			m.counters = in.sp.Stats()
		}
		list = append(list, m)
	}
	s.mu.Unlock()
	return renderVRRPMetrics(list)
}

// vrrpDropReasons are the reasons a received advert is refused, in the
// vrrp package's words.
var vrrpDropReasons = []vrrp.DropReason{vrrp.DropShort, vrrp.DropTTL, vrrp.DropVersion, vrrp.DropType, vrrp.DropLength,
	vrrp.DropChecksum, vrrp.DropAuth, vrrp.DropInterval, vrrp.DropVRID, vrrp.DropFamily}

// renderVRRPMetrics writes the Prometheus exposition of the instances,
// in the exporter's style: one gauge per state label, counters _total.
func renderVRRPMetrics(list []vrrpMetric) string {
	if len(list) == 0 {
		return ""
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	var b strings.Builder
	head := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP gohaka_vrrp_%s %s\n# TYPE gohaka_vrrp_%s %s\n", name, help, name, typ)
	}
	head("state", "gauge", "Current state of the VRRP instance, per state label value.")
	for _, m := range list {
		for _, st := range []vrrp.State{vrrp.Init, vrrp.Backup, vrrp.Master, vrrp.Fault} {
			v := 0
			if m.state == st {
				v = 1
			}
			fmt.Fprintf(&b, "gohaka_vrrp_state{instance=%q,state=%q} %d\n", m.name, st.String(), v)
		}
	}
	head("priority", "gauge", "Effective priority of the VRRP instance at its last state change.")
	for _, m := range list {
		fmt.Fprintf(&b, "gohaka_vrrp_priority{instance=%q} %d\n", m.name, m.prio)
	}
	head("adverts_sent_total", "counter", "Total number of VRRP adverts sent by the instance.")
	for _, m := range list {
		fmt.Fprintf(&b, "gohaka_vrrp_adverts_sent_total{instance=%q} %d\n", m.name, m.counters.AdvertsSent)
	}
	head("adverts_received_total", "counter", "Total number of valid VRRP adverts received by the instance.")
	for _, m := range list {
		fmt.Fprintf(&b, "gohaka_vrrp_adverts_received_total{instance=%q} %d\n", m.name, m.counters.AdvertsReceived)
	}
	head("bad_packets_total", "counter", "Total number of received VRRP packets dropped, per reason.")
	for _, m := range list {
		for _, r := range vrrpDropReasons {
			fmt.Fprintf(&b, "gohaka_vrrp_bad_packets_total{instance=%q,reason=%q} %d\n", m.name, string(r), m.counters.Dropped[r])
		}
	}
	head("transitions_total", "counter", "Total number of state transitions of the instance.")
	for _, m := range list {
		fmt.Fprintf(&b, "gohaka_vrrp_transitions_total{instance=%q} %d\n", m.name, m.counters.Transitions)
	}
	return b.String()
}
