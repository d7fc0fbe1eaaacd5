package balance

import (
	"net/netip"
	"testing"
	"time"
)

// TestStickTable: entries live expire after their last use, the least
// recently used goes when the table is full, and a balancer sends a
// stuck client back to its server while that server is up.
func TestStickTable(t *testing.T) {
	now := time.Unix(1000, 0)
	st := NewStickTable(2, 10*time.Second, func() time.Time { return now })
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	st.Put(a, "s1", 1)
	st.Put(b, "s2", 2)
	now = now.Add(5 * time.Second)
	if s, ok := st.Get(a); !ok || s != "s1" { // a is now the most recent
		t.Fatalf("a: %q %v", s, ok)
	}
	st.Put(c, "s3", 3) // full: b, the least recently used, goes
	if _, ok := st.Get(b); ok || st.Len() != 2 {
		t.Fatalf("b kept, %d entries", st.Len())
	}
	now = now.Add(9 * time.Second) // a used 9 s ago, c 9 s ago
	if _, ok := st.Get(a); !ok {
		t.Fatal("a expired early")
	}
	now = now.Add(10 * time.Second)
	if _, ok := st.Get(a); ok {
		t.Fatal("a outlived its expiry")
	}

	bal := New(Spec{Algo: "roundrobin"}, []Server{{Name: "s1", Weight: 1}, {Name: "s2", Weight: 1}}, nil)
	bal.SetStick(NewStickTable(0, 0, nil))
	req := &Request{Src: a}
	first := bal.Pick(req)
	for i := 0; i < 5; i++ {
		if got := bal.Pick(req); got != first {
			t.Fatalf("pick %d: server %d, want %d (stuck)", i, got, first)
		}
	}
	bal.SetState(first, Down)
	other := bal.Pick(req)
	if other == first || other < 0 {
		t.Fatalf("with its server down: %d", other)
	}
	bal.SetState(first, Up)
	if got := bal.Pick(req); got != other {
		t.Fatalf("after the failover the client stays on %d, got %d", other, got)
	}
}
