package check

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// ServerCheck is one server to watch: its parameters, its health check and
// its optional agent check.
type ServerCheck struct {
	Params Params
	// Probe and Target are the health check ("check"); nil Probe means
	// no health check.
	Probe  Probe
	Target Target
	// Agent and AgentTarget are the agent check; nil means none.
	Agent       Probe
	AgentTarget Target
}

// Runner schedules the checks of many servers, feeds their results to each
// server's state machine and reports every result as an Event.
type Runner struct {
	// Clock defaults to RealClock.
	Clock Clock
	// Spread is global "spread-checks" (0..50 percent).
	Spread int
	// Rand returns numbers in [0,1) for the spread jitter; defaults to
	// math/rand/v2.
	Rand func() float64
	// OnEvent receives every result's event, in order for a given server.
	// It is called with that server's lock held: it must not call back
	// into the Runner for the same server.
	OnEvent func(Event)

	mu      sync.Mutex
	servers map[string]*runEntry
}

type runEntry struct {
	mu  sync.Mutex
	srv *Server
	sc  ServerCheck
}

// Run checks every server until ctx ends, then returns ctx's error.
// Probes in flight are cancelled with ctx.
func (r *Runner) Run(ctx context.Context, checks []ServerCheck) error {
	if r.Clock == nil {
		r.Clock = RealClock{}
	}
	if r.Rand == nil {
		r.Rand = rand.Float64
	}
	r.mu.Lock()
	r.servers = map[string]*runEntry{}
	var entries []*runEntry
	var inters []time.Duration
	for _, sc := range checks {
		p := sc.Params
		p.Check = sc.Probe != nil
		p.Agent = sc.Agent != nil
		e := &runEntry{srv: NewServer(p), sc: sc}
		r.servers[p.Name] = e
		entries = append(entries, e)
		if p.Check {
			inters = append(inters, e.srv.Interval(false))
		}
		if p.Agent {
			inters = append(inters, e.srv.Interval(true))
		}
	}
	r.mu.Unlock()
	first := FirstDelays(inters)
	var wg sync.WaitGroup
	i := 0
	for _, e := range entries {
		for _, agent := range []bool{false, true} {
			if (agent && e.sc.Agent == nil) || (!agent && e.sc.Probe == nil) {
				continue
			}
			wg.Add(1)
			go func(e *runEntry, agent bool, d time.Duration) {
				defer wg.Done()
				r.loop(ctx, e, agent, d)
			}(e, agent, first[i])
			i++
		}
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Runner) loop(ctx context.Context, e *runEntry, agent bool, d time.Duration) {
	probe, target := e.sc.Probe, e.sc.Target
	if agent {
		probe, target = e.sc.Agent, e.sc.AgentTarget
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.Clock.After(d):
		}
		e.mu.Lock()
		paused := !agent && e.srv.Paused()
		t := target
		t.ServerDown = e.srv.State() == StateDown
		next := e.srv.Interval(agent)
		e.mu.Unlock()
		if t.Host != nil {
			h := t.Host()
			_, port, _ := net.SplitHostPort(t.Addr)
			t.Addr, paused = net.JoinHostPort(h, port), paused || h == ""
		}
		if !paused {
			res := probe.Run(ctx, t)
			if ctx.Err() != nil {
				return
			}
			e.mu.Lock()
			ev := e.srv.Observe(agent, res)
			next = e.srv.Interval(agent)
			if r.OnEvent != nil {
				r.OnEvent(ev)
			}
			e.mu.Unlock()
		}
		d = Spread(next, r.Spread, r.Rand())
	}
}

// SetAdmin changes a server's administrative mode (runtime API); it
// reports false for an unknown server.
func (r *Runner) SetAdmin(name string, a Admin) bool {
	r.mu.Lock()
	e := r.servers[name]
	r.mu.Unlock()
	if e == nil {
		return false
	}
	e.mu.Lock()
	ev := e.srv.SetAdmin(a)
	if r.OnEvent != nil && ev.Changed() {
		r.OnEvent(ev)
	}
	e.mu.Unlock()
	return true
}

// State returns a server's current state, weight and health counter.
func (r *Runner) State(name string) (st State, weight, health int, ok bool) {
	r.mu.Lock()
	e := r.servers[name]
	r.mu.Unlock()
	if e == nil {
		return 0, 0, 0, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	h, _, _ := e.srv.Health(false)
	return e.srv.State(), e.srv.Weight(), h, true
}
