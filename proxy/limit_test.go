package proxy

import (
	"testing"
	"time"
)

// fakeClock hands out timers that fire only when the test says so.
type fakeClock struct{ fire chan chan time.Time }

func (f *fakeClock) after(d time.Duration) (<-chan time.Time, func()) {
	c := make(chan time.Time, 1)
	f.fire <- c
	return c, func() {}
}

// TestQueueOnFakeClock: a server at maxconn queues in FIFO order, a slot
// freed goes to the first in line, and the queue timer (a fake clock
// here) ends a wait with errQueueTimeout.
func TestQueueOnFakeClock(t *testing.T) {
	clk := &fakeClock{fire: make(chan chan time.Time, 4)}
	l := &srvLimit{maxconn: 1, after: clk.after}
	none := func() int { return 0 }
	if err := l.acquire(none, 0, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	results := make(chan string, 3)
	for _, name := range []string{"a", "b", "c"} {
		go func() {
			if err := l.acquire(none, 0, time.Minute, nil); err != nil {
				results <- name + ":" + err.Error()
				return
			}
			results <- name + ":ok"
		}()
		timer := <-clk.fire // this waiter is now queued
		if name == "c" {
			timer <- time.Time{} // c's queue timeout expires
		}
	}
	if got := <-results; got != "c:queue timeout" {
		t.Fatalf("first result %q, want c's queue timeout", got)
	}
	if l.queued() != 2 {
		t.Fatalf("queued %d, want 2", l.queued())
	}
	l.release()
	if got := <-results; got != "a:ok" {
		t.Fatalf("slot went to %q, want a (first in line)", got)
	}
	l.release()
	if got := <-results; got != "b:ok" {
		t.Fatalf("slot went to %q, want b", got)
	}
	if l.cur != 1 || l.queued() != 0 {
		t.Fatalf("cur %d queued %d", l.cur, l.queued())
	}
}

// TestDynamicLimit: with minconn and fullconn, the limit follows the
// backend's load between minconn and maxconn, as haproxy's formula says.
func TestDynamicLimit(t *testing.T) {
	l := &srvLimit{maxconn: 100, minconn: 10}
	for _, c := range []struct{ sessions, want int }{{0, 10}, {50, 10}, {500, 50}, {1000, 100}, {5000, 100}} {
		if got := l.limit(c.sessions, 1000); got != c.want {
			t.Errorf("limit at %d sessions = %d, want %d", c.sessions, got, c.want)
		}
	}
	if got := (&srvLimit{maxconn: 7}).limit(500, 1000); got != 7 {
		t.Errorf("without minconn the limit is maxconn, got %d", got)
	}
}

// TestMaxconnSetWhileBusy: a connection taken while the server had no
// limit still counts when `set maxconn server` adds one, and its end does
// not free a slot it never took from the new limit twice.
func TestMaxconnSetWhileBusy(t *testing.T) {
	clk := &fakeClock{fire: make(chan chan time.Time, 4)}
	l := &srvLimit{after: clk.after}
	none := func() int { return 0 }
	if err := l.acquire(none, 0, time.Minute, nil); err != nil { // A, unlimited
		t.Fatal(err)
	}
	l.setMax(1)
	got := make(chan error, 1)
	go func() { got <- l.acquire(none, 0, time.Minute, nil) }() // B
	<-clk.fire                                                  // B waits: A holds the only slot
	select {
	case err := <-got:
		t.Fatalf("B got a slot while A holds the only one (%v)", err)
	default:
	}
	l.release() // A ends: B gets its slot
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if cur, max := l.current(); cur != 1 || max != 1 {
		t.Fatalf("cur %d max %d, want 1/1", cur, max)
	}
}
