package check

import (
	"time"
)

// Defaults haproxy 2.6 applies to a server line.
const (
	DefaultRise  = 2
	DefaultFall  = 3
	DefaultInter = 2 * time.Second
	// MaxWeight is the largest weight an agent can set (haproxy's 256).
	MaxWeight = 256
)

// Params is the effective check configuration of one server, after
// default-server inheritance. Zero values take haproxy's defaults.
type Params struct {
	Name       string // "backend/server", as it appears in log lines
	Backup     bool   // backup server (changes log wording)
	Check      bool   // "check": health checks enabled
	Agent      bool   // "agent-check" enabled
	Rise, Fall int    // default 2 and 3
	// Inter is the interval between checks of an UP server (default 2s);
	// FastInter is used while the server changes state and DownInter while
	// it is fully DOWN; both fall back to Inter when zero.
	Inter, FastInter, DownInter time.Duration
	AgentInter                  time.Duration // default 2s
	// Weight is the configured weight; 0 means haproxy's default 1, set
	// WeightZero for an explicit "weight 0".
	Weight     int
	WeightZero bool
}

func (p *Params) fill() {
	if p.Rise <= 0 {
		p.Rise = DefaultRise
	}
	if p.Fall <= 0 {
		p.Fall = DefaultFall
	}
	if p.Inter <= 0 {
		p.Inter = DefaultInter
	}
	if p.AgentInter <= 0 {
		p.AgentInter = DefaultInter
	}
	if p.WeightZero {
		p.Weight = 0
	} else if p.Weight <= 0 {
		p.Weight = 1
	}
}

// State is a server's state as the balancer must see it.
type State uint8

// Server states.
const (
	StateUp    State = iota // running, takes traffic
	StateNoLB               // "stopping": passed conditionally (disable-on-404), no new traffic
	StateDrain              // administratively drained (agent "drain"), no new traffic
	StateDown               // failed its checks
	StateMaint              // administratively in maintenance (agent "maint")
)

var stateNames = [...]string{"UP", "NOLB", "DRAIN", "DOWN", "MAINT"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// Admin is an administrative mode set by the agent or the runtime API.
type Admin uint8

// Administrative modes; they exclude each other as haproxy's forced flags do.
const (
	AdminReady Admin = iota
	AdminDrain
	AdminMaint
)

type opState uint8

const (
	opRunning opState = iota
	opStopping
	opStopped
)

// counter is one check's health counter, 0..rise+fall-1.
type counter struct {
	health, rise, fall int
	enabled, paused    bool
	status             Status
}

func (c *counter) max() int { return c.rise + c.fall - 1 }
func (c *counter) up() bool { return c.health >= c.rise }

// Server is the pure rise/fall state machine of one server, following
// haproxy 2.6: a checked server starts UP with its health counter at rise
// ("going down"), so the first failed check marks it DOWN; a DOWN server
// needs rise consecutive successes; an UP one needs fall failures. The agent
// check has its own counter with rise = fall = 1, and only its explicit
// "down/fail/stopped" replies count as failures. It is not safe for
// concurrent use; the Runner serialises calls.
type Server struct {
	p       Params
	chk     counter
	agt     counter
	op      opState
	admin   Admin
	weight  int
	maxconn int
}

// NewServer returns the state machine for a server in its initial state.
func NewServer(p Params) *Server {
	p.fill()
	s := &Server{p: p, weight: p.Weight}
	s.chk = counter{health: p.Rise, rise: p.Rise, fall: p.Fall, enabled: p.Check, status: StatusInit}
	s.agt = counter{health: 1, rise: 1, fall: 1, enabled: p.Agent, status: StatusInit}
	return s
}

// Params returns the effective parameters (defaults filled in).
func (s *Server) Params() Params { return s.p }

// State returns the server's current state.
func (s *Server) State() State {
	switch {
	case s.admin == AdminMaint:
		return StateMaint
	case s.op == opStopped:
		return StateDown
	case s.admin == AdminDrain:
		return StateDrain
	case s.op == opStopping:
		return StateNoLB
	}
	return StateUp
}

// Health returns the health counter of the check (agent=false) or of the
// agent, with its rise and fall.
func (s *Server) Health(agent bool) (health, rise, fall int) {
	c := s.counter(agent)
	return c.health, c.rise, c.fall
}

// Weight returns the current weight (the configured one unless an agent
// changed it) and Maxconn the agent-set maxconn (0 when never set).
func (s *Server) Weight() int  { return s.weight }
func (s *Server) Maxconn() int { return s.maxconn }

// LastStatus returns the status of the last result of the check or agent.
func (s *Server) LastStatus(agent bool) Status { return s.counter(agent).status }

// Paused reports whether health checks are suspended (maintenance); the
// agent keeps running so that it can end the maintenance.
func (s *Server) Paused() bool { return s.chk.paused }

func (s *Server) counter(agent bool) *counter {
	if agent {
		return &s.agt
	}
	return &s.chk
}

// SetAdmin changes the administrative mode, as the agent's ready/drain/maint
// words or the runtime API do, and returns the resulting event.
func (s *Server) SetAdmin(a Admin) Event {
	from := s.State()
	s.setAdmin(a)
	return s.event(false, from, Result{Status: s.chk.status, Duration: -1}, false, false)
}

func (s *Server) setAdmin(a Admin) {
	if a == s.admin {
		return
	}
	was := s.admin
	s.admin = a
	if a == AdminMaint {
		s.op = opStopped
		if s.chk.enabled {
			s.chk.paused = true
			s.chk.health = 0
		}
		return
	}
	if was != AdminMaint {
		return
	}
	// Leaving maintenance: checks resume from "just up" and the server is
	// UP at once unless a check or the agent says otherwise.
	if s.chk.enabled {
		s.chk.paused = false
		s.chk.health = s.chk.rise
	}
	if (!s.agt.enabled || s.agt.up()) && (!s.chk.enabled || s.chk.up()) {
		s.op = opRunning
	}
}

// Observe feeds one result of the health check (agent=false) or of the agent
// check into the state machine and returns what happened. Results of a
// paused health check (maintenance) are ignored.
func (s *Server) Observe(agent bool, r Result) Event {
	c := s.counter(agent)
	from := s.State()
	weightBefore, maxconnBefore := s.weight, s.maxconn
	if !agent && c.paused {
		return s.event(false, from, r, false, false)
	}
	if agent && r.Reply != nil {
		s.applyReply(r.Reply)
	}
	prev := c.status
	c.status = r.Status
	report, failed := false, false
	switch r.Status.Outcome() {
	case OutcomeFailed:
		// An agent that cannot be reached says nothing about the server.
		if (!agent || r.Status >= StatusL7OK) && c.health > 0 {
			report, failed = true, true
			c.health--
			if c.health < c.rise {
				c.health = 0
			}
		}
	case OutcomePassed, OutcomeCondPass:
		if c.health < c.max() {
			report = true
			c.health++
			if c.health >= c.rise {
				c.health = c.max()
			}
		}
	}
	switch r.Status.Outcome() {
	case OutcomeFailed:
		if (!agent || r.Status == StatusL7STS) && c.health == 0 {
			s.op = opStopped
		}
	case OutcomeCondPass:
		if !agent && s.admin != AdminMaint && s.allUp() && s.op != opStopping {
			s.op = opStopping
		}
	case OutcomePassed:
		if s.admin != AdminMaint && s.allUp() && !(agent && s.op == opStopping) {
			s.op = opRunning
		}
	}
	logIt := r.Status.Outcome() != OutcomeNeutral && (report || r.Status != prev)
	ev := s.event(agent, from, r, logIt, failed)
	ev.WeightChanged = s.weight != weightBefore
	ev.MaxconnChanged = s.maxconn != maxconnBefore
	return ev
}

func (s *Server) allUp() bool {
	return (!s.chk.enabled || s.chk.up()) && (!s.agt.enabled || s.agt.up())
}

// applyReply applies the administrative, weight and maxconn parts of an
// agent reply, in haproxy's order, before the health part is counted.
func (s *Server) applyReply(a *AgentReply) {
	switch a.Admin {
	case "ready":
		s.setAdmin(AdminReady)
	case "drain":
		s.setAdmin(AdminDrain)
	case "maint":
		s.setAdmin(AdminMaint)
	}
	if a.WeightPercent >= 0 && a.Warning == "" {
		w := s.p.Weight * a.WeightPercent / 100
		if w > MaxWeight {
			w = MaxWeight
		}
		s.weight = w
	}
	if a.Maxconn >= 0 {
		s.maxconn = a.Maxconn
	}
}

func (s *Server) event(agent bool, from State, r Result, report, failed bool) Event {
	c := s.counter(agent)
	return Event{
		Server: s.p.Name, Backup: s.p.Backup, Agent: agent,
		From: from, To: s.State(), Result: r,
		Health: c.health, Rise: c.rise, Fall: c.fall,
		Weight: s.weight, Maxconn: s.maxconn,
		Report: report, Failed: failed,
	}
}
