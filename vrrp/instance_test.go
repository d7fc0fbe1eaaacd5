package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Unix(1000, 0)

func kinds(as []Action) []ActionKind {
	var k []ActionKind
	for _, a := range as {
		k = append(k, a.Kind)
	}
	return k
}

func TestBackupTakesOverAfterMasterDownInterval(t *testing.T) {
	i := NewInstance(Config{VRID: 1, Priority: 100, Interval: time.Second})
	i.Start(t0)
	if i.State() != Backup {
		t.Fatalf("start: %v", i.State())
	}
	// v2, priority 100: skew 156/256 s = 609.375 ms; MDI = 3.609375 s
	if d := i.Deadline().Sub(t0); d != 3609375*time.Microsecond {
		t.Errorf("master down interval %v", d)
	}
	i.Ready()
	i.Tick(t0.Add(3609374 * time.Microsecond))
	if i.State() != Backup {
		t.Fatalf("took over early")
	}
	i.Tick(t0.Add(3609375 * time.Microsecond))
	if i.State() != Master {
		t.Fatalf("did not take over")
	}
	got := kinds(i.Ready())
	want := []ActionKind{SendAdvert, AddVIPs, SendGARP, Notify}
	if len(got) != len(want) {
		t.Fatalf("actions %v", got)
	}
	for n := range want {
		if got[n] != want[n] {
			t.Fatalf("actions %v, want advert, VIPs, GARP, notify in that order", got)
		}
	}
}

func TestAdvertsKeepBackupAndPriorityZeroShortens(t *testing.T) {
	i := NewInstance(Config{VRID: 1, Priority: 100})
	i.Start(t0)
	now := t0
	for n := 0; n < 10; n++ {
		now = now.Add(time.Second)
		i.Step(&Advert{Priority: 150}, netip.MustParseAddr("192.0.2.2"), now)
		i.Tick(now)
	}
	if i.State() != Backup {
		t.Fatalf("backup lost to a live master")
	}
	i.Step(&Advert{Priority: 0}, netip.MustParseAddr("192.0.2.2"), now)
	if d := i.Deadline().Sub(now); d != 609375*time.Microsecond {
		t.Errorf("after priority 0 the timer is Skew_Time, got %v", d)
	}
}

func TestPreemptAndNoPreempt(t *testing.T) {
	for _, nopreempt := range []bool{false, true} {
		i := NewInstance(Config{VRID: 1, Priority: 150, NoPreempt: nopreempt})
		i.Start(t0)
		now := t0
		for n := 0; n < 10; n++ {
			now = now.Add(time.Second)
			i.Step(&Advert{Priority: 100}, netip.MustParseAddr("192.0.2.2"), now)
			i.Tick(now)
		}
		if (i.State() == Master) == nopreempt {
			t.Errorf("nopreempt=%v: state %v after adverts from a lower-priority master", nopreempt, i.State())
		}
	}
}

func TestPreemptDelay(t *testing.T) {
	i := NewInstance(Config{VRID: 1, Priority: 150, PreemptDelay: 10 * time.Second})
	i.Start(t0)
	now := t0
	for n := 0; n < 9; n++ {
		now = now.Add(time.Second)
		i.Step(&Advert{Priority: 100}, netip.MustParseAddr("192.0.2.2"), now)
		i.Tick(now)
	}
	if i.State() != Backup {
		t.Fatalf("took over before preempt_delay")
	}
	for n := 0; n < 10; n++ {
		now = now.Add(time.Second)
		i.Step(&Advert{Priority: 100}, netip.MustParseAddr("192.0.2.2"), now)
		i.Tick(now)
	}
	if i.State() != Master {
		t.Fatalf("did not take over after preempt_delay")
	}
}

func TestMasterYieldsAndTieBreak(t *testing.T) {
	i := NewInstance(Config{VRID: 1, Priority: 100, Primary: netip.MustParseAddr("192.0.2.5")})
	i.Start(t0)
	i.Tick(t0.Add(4 * time.Second))
	i.Ready()
	i.Step(&Advert{Priority: 100}, netip.MustParseAddr("192.0.2.4"), t0.Add(4*time.Second))
	if i.State() != Master || kinds(i.Ready())[0] != SendAdvert {
		t.Fatalf("equal priority from a lower address: stay master and answer")
	}
	i.Step(&Advert{Priority: 100}, netip.MustParseAddr("192.0.2.9"), t0.Add(5*time.Second))
	if i.State() != Backup {
		t.Fatalf("equal priority from a higher address must win")
	}
	if k := kinds(i.Ready()); k[0] != DelVIPs {
		t.Errorf("leaving master must remove VIPs first: %v", k)
	}
}

func TestOwnerShutdownAndFault(t *testing.T) {
	o := NewInstance(Config{VRID: 1, Priority: 255, StartMaster: true})
	o.Start(t0)
	if o.State() != Master {
		t.Fatalf("owner must start master")
	}
	o.SetPriority(10)
	if o.Priority() != 255 {
		t.Errorf("owner priority moved")
	}
	o.Ready()
	o.Shutdown(t0.Add(time.Second))
	as := o.Ready()
	if as[0].Kind != SendAdvert || as[0].Priority != 0 || as[1].Kind != DelVIPs {
		t.Errorf("shutdown must send priority 0 then remove VIPs: %+v", as)
	}
	i := NewInstance(Config{VRID: 1, Priority: 100})
	i.Start(t0)
	i.Tick(t0.Add(4 * time.Second))
	i.Ready()
	i.SetFault(true, t0.Add(5*time.Second))
	as = i.Ready()
	if i.State() != Fault || as[0].Priority != 0 || as[1].Kind != DelVIPs {
		t.Errorf("fault from master: %+v", as)
	}
	i.SetFault(false, t0.Add(6*time.Second))
	if i.State() != Backup {
		t.Errorf("fault cleared: %v", i.State())
	}
	i.SetPriority(300)
	if i.Priority() != 254 {
		t.Errorf("effective priority clamps to 254, got %d", i.Priority())
	}
}

func TestV3SkewUsesMasterInterval(t *testing.T) {
	i := NewInstance(Config{VRID: 1, Priority: 100, Version: 3, Interval: 100 * time.Millisecond})
	i.Start(t0)
	// 3 x 100 ms + 156 x 100 ms / 256 = 360.9375 ms
	if d := i.Deadline().Sub(t0); d != 360937500*time.Nanosecond {
		t.Errorf("v3 master down interval %v", d)
	}
	i.Step(&Advert{Priority: 150, Interval: time.Second, Version: 3}, netip.MustParseAddr("192.0.2.2"), t0)
	if d := i.Deadline().Sub(t0); d != 3609375*time.Microsecond {
		t.Errorf("backup must adopt the master's interval: %v", d)
	}
}
