package track

import "strings"

// Status is the state of a tracked script or interface.
type Status uint8

// Tracker states. A script starts in StatusInit: its weight is not applied
// until its first result, which decides at once whatever rise and fall say
// (checked against keepalived 2.2.7).
const (
	StatusInit Status = iota
	StatusOK
	StatusFailed
)

func (s Status) String() string {
	return [...]string{"INIT", "OK", "FAILED"}[s]
}

// Tracker counts a vrrp_script's results as keepalived does: a counter
// 0..rise+fall-1, fall consecutive failures to go from OK to FAILED and rise
// consecutive successes to come back.
type Tracker struct {
	rise, fall, result int
	status             Status
}

// NewTracker returns a tracker in its initial state. rise and fall default
// to 1; initFail (keepalived's init_fail) starts the counter as failed.
func NewTracker(rise, fall int, initFail bool) *Tracker {
	if rise < 1 {
		rise = 1
	}
	if fall < 1 {
		fall = 1
	}
	t := &Tracker{rise: rise, fall: fall, result: rise}
	if initFail {
		t.result = rise - 1
	}
	return t
}

// Status returns the current status.
func (t *Tracker) Status() Status { return t.status }

// Observe records one result and reports whether the status changed.
func (t *Tracker) Observe(ok bool) bool {
	before := t.status
	max := t.rise + t.fall - 1
	if ok {
		switch {
		case t.result < t.rise-1 && t.status != StatusInit:
			t.result++
		case t.result != max || t.status == StatusInit:
			if t.result < t.rise || t.status != StatusOK {
				t.status = StatusOK
			}
			t.result = max
		}
	} else {
		if t.result > t.rise && t.status != StatusInit {
			t.result--
		} else {
			if t.result == t.rise || t.status != StatusFailed {
				t.status = StatusFailed
			}
			t.result = 0
		}
	}
	return t.status != before
}

// Weight is a tracker's weight with keepalived's "reverse" flag.
type Weight struct {
	W       int // -253..253 (-254..254 for files)
	Reverse bool
}

// ScriptDelta returns what a script or interface in status st adds to the
// priority: a positive weight while OK, a negative one while FAILED
// (reverse swaps both the sign and the status), nothing while INIT. With
// weight 0 a FAILED (or not yet run) tracker puts the instance in FAULT.
func ScriptDelta(w Weight, st Status) (delta int, fault bool) {
	if w.W == 0 {
		ok := st == StatusOK
		if w.Reverse && st != StatusInit {
			ok = !ok
		}
		return 0, !ok
	}
	if st == StatusInit {
		return 0, false
	}
	ok, weight := st == StatusOK, w.W
	if w.Reverse {
		ok, weight = !ok, -weight
	}
	if weight > 0 && ok || weight < 0 && !ok {
		return weight, false
	}
	return 0, false
}

// FileDelta returns what a track_file holding value adds: value × weight
// (negated with reverse); with weight 0 any non-zero value is a FAULT.
func FileDelta(w Weight, value int) (delta int, fault bool) {
	if w.W == 0 {
		return 0, value != 0
	}
	d := value * w.W
	if w.Reverse {
		d = -d
	}
	return d, false
}

// ParseFileValue reads a track_file's content as keepalived does: a leading
// integer (after blanks); anything else counts as 0.
func ParseFileValue(s string) int {
	s = strings.TrimLeft(s, " \t\r\n")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v < 1<<20 {
			v = v*10 + int(s[i]-'0')
		}
	}
	v = clampInt(v, 0, 1<<20)
	if neg {
		v = -v
	}
	return v
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// Priority returns the effective priority of an instance with base priority
// base and the trackers' deltas: base + Σ deltas clamped to 1..254, except
// that an address owner (255) is never changed.
func Priority(base int, deltas ...int) int {
	if base >= 255 {
		return 255
	}
	p := base
	for _, d := range deltas {
		p += d
	}
	return clampInt(p, 1, 254)
}
