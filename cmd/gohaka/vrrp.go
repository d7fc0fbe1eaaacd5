package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gohaka/gohaka/check/track"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/vrrp"
)

// vrrpSet runs one speaker per vrrp_instance and applies reloads as a
// diff: an instance whose settings did not change keeps its speaker, state
// and timers; a removed one shuts down (priority 0, VIPs removed); a new or
// changed one starts.
type vrrpSet struct {
	logf    func(string, ...any)
	running map[string]*runningSpeaker
	groups  syncGroups
	seen    vrrpSeen // states and priorities for gohaka_vrrp_* metrics
}

type runningSpeaker struct {
	key    string
	cancel func()
	done   chan struct{}
	sp     *vrrp.Speaker
}

// apply makes the running speakers match k; on error nothing changes.
func (v *vrrpSet) apply(k *parser.Keepalived) error {
	if v.running == nil {
		v.running = map[string]*runningSpeaker{}
	}
	type todo struct {
		in  *parser.VRRPInstance
		sc  vrrp.SpeakerConfig
		key string
	}
	var start []todo
	want := map[string]bool{}
	if k != nil {
		for _, in := range k.Instances {
			sc, err := speakerConfig(k, in, v.logf)
			if err != nil {
				return err
			}
			key := instanceKey(k, in)
			want[in.Name] = true
			if r := v.running[in.Name]; r != nil && r.key == key {
				continue
			}
			start = append(start, todo{in, sc, key})
		}
	}
	speakers := make([]*vrrp.Speaker, len(start))
	for n, t := range start {
		own := t.sc.OnState
		v.seen.set(t.in.Name, vrrp.Init, t.sc.Priority)
		t.sc.OnState = func(name string, st vrrp.State, prio int, synced bool) {
			v.seen.set(name, st, prio)
			own(name, st, prio, synced)
			v.groups.observe(name, st, synced)
		}
		sp, err := vrrp.NewSpeaker(t.sc)
		if err != nil {
			for _, made := range speakers[:n] {
				made.Close()
			}
			return fmt.Errorf("%s: %v", t.in.Pos, err)
		}
		speakers[n] = sp
	}
	v.groups.logf = v.logf
	v.groups.configure(k)
	for name, r := range v.running {
		changed := false
		for _, t := range start {
			changed = changed || t.in.Name == name
		}
		if !want[name] || changed {
			r.cancel()
			<-r.done
			delete(v.running, name)
			v.seen.drop(name)
			v.groups.register(name, nil)
		}
	}
	for n, t := range start {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		sp := speakers[n]
		v.groups.register(t.in.Name, sp)
		first := startTrackers(ctx, k, t.in, sp, v.logf)
		go func() {
			defer close(done)
			select { // the scripts' first results decide the start state
			case <-first:
			case <-ctx.Done():
			}
			sp.Run(ctx)
		}()
		v.running[t.in.Name] = &runningSpeaker{sp: sp, key: t.key, cancel: cancel, done: done}
		v.seen.speaker(t.in.Name, sp)
	}
	return nil
}

// stop shuts every speaker down and waits.
func (v *vrrpSet) stop() {
	for name, r := range v.running {
		r.cancel()
		<-r.done
		delete(v.running, name)
		v.groups.register(name, nil)
	}
}

// instanceKey fingerprints what a speaker depends on: the instance, the
// scripts it tracks and the globals it uses.
func instanceKey(k *parser.Keepalived, in *parser.VRRPInstance) string {
	c := *in
	c.Pos, c.InterfacePos = parser.Pos{}, parser.Pos{}
	c.VIPs = nil
	for _, v := range in.VIPs {
		v.Pos = parser.Pos{}
		c.VIPs = append(c.VIPs, v)
	}
	c.TrackScripts, c.TrackInterfaces = nil, nil
	for _, t := range append(append([]parser.Tracked(nil), in.TrackScripts...), in.TrackInterfaces...) {
		t.Pos = parser.Pos{}
		c.TrackScripts = append(c.TrackScripts, t)
	}
	key := fmt.Sprintf("%+v|%v|%v|%s", c, k.Global.MCastGroup4, k.Global.VRRPVersion, k.Global.ScriptUser)
	for _, t := range in.TrackScripts {
		if sc := k.Script(t.Name); sc != nil {
			s := *sc
			s.Pos = parser.Pos{}
			key += fmt.Sprintf("|%+v", s)
		}
	}
	return key
}

func speakerConfig(k *parser.Keepalived, in *parser.VRRPInstance, logf func(string, ...any)) (vrrp.SpeakerConfig, error) {
	version := in.Version
	if version == 0 {
		version = max(k.Global.VRRPVersion, 2)
	}
	sc := vrrp.SpeakerConfig{
		Config: vrrp.Config{Name: in.Name, VRID: uint8(in.VRID), Priority: in.Priority, Interval: in.AdvertInt,
			Version: version, NoPreempt: in.NoPreempt, PreemptDelay: in.PreemptDelay, StartMaster: in.State == "MASTER"},
		Interface: in.Interface, Group: k.Global.MCastGroup4, UnicastSrc: in.UnicastSrcIP, UnicastPeers: in.UnicastPeers,
		AuthPass: in.AuthPass, GarpRepeat: in.GarpMasterRepeat, GarpDelay: in.GarpMasterDelay, GarpRefresh: in.GarpMasterRefresh, Logf: logf,
	}
	switch in.AuthType {
	case "PASS":
		sc.AuthType = vrrp.AuthPass
	case "AH":
		return sc, fmt.Errorf("%s: (%s) AH authentication is not supported by gohaka; use PASS or none", in.Pos, in.Name)
	}
	for n, v := range in.VIPs {
		if v.Prefix.Addr().Is6() != in.VIPs[0].Prefix.Addr().Is6() {
			return sc, fmt.Errorf("%s: (%s) %s is not of the instance's address family (set by its first VIP); put it in virtual_ipaddress_excluded", v.Pos, in.Name, v.Prefix.Addr())
		}
		if n == 0 && v.Prefix.Addr().Is6() {
			sc.Group = k.Global.MCastGroup6
		}
		sc.VIPs = append(sc.VIPs, vipOf(v, false))
		sc.Config.Addrs = append(sc.Config.Addrs, v.Prefix.Addr())
	}
	for _, v := range in.ExcludedVIPs {
		sc.VIPs = append(sc.VIPs, vipOf(v, true))
	}
	for _, r := range in.Routes {
		vr, err := vrrpRoute(r)
		if err != nil {
			return sc, fmt.Errorf("%s: (%s) virtual_routes: %v", r.Pos, in.Name, err)
		}
		sc.Routes = append(sc.Routes, vr)
	}
	notify := notifier("INSTANCE", in.Name, in.Notify, k.Global.ScriptUser, logf)
	sc.OnState = func(name string, st vrrp.State, prio int, _ bool) { notify(st, prio) }
	return sc, nil
}

// startTrackers runs the vrrp_scripts an instance tracks and feeds the
// speaker keepalived's arithmetic: base priority plus the weights of the
// scripts' states, FAULT for a failed script of weight 0.
//
// The returned channel is closed once every tracked script has given its
// first result (or after its timeout): keepalived runs the scripts before
// its instances leave INIT, so a failing weight-0 script starts the
// instance in FAULT rather than BACKUP.
func startTrackers(ctx context.Context, k *parser.Keepalived, in *parser.VRRPInstance, sp *vrrp.Speaker, logf func(string, ...any)) <-chan struct{} {
	var firstWG sync.WaitGroup
	firstBound := time.Duration(0)
	type entry struct {
		w  track.Weight
		st track.Status
	}
	type fileEntry struct {
		w   track.Weight
		val int
	}
	var mu sync.Mutex
	entries := map[string]*entry{}
	files := map[string]*fileEntry{}
	update := func() {
		var deltas []int
		fault := false
		for _, e := range entries {
			d, f := track.ScriptDelta(e.w, e.st)
			deltas = append(deltas, d)
			fault = fault || f
		}
		for _, fe := range files {
			d, f := track.FileDelta(fe.w, fe.val)
			deltas = append(deltas, d)
			fault = fault || f
		}
		sp.SetTracked(track.Priority(in.Priority, deltas...), fault)
	}
	for _, t := range in.TrackScripts {
		sc := k.Script(t.Name)
		if sc == nil {
			continue
		}
		w := track.Weight{W: sc.Weight, Reverse: sc.Reverse}
		if t.HasWeight {
			w = track.Weight{W: t.Weight, Reverse: t.Reverse}
		}
		e := &entry{w: w}
		entries[t.Name] = e
		user := sc.User
		if user == "" {
			user = k.Global.ScriptUser
		}
		var once sync.Once
		r := &track.ScriptRunner{Script: track.Script{Name: sc.Name, Command: sc.Script, Interval: sc.Interval,
			Timeout: sc.Timeout, Rise: sc.Rise, Fall: sc.Fall, InitFail: sc.InitFail, User: user, Group: sc.Group},
			OnResult: func(o track.Outcome, st track.Status, changed bool) {
				once.Do(firstWG.Done)
				if !changed {
					return
				}
				logf("(%s) VRRP_Script(%s) %s", in.Name, sc.Name, map[track.Status]string{track.StatusOK: "succeeded", track.StatusFailed: "failed"}[st])
				mu.Lock()
				e.st = st
				update()
				mu.Unlock()
			}}
		firstWG.Add(1)
		firstBound = max(firstBound, r.Script.Timeout, r.Script.Interval, time.Second)
		go r.Run(ctx)
	}
	// track_file: the file's integer times the weight, read every 200 ms
	for _, tf := range in.TrackFiles {
		def := k.TrackFileDef(tf.Name)
		if def == nil {
			continue
		}
		w := track.Weight{W: def.Weight, Reverse: def.Reverse}
		if tf.HasWeight {
			w = track.Weight{W: tf.Weight, Reverse: tf.Reverse}
		}
		fe := &fileEntry{w: w, val: track.ReadFileValue(def.File)}
		files[tf.Name] = fe
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				v := track.ReadFileValue(def.File)
				mu.Lock()
				if v != fe.val {
					logf("(%s) track_file %s now %d", in.Name, def.Name, v)
					fe.val = v
					update()
				}
				mu.Unlock()
			}
		}()
	}
	// track_interface entries and, unless dont_track_primary, the
	// instance's own interface: down means FAULT (weight 0) or the weight.
	ifaces := map[string]track.Weight{}
	for _, ti := range in.TrackInterfaces {
		if ti.Name != in.Interface {
			ifaces[ti.Name] = track.Weight{W: ti.Weight, Reverse: ti.Reverse}
		}
	}
	if !in.DontTrackPrimary && in.Interface != "" {
		ifaces[in.Interface] = track.Weight{}
	}
	// an IPv4 instance also needs an IPv4 address of its own on its
	// interface (the adverts' source), as keepalived: FAULT without one
	needAddr := in.Interface != "" && !in.UnicastSrcIP.IsValid() && !vipsAre6(in)
	for name, w := range ifaces {
		e := &entry{w: w, st: track.StatusOK}
		key := "if:" + name
		entries[key] = e
		own := needAddr && name == in.Interface
		check := func() (track.Status, string) {
			if !track.InterfaceUp(name) {
				return track.StatusFailed, "down"
			}
			if own {
				if a := ownIPv4(name, in); !a.IsValid() {
					return track.StatusFailed, "noaddr"
				}
			}
			return track.StatusOK, "up"
		}
		if st, why := check(); st != e.st {
			e.st = st
			if why == "noaddr" {
				logf("(%s) entering FAULT state (no IPv4 address for interface)", in.Name)
			}
		}
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				st, why := check()
				mu.Lock()
				if st != e.st {
					switch {
					case why == "noaddr":
						logf("(%s) entering FAULT state (no IPv4 address for interface)", in.Name)
					case own && st == track.StatusOK:
						logf("Assigned address %s for interface %s", ownIPv4(name, in), name)
					default:
						logf("(%s) interface %s is %s", in.Name, name, why)
					}
					e.st = st
					update()
				}
				mu.Unlock()
			}
		}()
	}
	if len(entries)+len(files) > 0 {
		mu.Lock()
		update()
		mu.Unlock()
	}
	first := make(chan struct{})
	go func() {
		defer close(first)
		all := make(chan struct{})
		go func() { firstWG.Wait(); close(all) }()
		select {
		case <-all:
		case <-time.After(firstBound):
		case <-ctx.Done():
		}
	}()
	return first
}

// vrrpRoute turns a virtual_routes line into what the speaker installs.
func vrrpRoute(r parser.Route) (vrrp.Route, error) {
	vr := vrrp.Route{Dev: r.Dev, Metric: r.Metric}
	var err error
	switch r.To {
	case "default":
		vr.Dst = netip.MustParsePrefix("0.0.0.0/0")
	default:
		if vr.Dst, err = netip.ParsePrefix(r.To); err != nil {
			a, err2 := netip.ParseAddr(r.To)
			if err2 != nil {
				return vr, fmt.Errorf("destination %q: %v", r.To, err)
			}
			vr.Dst = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if r.Via != "" {
		if vr.Gw, err = netip.ParseAddr(r.Via); err != nil {
			return vr, fmt.Errorf("gateway %q: %v", r.Via, err)
		}
	}
	if r.Src != "" {
		if vr.Src, err = netip.ParseAddr(r.Src); err != nil {
			return vr, fmt.Errorf("src %q: %v", r.Src, err)
		}
	}
	if r.Table != "" {
		if vr.Table, err = strconv.Atoi(r.Table); err != nil {
			return vr, fmt.Errorf("table %q: only numeric tables are supported", r.Table)
		}
	}
	return vr, nil
}

// vipOf turns a virtual_ipaddress line into what the speaker adds: scope
// by name (global, site, link, host) or number, broadcast address.
func vipOf(v parser.VIP, excluded bool) vrrp.VIP {
	out := vrrp.VIP{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label, NoPrefixRoute: v.NoPrefixRoute, Excluded: excluded}
	switch v.Scope {
	case "site":
		out.Scope = 200
	case "link":
		out.Scope = 253
	case "host":
		out.Scope = 254
	default:
		out.Scope, _ = strconv.Atoi(v.Scope)
	}
	if a, err := netip.ParseAddr(v.Brd); err == nil {
		out.Brd = a
	}
	return out
}

// vipsAre6 reports an IPv6 instance (its VIPs are IPv6).
func vipsAre6(in *parser.VRRPInstance) bool {
	return len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6()
}

// ownIPv4 returns an IPv4 address of the interface that is not one of the
// instance's VIPs (the zero Addr when there is none).
func ownIPv4(name string, in *parser.VRRPInstance) netip.Addr {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || !p.Addr().Is4() {
			continue
		}
		vip := false
		for _, v := range in.VIPs {
			vip = vip || v.Prefix.Addr() == p.Addr()
		}
		if !vip {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// waitStarted waits (bounded) until every running instance has left
// INIT, so that "Startup complete" follows their first state lines as in
// keepalived's log.
func (v *vrrpSet) waitStarted(bound time.Duration) {
	for end := time.Now().Add(bound); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		v.seen.mu.Lock()
		all := true
		for _, in := range v.seen.m {
			all = all && in.state != vrrp.Init
		}
		v.seen.mu.Unlock()
		if all {
			return
		}
	}
}
