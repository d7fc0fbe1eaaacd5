package main

import (
	"sync"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/vrrp"
)

// syncGroups runs the vrrp_sync_groups: when one member changes state the
// others are pulled along, and the group's own notify scripts run. It
// outlives reloads: a group that still exists keeps its state.
type syncGroups struct {
	mu       sync.Mutex
	logf     func(string, ...any)
	groups   map[string]*vrrp.Group
	notify   map[string]func(vrrp.State, int)
	memberOf map[string]string        // instance name -> group name
	speakers map[string]*vrrp.Speaker // running instance speakers
	last     map[string]vrrp.State    // each instance's latest state
	pending  map[string]bool          // group moved, its notify not yet run
}

// configure takes the groups of a newly applied config.
func (g *syncGroups) configure(k *parser.Keepalived) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.groups
	g.groups, g.notify, g.memberOf = map[string]*vrrp.Group{}, map[string]func(vrrp.State, int){}, map[string]string{}
	if g.speakers == nil {
		g.speakers, g.last, g.pending = map[string]*vrrp.Speaker{}, map[string]vrrp.State{}, map[string]bool{}
	}
	if k == nil {
		return
	}
	for _, sg := range k.SyncGroups {
		grp := old[sg.Name]
		if grp == nil {
			grp = &vrrp.Group{Name: sg.Name}
		}
		g.groups[sg.Name] = grp
		g.notify[sg.Name] = notifier("GROUP", sg.Name, sg.Notify, k.Global.ScriptUser, g.logf)
		for _, m := range sg.Group {
			g.memberOf[m] = sg.Name
		}
	}
}

// register records a running speaker (nil removes it).
func (g *syncGroups) register(name string, sp *vrrp.Speaker) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if sp == nil {
		delete(g.speakers, name)
		return
	}
	g.speakers[name] = sp
}

// observe is told that instance name entered s. A member's own
// transition pulls the group's other members to the same state; the
// group's notify scripts run once every running member has got there,
// after the members' own, as keepalived orders them.
func (g *syncGroups) observe(name string, s vrrp.State, synced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last[name] = s
	gname, ok := g.memberOf[name]
	if !ok {
		return
	}
	grp := g.groups[gname]
	if !synced {
		if to, move := grp.Observe(s); move {
			g.logf("VRRP_Group(%s) Syncing instances to %s state", gname, to)
			for m, gn := range g.memberOf {
				if gn == gname && m != name && g.speakers[m] != nil {
					g.speakers[m].Sync(to)
				}
			}
			g.pending[gname] = true
		}
	}
	if !g.pending[gname] {
		return
	}
	for m, gn := range g.memberOf {
		if gn == gname && g.speakers[m] != nil && g.last[m] != grp.State() {
			return
		}
	}
	g.pending[gname] = false
	g.notify[gname](grp.State(), 0)
}
