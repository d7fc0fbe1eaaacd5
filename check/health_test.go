package check

import (
	"strings"
	"testing"
	"time"
)

var (
	resOK   = Result{Status: StatusL4OK}
	resFail = Result{Status: StatusL4CON, Info: "Connection refused"}
)

// feed applies results and returns the state after each.
func feed(s *Server, agent bool, rs ...Result) []State {
	var out []State
	for _, r := range rs {
		out = append(out, s.Observe(agent, r).To)
	}
	return out
}

func TestInitialStateIsUpGoingDown(t *testing.T) {
	// haproxy 2.6 (checked with show stat): a checked server starts UP with
	// its counter at rise, shown "UP 1/3", and one failure marks it DOWN.
	s := NewServer(Params{Name: "be/s1", Check: true})
	if s.State() != StateUp {
		t.Fatalf("initial state %s", s.State())
	}
	if h, r, f := s.Health(false); h != 2 || r != 2 || f != 3 {
		t.Fatalf("initial health %d rise %d fall %d, want 2 2 3", h, r, f)
	}
	ev := s.Observe(false, resFail)
	if !ev.Changed() || ev.To != StateDown || !ev.Failed || !ev.Report {
		t.Fatalf("first failure: %+v", ev)
	}
}

func TestFallAndRiseCounts(t *testing.T) {
	for _, tc := range []struct{ rise, fall int }{{2, 3}, {1, 1}, {5, 2}, {3, 1}} {
		s := NewServer(Params{Name: "be/s1", Check: true, Rise: tc.rise, Fall: tc.fall})
		s.Observe(false, resOK) // to fully UP
		if h, _, _ := s.Health(false); h != tc.rise+tc.fall-1 {
			t.Fatalf("rise %d fall %d: health after success %d", tc.rise, tc.fall, h)
		}
		for i := 1; i <= tc.fall; i++ {
			st := s.Observe(false, resFail).To
			want := StateUp
			if i == tc.fall {
				want = StateDown
			}
			if st != want {
				t.Fatalf("rise %d fall %d: after %d failures %s, want %s", tc.rise, tc.fall, i, st, want)
			}
		}
		for i := 1; i <= tc.rise; i++ {
			st := s.Observe(false, resOK).To
			want := StateDown
			if i == tc.rise {
				want = StateUp
			}
			if st != want {
				t.Fatalf("rise %d fall %d: after %d successes %s, want %s", tc.rise, tc.fall, i, st, want)
			}
		}
	}
}

func TestFailureWhileRisingResets(t *testing.T) {
	s := NewServer(Params{Name: "be/s1", Check: true, Rise: 3, Fall: 2})
	feed(s, false, resFail) // DOWN, health 0
	feed(s, false, resOK, resOK)
	if h, _, _ := s.Health(false); h != 2 {
		t.Fatalf("health %d, want 2", h)
	}
	ev := s.Observe(false, resFail)
	if h, _, _ := s.Health(false); h != 0 || ev.To != StateDown || ev.Changed() {
		t.Fatalf("failure while rising: health %d event %+v", h, ev)
	}
	if got := feed(s, false, resOK, resOK, resOK); got[2] != StateUp || got[1] != StateDown {
		t.Fatalf("states %v", got)
	}
}

func TestLogLinesMatchHAProxy(t *testing.T) {
	// Expected lines are haproxy 2.6.12 output captured on this machine.
	s := NewServer(Params{Name: "be/s1", Check: true})
	ev := s.Observe(false, Result{Status: StatusL4CON, Info: "Connection refused"})
	if got, want := ev.StateLog(true), `Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s = NewServer(Params{Name: "be/s1", Check: true, Rise: 2, Fall: 2})
	ev = s.Observe(false, Result{Status: StatusL7OK, Code: 200, Duration: 2 * time.Millisecond})
	if got, want := ev.HealthLog(), "Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: 2ms, status: 2/2 UP."; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s = NewServer(Params{Name: "be/s1", Check: true})
	ev = s.Observe(false, Result{Status: StatusL7STS, Code: 500, Info: "Oops", Duration: time.Millisecond})
	if got, want := ev.HealthLog(), `Health check for server be/s1 failed, reason: Layer7 wrong status, code: 500, info: "Oops", check duration: 1ms, status: 0/2 DOWN.`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := ev.StateLog(false), "Server be/s1 is DOWN"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	s = NewServer(Params{Name: "be/s1", Check: true, Rise: 1, Fall: 1})
	ev = s.Observe(false, Result{Status: StatusL7OKC, Code: 404, Duration: time.Millisecond})
	if got, want := ev.HealthLog(), "Health check for server be/s1 conditionally succeeded, reason: Layer7 check conditionally passed, code: 404, check duration: 1ms, status: 1/1 UP."; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if ev.To != StateNoLB || ev.StateLog(false) != "Server be/s1 is stopping" {
		t.Errorf("404: %s %q", ev.To, ev.StateLog(false))
	}
}

func TestReportOnlyWhenSomethingChanged(t *testing.T) {
	s := NewServer(Params{Name: "be/s1", Check: true, Rise: 2, Fall: 3})
	if !s.Observe(false, resOK).Report { // health 2 -> 4
		t.Fatal("first success not reported")
	}
	if s.Observe(false, resOK).Report { // nothing moved
		t.Fatal("steady success reported")
	}
	if !s.Observe(false, resFail).Report {
		t.Fatal("failure not reported")
	}
	if !s.Observe(false, Result{Status: StatusL4TOUT}).Report {
		t.Fatal("status change not reported")
	}
}

func agentRes(line string) Result { return ParseAgentReply(line).Result() }

func TestAgentTransitions(t *testing.T) {
	p := Params{Name: "be/s1", Check: true, Agent: true, Rise: 1, Fall: 1, Weight: 10}
	s := NewServer(p)
	s.Observe(false, resOK)
	steps := []struct {
		agent bool
		res   Result
		want  State
		wt    int
		log   string
	}{
		{true, agentRes("up 50%\n"), StateUp, 5, ""},
		{true, Result{Status: StatusL4CON, Info: "Connection refused"}, StateUp, 5, ""}, // unreachable agent: no change
		{true, agentRes("down #why not\n"), StateDown, 5, "Server be/s1 is DOWN"},
		{false, resOK, StateDown, 5, ""}, // check alone cannot bring it back
		{true, agentRes("up\n"), StateUp, 5, "Server be/s1 is UP"},
		{true, agentRes("drain\n"), StateDrain, 5, "Server be/s1 enters drain state"},
		{true, agentRes("ready\n"), StateUp, 5, "Server be/s1 is UP (leaving forced drain)"},
		{true, agentRes("maint\n"), StateMaint, 5, "Server be/s1 is going DOWN for maintenance"},
		{true, agentRes("up\n"), StateMaint, 5, ""}, // up does not end maintenance
		{true, agentRes("ready 100%\n"), StateUp, 10, "Server be/s1 is UP/READY (leaving forced maintenance)"},
		{true, agentRes("300%\n"), StateUp, 30, ""},
		{true, agentRes("5%x\n"), StateUp, 30, ""}, // warning: weight unchanged
		{true, agentRes("0%\n"), StateUp, 0, ""},
		{true, agentRes("stopped\n"), StateDown, 0, "Server be/s1 is DOWN"},
		{false, resFail, StateDown, 0, ""},
		{true, agentRes("up 100%\n"), StateDown, 10, ""}, // the check is down
		{false, resOK, StateUp, 10, "Server be/s1 is UP"},
	}
	for i, st := range steps {
		ev := s.Observe(st.agent, st.res)
		if ev.To != st.want || s.Weight() != st.wt || ev.StateLog(false) != st.log {
			t.Fatalf("step %d (%s): state %s weight %d log %q; want %s %d %q", i, st.res.Info, ev.To, s.Weight(), ev.StateLog(false), st.want, st.wt, st.log)
		}
	}
}

func TestMaintenancePausesChecks(t *testing.T) {
	s := NewServer(Params{Name: "be/s1", Check: true, Rise: 2, Fall: 3})
	s.Observe(false, resOK)
	s.SetAdmin(AdminMaint)
	if !s.Paused() || s.State() != StateMaint {
		t.Fatal("not paused in maintenance")
	}
	if ev := s.Observe(false, resFail); ev.Report || ev.Changed() {
		t.Fatal("result counted while paused")
	}
	ev := s.SetAdmin(AdminReady)
	if ev.To != StateUp || s.Paused() {
		t.Fatalf("leaving maintenance: %s", ev.To)
	}
	// haproxy restarts the counter at rise: "UP 1/3", one failure is DOWN
	if h, _, _ := s.Health(false); h != 2 {
		t.Fatalf("health after maintenance %d", h)
	}
}

func TestAgentDrainWordInHealthLog(t *testing.T) {
	s := NewServer(Params{Name: "be/s1", Check: true, Agent: true, Rise: 1, Fall: 1, Weight: 10})
	ev := s.Observe(true, agentRes("up 0%\n"))
	if !strings.HasSuffix(ev.HealthLog(), "status: 1/1 DRAIN.") || !strings.HasPrefix(ev.HealthLog(), "Agent check for server be/s1 succeeded") {
		t.Fatalf("got %s", ev.HealthLog())
	}
}
