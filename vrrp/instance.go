package vrrp

import (
	"net/netip"
	"time"
)

// State is a VRRP instance state.
type State int

// Instance states.
const (
	Init State = iota
	Backup
	Master
	Fault
)

func (s State) String() string {
	return [...]string{"INIT", "BACKUP", "MASTER", "FAULT"}[s]
}

// Config is one vrrp_instance as the state machine needs it.
type Config struct {
	Name         string
	VRID         uint8
	Priority     int // base priority, 1..255
	Interval     time.Duration
	Version      int // 2 or 3
	NoPreempt    bool
	PreemptDelay time.Duration
	StartMaster  bool // state MASTER
	Addrs        []netip.Addr
	Primary      netip.Addr // our address, for equal-priority elections
}

// ActionKind is something the driver must do.
type ActionKind int

// Actions, in the order the driver must carry them out.
const (
	SendAdvert ActionKind = iota
	AddVIPs
	DelVIPs
	SendGARP
	Notify
)

// Action is one step for the driver.
type Action struct {
	Kind     ActionKind
	Priority uint8 // SendAdvert: the priority to announce
	State    State // Notify: the state entered
	Synced   bool  // Notify: entered because the sync group moved
}

// Instance is the VRRP state machine of RFC 3768/5798 with keepalived's
// behaviour. It does no I/O: feed it adverts and time, then carry out
// Ready's actions.
type Instance struct {
	cfg          Config
	state        State
	prio         int
	masterInt    time.Duration // Master_Adver_Interval (learned in v3)
	masterDown   time.Time
	adverAt      time.Time
	preemptSince time.Time
	actions      []Action
	ownFault     bool // trackers or the interface say FAULT
	groupFault   bool // the sync group is in FAULT
}

// NewInstance makes an instance in Init.
func NewInstance(cfg Config) *Instance {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Version == 0 {
		cfg.Version = 2
	}
	return &Instance{cfg: cfg, prio: cfg.Priority, masterInt: cfg.Interval}
}

// State returns the current state.
func (i *Instance) State() State { return i.state }

// Priority returns the effective priority.
func (i *Instance) Priority() int { return i.prio }

// Ready returns and clears the pending actions.
func (i *Instance) Ready() []Action {
	a := i.actions
	i.actions = nil
	return a
}

// Deadline is when Tick must next be called.
func (i *Instance) Deadline() time.Time {
	switch i.state {
	case Backup:
		return i.masterDown
	case Master:
		return i.adverAt
	}
	return time.Time{}
}

// skew is Skew_Time: (256-prio)/256 s in v2, scaled by the master's
// interval in v3.
func (i *Instance) skew() time.Duration {
	p := time.Duration(256 - i.prio)
	if i.cfg.Version == 3 {
		return p * i.masterInt / 256
	}
	return p * time.Second / 256
}

// masterDownInterval is 3 x Master_Adver_Interval + Skew_Time.
func (i *Instance) masterDownInterval() time.Duration { return 3*i.masterInt + i.skew() }

func (i *Instance) emit(a ...Action) { i.actions = append(i.actions, a...) }

// Start leaves Init: the address owner (priority 255 with state MASTER)
// becomes master at once, any other instance waits as backup.
func (i *Instance) Start(now time.Time) {
	if i.prio == 255 && i.cfg.StartMaster {
		i.becomeMaster(now)
		return
	}
	i.becomeBackup(now, false)
}

func (i *Instance) becomeMaster(now time.Time) {
	i.state = Master
	i.emit(Action{Kind: SendAdvert, Priority: uint8(i.prio)}, Action{Kind: AddVIPs}, Action{Kind: SendGARP}, Action{Kind: Notify, State: Master})
	i.adverAt = now.Add(i.cfg.Interval)
}

func (i *Instance) becomeBackup(now time.Time, wasMaster bool) {
	if wasMaster {
		i.emit(Action{Kind: DelVIPs})
	}
	i.state = Backup
	i.masterDown = now.Add(i.masterDownInterval())
	i.preemptSince = time.Time{}
	i.emit(Action{Kind: Notify, State: Backup})
}

// Tick runs the timers.
func (i *Instance) Tick(now time.Time) {
	switch i.state {
	case Backup:
		if !now.Before(i.masterDown) {
			i.masterInt = i.cfg.Interval
			i.becomeMaster(now)
		}
	case Master:
		if !now.Before(i.adverAt) {
			i.emit(Action{Kind: SendAdvert, Priority: uint8(i.prio)})
			i.adverAt = now.Add(i.cfg.Interval)
		}
	}
}

// Step handles a received, validated advert for this VRID from src.
func (i *Instance) Step(a *Advert, src netip.Addr, now time.Time) {
	switch i.state {
	case Backup:
		if a.Priority == 0 {
			i.masterDown = now.Add(i.skew())
			return
		}
		lower := int(a.Priority) < i.prio
		if lower && !i.cfg.NoPreempt {
			if i.cfg.PreemptDelay > 0 {
				if i.preemptSince.IsZero() {
					i.preemptSince = now
				}
				if now.Sub(i.preemptSince) < i.cfg.PreemptDelay {
					i.masterDown = now.Add(i.masterDownInterval())
				}
			}
			return // let Master_Down_Timer run: we take over
		}
		if i.cfg.Version == 3 && a.Interval > 0 {
			i.masterInt = a.Interval
		}
		i.preemptSince = time.Time{}
		i.masterDown = now.Add(i.masterDownInterval())
	case Master:
		if a.Priority == 0 {
			i.emit(Action{Kind: SendAdvert, Priority: uint8(i.prio)})
			i.adverAt = now.Add(i.cfg.Interval)
			return
		}
		if int(a.Priority) > i.prio || int(a.Priority) == i.prio && src.Compare(i.cfg.Primary) > 0 {
			if i.cfg.Version == 3 && a.Interval > 0 {
				i.masterInt = a.Interval
			}
			i.becomeBackup(now, true)
			return
		}
		// a lower-priority master: answer at once to force the election
		i.emit(Action{Kind: SendAdvert, Priority: uint8(i.prio)})
		i.adverAt = now.Add(i.cfg.Interval)
	}
}

// SetPriority applies the effective priority computed from trackers.
func (i *Instance) SetPriority(p int) {
	if i.cfg.Priority == 255 {
		return // an owner's priority never moves
	}
	i.prio = min(max(p, 1), 254)
}

// SetFault enters or leaves FAULT (tracked failure with weight 0,
// interface down).
func (i *Instance) SetFault(fault bool, now time.Time) {
	i.ownFault = fault
	i.settleFault(now)
}

// settleFault moves in or out of FAULT when the instance's own fault or
// its sync group's says so.
func (i *Instance) settleFault(now time.Time) {
	fault := i.ownFault || i.groupFault
	switch {
	case fault && i.state != Fault:
		if i.state == Master {
			i.emit(Action{Kind: SendAdvert, Priority: 0}, Action{Kind: DelVIPs})
		}
		i.state = Fault
		i.emit(Action{Kind: Notify, State: Fault})
	case !fault && i.state == Fault:
		i.becomeBackup(now, false)
	}
}

// Sync moves the instance to the state its vrrp_sync_group entered: a
// member that became master pulls a backup to master, one that went
// backup pulls a master back, one in FAULT holds every member in FAULT
// until the group leaves it.
func (i *Instance) Sync(s State, now time.Time) {
	if i.state == Init {
		return
	}
	mark := len(i.actions)
	i.groupFault = s == Fault
	i.settleFault(now)
	switch {
	case s == Master && i.state == Backup:
		i.masterInt = i.cfg.Interval
		i.becomeMaster(now)
	case s == Backup && i.state == Master:
		i.becomeBackup(now, true)
	}
	for n := mark; n < len(i.actions); n++ {
		i.actions[n].Synced = true
	}
}

// Shutdown stops the instance: a master sends priority 0 so that a backup
// takes over after Skew_Time, and removes its VIPs.
func (i *Instance) Shutdown(now time.Time) {
	if i.state == Master {
		i.emit(Action{Kind: SendAdvert, Priority: 0}, Action{Kind: DelVIPs})
	}
	i.state = Init
	i.emit(Action{Kind: Notify, State: Init})
}
