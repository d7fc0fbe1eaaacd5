package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// syncPair runs two members of one group with fake time: each transition
// a member reports is fed to the group, which syncs the other member.
type syncPair struct {
	g   Group
	m   [2]*Instance
	log []string
}

func (p *syncPair) drain(now time.Time) {
	for moved := true; moved; {
		moved = false
		for n, in := range p.m {
			for _, a := range in.Ready() {
				if a.Kind != Notify {
					continue
				}
				p.log = append(p.log, in.cfg.Name+"="+a.State.String())
				if a.Synced {
					continue
				}
				if s, ok := p.g.Observe(a.State); ok {
					p.m[1-n].Sync(s, now)
					moved = true
				}
			}
		}
	}
}

func TestSyncGroupMovesTogether(t *testing.T) {
	p := &syncPair{}
	p.m[0] = NewInstance(Config{Name: "VI_1", VRID: 1, Priority: 100, Interval: time.Second})
	p.m[1] = NewInstance(Config{Name: "VI_2", VRID: 2, Priority: 100, Interval: 2 * time.Second})
	for _, in := range p.m {
		in.Start(t0)
	}
	p.drain(t0)
	// VI_1 (1 s adverts) times out first and pulls VI_2 (2 s) along
	now := t0.Add(3609375 * time.Microsecond)
	p.m[0].Tick(now)
	p.drain(now)
	if p.m[0].State() != Master || p.m[1].State() != Master {
		t.Fatalf("after VI_1's timeout: %v %v (%v)", p.m[0].State(), p.m[1].State(), p.log)
	}
	// a higher-priority advert for VI_2 pulls VI_1 back to backup
	now = now.Add(time.Second)
	p.m[1].Step(&Advert{Version: 2, VRID: 2, Priority: 200, Interval: 2 * time.Second}, netip.MustParseAddr("192.0.2.2"), now)
	p.drain(now)
	if p.m[0].State() != Backup || p.m[1].State() != Backup {
		t.Fatalf("after VI_2 yielded: %v %v (%v)", p.m[0].State(), p.m[1].State(), p.log)
	}
	// VI_2's tracker faults: VI_1 follows into FAULT, and stays there even
	// when its own trackers report fine, until VI_2 recovers
	p.m[1].SetFault(true, now)
	p.drain(now)
	p.m[0].SetFault(false, now)
	p.drain(now)
	if p.m[0].State() != Fault || p.m[1].State() != Fault {
		t.Fatalf("after VI_2's fault: %v %v (%v)", p.m[0].State(), p.m[1].State(), p.log)
	}
	p.m[1].SetFault(false, now)
	p.drain(now)
	if p.m[0].State() != Backup || p.m[1].State() != Backup {
		t.Fatalf("after VI_2 recovered: %v %v (%v)", p.m[0].State(), p.m[1].State(), p.log)
	}
	want := "VI_1=BACKUP VI_2=BACKUP VI_1=MASTER VI_2=MASTER VI_2=BACKUP VI_1=BACKUP VI_2=FAULT VI_1=FAULT VI_2=BACKUP VI_1=BACKUP"
	if got := strings.Join(p.log, " "); got != want {
		t.Errorf("transitions\n got %s\nwant %s", got, want)
	}
}

// TestSyncGroupOwnFaultHolds: a member with its own fault stays in FAULT
// when the group moves on.
func TestSyncGroupOwnFaultHolds(t *testing.T) {
	in := NewInstance(Config{Name: "VI_1", VRID: 1, Priority: 100})
	in.Start(t0)
	in.SetFault(true, t0)
	in.Sync(Backup, t0)
	in.Sync(Master, t0)
	if in.State() != Fault {
		t.Fatalf("state %v, want FAULT", in.State())
	}
}
