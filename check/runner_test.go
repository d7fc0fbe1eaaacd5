package check

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// scripted is a probe that returns results from a list (pure scheduling
// tests: the results, not the I/O, are under test).
type scripted struct {
	mu  sync.Mutex
	res []Result
}

func (s *scripted) Run(ctx context.Context, t Target) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res[0]
	if len(s.res) > 1 {
		s.res = s.res[1:]
	}
	return r
}

func startRunner(t *testing.T, r *Runner, checks []ServerCheck) chan Event {
	t.Helper()
	evs := make(chan Event, 100)
	r.OnEvent = func(e Event) { evs <- e }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, checks); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return evs
}

func nextEvent(t *testing.T, evs chan Event) Event {
	t.Helper()
	select {
	case e := <-evs:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func TestRunnerIntervalsPerTransition(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	p := &scripted{res: []Result{resOK, resFail, resFail, resFail, resOK, resOK}}
	r := &Runner{Clock: clk}
	evs := startRunner(t, r, []ServerCheck{{
		Params: Params{Name: "be/s1", Rise: 2, Fall: 3, Inter: 2 * time.Second, FastInter: 500 * time.Millisecond, DownInter: 5 * time.Second},
		Probe:  p, Target: Target{Addr: "127.0.0.1:1"},
	}})
	want := []struct {
		state State
		next  time.Duration
	}{
		{StateUp, 2 * time.Second},          // fully up: inter
		{StateUp, 500 * time.Millisecond},   // going down: fastinter
		{StateUp, 500 * time.Millisecond},   //
		{StateDown, 5 * time.Second},        // fully down: downinter
		{StateDown, 500 * time.Millisecond}, // going up: fastinter
		{StateUp, 2 * time.Second},          // up again
	}
	for i, w := range want {
		ev := nextEvent(t, evs)
		ws := clk.WaitWaiters(1)
		if ev.To != w.state || ws[0] != w.next {
			t.Fatalf("step %d: state %s next %v, want %s %v", i, ev.To, ws[0], w.state, w.next)
		}
		clk.Advance(ws[0])
	}
}

func TestRunnerSpreadJitter(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	r := &Runner{Clock: clk, Spread: 10, Rand: func() float64 { return 0 }}
	evs := startRunner(t, r, []ServerCheck{{Params: Params{Name: "be/s1", Inter: 2 * time.Second, Fall: 1},
		Probe: &scripted{res: []Result{resOK}}}})
	nextEvent(t, evs)
	if ws := clk.WaitWaiters(1); ws[0] != 2200*time.Millisecond {
		t.Fatalf("jittered interval %v, want 2.2s", ws[0])
	}
}

func TestFirstDelaysSpreadAcrossChecks(t *testing.T) {
	// haproxy spreads first checks over the smallest interval >= 1s
	got := FirstDelays([]time.Duration{20 * time.Second, 20 * time.Second, 200 * time.Millisecond, 10 * time.Second})
	want := []time.Duration{0, 2500 * time.Millisecond, 5 * time.Second, 7500 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	for _, d := range FirstDelays([]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}) {
		if d != 0 {
			t.Fatal("short intervals must all start at once")
		}
	}
	if Spread(time.Second, 50, 0.999999) < 500*time.Millisecond || Spread(time.Second, 50, 0) != 1500*time.Millisecond {
		t.Fatal("spread bounds")
	}
}

// TestRunnerServerGoesAwayAndComesBack uses a real loopback listener: the
// server is marked DOWN after exactly fall failed checks and UP after
// exactly rise good ones.
func TestRunnerServerGoesAwayAndComesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go acceptAll(ln)
	clk := NewManualClock(time.Unix(0, 0))
	r := &Runner{Clock: clk}
	const rise, fall = 2, 3
	evs := startRunner(t, r, []ServerCheck{{
		Params: Params{Name: "be/s1", Rise: rise, Fall: fall, Inter: time.Second},
		Probe:  TCPProbe(), Target: Target{Addr: addr, Timeouts: Timeouts{Inter: 2 * time.Second}},
	}})
	step := func() Event { // advance to the next check, return its event
		clk.Advance(clk.WaitWaiters(1)[0])
		return nextEvent(t, evs)
	}
	if ev := nextEvent(t, evs); ev.To != StateUp || ev.Result.Status != StatusL4OK {
		t.Fatalf("first check: %s %s", ev.To, ev.Result.Text())
	}
	ln.Close()
	for i := 1; i <= fall; i++ {
		ev := step()
		if ev.Result.Status != StatusL4CON || ev.Result.Info != "Connection refused" {
			t.Fatalf("failure %d: %s", i, ev.Result.Text())
		}
		if (ev.To == StateDown) != (i == fall) {
			t.Fatalf("after %d failures state %s (fall %d)", i, ev.To, fall)
		}
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go acceptAll(ln2)
	for i := 1; i <= rise; i++ {
		ev := step()
		if (ev.To == StateUp) != (i == rise) {
			t.Fatalf("after %d successes state %s (rise %d)", i, ev.To, rise)
		}
	}
	if st, _, _, _ := r.State("be/s1"); st != StateUp {
		t.Fatalf("final state %s", st)
	}
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// TestRunnerAgentDrainDownWeight drives a real agent over loopback.
func TestRunnerAgentDrainDownWeight(t *testing.T) {
	replies := make(chan string, 10)
	for _, s := range []string{"drain\n", "ready\n", "down\n", "up 50%\n"} {
		replies <- s
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case s := <-replies:
				c.Write([]byte(s))
			default:
				c.Write([]byte("up\n"))
			}
			c.Close()
		}
	}()
	clk := NewManualClock(time.Unix(0, 0))
	r := &Runner{Clock: clk}
	evs := startRunner(t, r, []ServerCheck{{
		Params: Params{Name: "be/s1", Weight: 10, AgentInter: time.Second},
		Agent:  AgentProbe(""), AgentTarget: Target{Addr: ln.Addr().String(), Timeouts: Timeouts{Inter: 2 * time.Second}},
	}})
	for i, w := range []struct {
		state  State
		weight int
	}{{StateDrain, 10}, {StateUp, 10}, {StateDown, 10}, {StateUp, 5}} {
		ev := nextEvent(t, evs)
		if ev.To != w.state || ev.Weight != w.weight {
			t.Fatalf("reply %d: %s weight %d (%s)", i, ev.To, ev.Weight, ev.Result.Text())
		}
		clk.Advance(clk.WaitWaiters(1)[0])
	}
}
