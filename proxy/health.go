package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/check"
	"github.com/gohaka/gohaka/parser"
)

// buildChecks maps the model's check settings onto the check package, one
// entry per server with `check` or `agent-check`.
func (r *Runtime) buildChecks() ([]check.ServerCheck, error) {
	var out []check.ServerCheck
	for _, be := range r.backends {
		px := be.px
		var probe check.Probe
		for _, sv := range be.servers {
			s := sv.srv
			if !s.Check && !s.AgentCheck {
				continue
			}
			if probe == nil && s.Check {
				spec := check.Spec{Type: px.Check.Type, Args: px.Check.Args, DisableOn404: px.Check.DisableOn404}
				for _, l := range px.Check.HTTPCheck {
					spec.HTTPCheck = append(spec.HTTPCheck, l.Words)
				}
				for _, l := range px.Check.TCPCheck {
					spec.TCPCheck = append(spec.TCPCheck, l.Words)
				}
				p, err := check.Build(spec)
				if p == nil {
					return nil, fmt.Errorf("%s: backend '%s': health check: %v", px.Check.Pos, px.Name, err)
				}
				if err != nil {
					r.opts.Logf("backend '%s': health check: %v", px.Name, err)
				}
				probe = p
			}
			sc := check.ServerCheck{Params: check.Params{Name: px.Name + "/" + s.Name, Backup: s.Backup, Check: s.Check,
				Agent: s.AgentCheck, Rise: s.Rise, Fall: s.Fall, Inter: s.Inter, FastInter: s.FastInter,
				DownInter: s.DownInter, AgentInter: s.AgentInter, Weight: s.Weight, WeightZero: s.Weight == 0}}
			host, port, _ := net.SplitHostPort(sv.addr)
			if s.CheckAddr != "" {
				host = s.CheckAddr
			}
			if s.CheckPort > 0 {
				port = fmt.Sprint(s.CheckPort)
			}
			to := check.Timeouts{Connect: px.Timeouts.Connect, Check: px.Timeouts.Check, Inter: s.Inter}
			var hostNow func() string
			if s.CheckAddr == "" { // the check follows the server's address
				hostNow = func() string {
					h, _, _ := net.SplitHostPort(sv.address())
					return h
				}
			}
			if s.Check {
				sc.Probe = probe
				sc.Target = check.Target{Addr: net.JoinHostPort(host, port), Host: hostNow, Timeouts: to}
				if _, ok := s.Options["check-ssl"]; ok {
					// verification follows the server's `verify` (haproxy checks with the server's SSL settings)
					tc := &tls.Config{InsecureSkipVerify: strings.Join(s.Options["verify"], "") != "required"}
					if sni := s.Options["check-sni"]; len(sni) > 0 {
						tc.ServerName = sni[0]
					}
					sc.Target.TLS = tc
				}
				if _, ok := s.Options["check-send-proxy"]; ok || (s.CheckAddr == "" && s.CheckPort == 0 && (s.SendProxy || s.SendProxyV2)) {
					sc.Target.SendProxy = 1
					if s.SendProxyV2 {
						sc.Target.SendProxy = 2
					}
				}
			}
			if s.AgentCheck && s.AgentPort > 0 {
				sc.Agent = check.AgentProbe(strings.Join(s.Options["agent-send"], " "))
				sc.AgentTarget = check.Target{Addr: net.JoinHostPort(host, fmt.Sprint(s.AgentPort)), Host: hostNow, Timeouts: to}
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// startChecks runs the health checks until the runtime stops.
func (r *Runtime) startChecks() error {
	checks, err := r.buildChecks()
	if err != nil || len(checks) == 0 {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopChecks = cancel
	runner := &check.Runner{OnEvent: r.onCheckEvent, Spread: r.spreadChecks}
	go runner.Run(ctx, checks)
	return nil
}

// onCheckEvent applies a check result to the balancer and logs state
// changes in haproxy's words.
func (r *Runtime) onCheckEvent(ev check.Event) {
	bname, sname, _ := strings.Cut(ev.Server, "/")
	be := r.backends[bname]
	if be == nil {
		return
	}
	if ev.Report && be.px.OptionOn("log-health-checks") {
		r.opts.Logf("%s", ev.HealthLog())
	}
	var target *server
	if i := be.serverIndex(sname); i >= 0 {
		target = be.servers[i]
		target.st.noteCheck(ev, time.Now())
	}
	if !ev.Changed() && !ev.WeightChanged {
		return
	}
	be.mu.Lock()
	if i := be.serverIndex(sname); i >= 0 {
		if ev.WeightChanged {
			be.setWeight(i, ev.Weight)
		}
		target.st.mu.Lock()
		be.applyState(i)
		target.st.mu.Unlock()
		be.noteAvailability(time.Now())
	}
	active, backup := 0, 0
	for _, s := range be.bal.Servers() {
		if s.State == balance.Up && s.Weight > 0 {
			if s.Backup {
				backup++
			} else {
				active++
			}
		}
	}
	be.mu.Unlock()
	if !ev.Changed() {
		return
	}
	line := ev.StateLog(!be.px.OptionOn("log-health-checks"))
	if ev.To == check.StateUp {
		r.opts.Logf("%s. %d active and %d backup servers online. 0 sessions requeued, 0 total in queue.", line, active, backup)
	} else {
		killed := 0
		if target != nil && target.srv.OnMarkedDown == "shutdown-sessions" && ev.To == check.StateDown {
			killed = r.closeSessionsOf(target)
		}
		r.opts.Logf("%s. %d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", line, active, backup, killed)
		if active+backup == 0 {
			r.opts.Logf("backend %s has no server available!", be.px.Name)
		}
	}
}

func stateFor(s check.State) balance.State {
	switch s {
	case check.StateUp:
		return balance.Up
	case check.StateNoLB, check.StateDrain:
		return balance.Drain
	case check.StateMaint:
		return balance.Maint
	}
	return balance.Down
}

// closeSessionsOf ends the live sessions of a server marked down
// (on-marked-down shutdown-sessions).
func (r *Runtime) closeSessionsOf(sv *server) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for s := range r.sessions {
		if s.srv == sv && s.server != nil {
			if s.kill != nil {
				s.kill()
			} else {
				s.client.Close()
				s.server.Close()
			}
			n++
		}
	}
	return n
}

var _ = parser.Pos{}
