package vrrp

import "sync"

// Group is a vrrp_sync_group: it hears every member's transitions and
// says which state the other members must be pulled to. Only a member's
// own transitions (timer, advert, tracker) lead; the transitions a sync
// causes are not fed back (Action.Synced), so a sync never echoes.
type Group struct {
	Name  string
	mu    sync.Mutex
	state State
}

// Observe is called when a member entered s. It returns the state to
// move the other members to, and false when nothing needs to move (the
// group is already there, or the member is stopping).
func (g *Group) Observe(s State) (State, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s == Init || s == g.state {
		return s, false
	}
	g.state = s
	return s, true
}

// State is the state the group last moved to.
func (g *Group) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}
