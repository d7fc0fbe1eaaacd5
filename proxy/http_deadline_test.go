package proxy

import (
	"testing"
	"time"
)

// TestMoveDeadline: a remembered deadline stays while it is within the
// slack after where the timeout puts it, and moves otherwise; it is
// never before now+timeout and never more than the slack after it.
func TestMoveDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cur time.Time
	to := 10 * time.Second // slack 250ms
	if at, ok := moveDeadline(&cur, t0, to); !ok || !at.Equal(t0.Add(to+maxSlack)) {
		t.Fatalf("first: %v %v", at, ok)
	}
	for _, c := range []struct {
		after time.Duration
		moves bool
	}{
		{0, false},
		{100 * time.Millisecond, false},
		{250 * time.Millisecond, false},
		{251 * time.Millisecond, true}, // would fire early: moves
	} {
		saved := cur
		at, ok := moveDeadline(&cur, t0.Add(c.after), to)
		if ok != c.moves {
			t.Errorf("after %v: moved %v, want %v", c.after, ok, c.moves)
		}
		want := t0.Add(c.after + to)
		if got := cur; got.Before(want) || got.Sub(want) > maxSlack {
			t.Errorf("after %v: deadline %v, want within [%v, +%v]", c.after, got, want, maxSlack)
		}
		if ok && !at.Equal(cur) {
			t.Errorf("after %v: set %v, remembered %v", c.after, at, cur)
		}
		if !ok {
			cur = saved
		}
	}
	// a shorter timeout than the remembered one moves it back
	cur = t0.Add(to + maxSlack)
	if _, ok := moveDeadline(&cur, t0, time.Second); !ok || !cur.Equal(t0.Add(time.Second+time.Second/16)) {
		t.Errorf("shorter timeout: %v %v", cur, ok)
	}
	// no timeout: no deadline, always set
	if at, ok := moveDeadline(&cur, t0, 0); !ok || !at.IsZero() || !cur.IsZero() {
		t.Errorf("no timeout: %v %v %v", at, ok, cur)
	}
}
