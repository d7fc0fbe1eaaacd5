package proxy

import (
	"testing"
	"time"
)

// clockNow's moments fall between time.Now's before and after it, by the
// monotonic and by the wall clock, whether it reads a new base or adds to
// the one it has.
func TestClockNowBetweenTimeNows(t *testing.T) {
	clock.Store(nil)
	for i := 0; i < 5; i++ {
		before := time.Now()
		c := clockNow()
		after := time.Now()
		if c.Before(before) || c.After(after) {
			t.Fatalf("call %d: clockNow %v outside [%v, %v] (monotonic)", i, c, before, after)
		}
		// wall times: the base may lag a wall clock step, none happens here
		if w := c.Round(0); w.Before(before.Round(0).Add(-time.Millisecond)) || w.After(after.Round(0).Add(time.Millisecond)) {
			t.Fatalf("call %d: clockNow wall %v outside [%v, %v]", i, w, before.Round(0), after.Round(0))
		}
		if i == 0 && clock.Load() == nil {
			t.Fatal("no base kept after the first call")
		}
		time.Sleep(3 * time.Millisecond)
	}
	old := clock.Load()
	stale := &clockBase{wall: old.wall.Add(-2 * time.Second), mono: old.mono - int64(2*time.Second)} // read 2s ago
	clock.Store(stale)
	before := time.Now()
	c := clockNow()
	after := time.Now()
	if clock.Load() == stale || c.Before(before) || c.After(after) {
		t.Fatalf("a base older than a second was kept (clockNow %v, before %v)", c, before)
	}
}
