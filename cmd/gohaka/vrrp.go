package main

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gohaka/gohaka/check/track"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/vrrp"
)

// startVRRP builds and runs a speaker per vrrp_instance; the returned
// function shuts them all down (priority 0 adverts, VIPs removed) and waits.
func startVRRP(k *parser.Keepalived, logf func(string, ...any)) (func(), error) {
	if k == nil || len(k.Instances) == 0 {
		return func() {}, nil
	}
	var speakers []*vrrp.Speaker
	var insts []*parser.VRRPInstance
	for _, in := range k.Instances {
		sc, err := speakerConfig(k, in, logf)
		if err != nil {
			return nil, err
		}
		sp, err := vrrp.NewSpeaker(sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", in.Pos, err)
		}
		speakers = append(speakers, sp)
		insts = append(insts, in)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for n, sp := range speakers {
		startTrackers(ctx, k, insts[n], sp, logf)
	}
	var wg sync.WaitGroup
	for _, sp := range speakers {
		wg.Add(1)
		go func() { defer wg.Done(); sp.Run(ctx) }()
	}
	return func() { cancel(); wg.Wait() }, nil
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
		AuthPass: in.AuthPass, GarpRepeat: in.GarpMasterRepeat, GarpDelay: in.GarpMasterDelay, Logf: logf,
	}
	switch in.AuthType {
	case "PASS":
		sc.AuthType = vrrp.AuthPass
	case "AH":
		return sc, fmt.Errorf("%s: (%s) AH authentication is not supported by gohaka; use PASS or none", in.Pos, in.Name)
	}
	for _, v := range in.VIPs {
		if !v.Prefix.Addr().Is4() {
			return sc, fmt.Errorf("%s: (%s) IPv6 VIPs are not served by gohaka's speaker yet", v.Pos, in.Name)
		}
		sc.VIPs = append(sc.VIPs, vrrp.VIP{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label})
		sc.Config.Addrs = append(sc.Config.Addrs, v.Prefix.Addr())
	}
	sc.OnState = notifier(k, in, logf)
	return sc, nil
}

// notifier runs the notify scripts of an instance in order, one at a time,
// without blocking the speaker.
func notifier(k *parser.Keepalived, in *parser.VRRPInstance, logf func(string, ...any)) func(string, vrrp.State, int) {
	q := make(chan func(), 64)
	go func() {
		for f := range q {
			f()
		}
	}()
	run := func(script string, extra ...string) {
		f := strings.Fields(script)
		if len(f) == 0 {
			return
		}
		cmd := exec.Command(f[0], append(f[1:], extra...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			logf("(%s) notify script %s: %v %s", in.Name, f[0], err, out)
		}
	}
	return func(name string, s vrrp.State, prio int) {
		var script string
		word := s.String()
		switch s {
		case vrrp.Master:
			script = in.Notify.Master
		case vrrp.Backup:
			script = in.Notify.Backup
		case vrrp.Fault:
			script = in.Notify.Fault
		case vrrp.Init:
			script, word = in.Notify.Stop, "STOP"
		}
		select {
		case q <- func() {
			run(script)
			run(in.Notify.Any, "INSTANCE", name, word, fmt.Sprint(prio))
		}:
		default:
			logf("(%s) notify queue full, dropping %s", name, word)
		}
	}
}

var _ = netip.Addr{}

// startTrackers runs the vrrp_scripts an instance tracks and feeds the
// speaker keepalived's arithmetic: base priority plus the weights of the
// scripts' states, FAULT for a failed script of weight 0.
func startTrackers(ctx context.Context, k *parser.Keepalived, in *parser.VRRPInstance, sp *vrrp.Speaker, logf func(string, ...any)) {
	type entry struct {
		w  track.Weight
		st track.Status
	}
	var mu sync.Mutex
	entries := map[string]*entry{}
	update := func() {
		var deltas []int
		fault := false
		for _, e := range entries {
			d, f := track.ScriptDelta(e.w, e.st)
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
		r := &track.ScriptRunner{Script: track.Script{Name: sc.Name, Command: sc.Script, Interval: sc.Interval,
			Timeout: sc.Timeout, Rise: sc.Rise, Fall: sc.Fall, InitFail: sc.InitFail, User: user, Group: sc.Group},
			OnResult: func(o track.Outcome, st track.Status, changed bool) {
				if !changed {
					return
				}
				logf("(%s) VRRP_Script(%s) %s", in.Name, sc.Name, map[track.Status]string{track.StatusOK: "succeeded", track.StatusFailed: "failed"}[st])
				mu.Lock()
				e.st = st
				update()
				mu.Unlock()
			}}
		go r.Run(ctx)
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
	for name, w := range ifaces {
		e := &entry{w: w, st: track.StatusOK}
		key := "if:" + name
		entries[key] = e
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				st := track.StatusFailed
				if track.InterfaceUp(name) {
					st = track.StatusOK
				}
				mu.Lock()
				if st != e.st {
					logf("(%s) interface %s is %s", in.Name, name, map[track.Status]string{track.StatusOK: "up", track.StatusFailed: "down"}[st])
					e.st = st
					update()
				}
				mu.Unlock()
			}
		}()
	}
	if len(entries) > 0 {
		mu.Lock()
		update()
		mu.Unlock()
	}
}
