package check

import "time"

// spreadThreshold is haproxy's SRV_CHK_INTER_THRES: only intervals of at
// least this length set the window over which first checks are spread.
const spreadThreshold = time.Second

// Interval returns the delay before the next run of the health check
// (agent=false) or agent check, chosen as haproxy does: Inter while the
// server is fully UP, DownInter while it is fully DOWN, FastInter while its
// counter is between the two (each falling back to Inter when unset). The
// agent always uses AgentInter.
func (s *Server) Interval(agent bool) time.Duration {
	if agent {
		return s.p.AgentInter
	}
	c := &s.chk
	if c.health == c.max() {
		return s.p.Inter
	}
	if s.op == opStopped && c.health == 0 {
		if s.p.DownInter > 0 {
			return s.p.DownInter
		}
		return s.p.Inter
	}
	if s.p.FastInter > 0 {
		return s.p.FastInter
	}
	return s.p.Inter
}

// Spread applies haproxy's spread-checks jitter to an interval: with
// percent p (0..50) the result is uniform in [d - d*p/100, d + d*p/100].
// rnd is a random number in [0,1) supplied by the caller.
func Spread(d time.Duration, percent int, rnd float64) time.Duration {
	if percent <= 0 {
		return d
	}
	ms := d.Milliseconds()
	rv := ms * int64(percent) / 100
	rv -= int64(2 * float64(rv) * rnd)
	return time.Duration(ms+rv) * time.Millisecond
}

// FirstDelays returns when each check should run first after start-up, as
// haproxy spreads them: checks are numbered in configuration order (each
// server's health check, then its agent), and check i of n starts at
// min*i/n, where min is the smallest interval of at least one second (no
// spreading when every interval is shorter).
func FirstDelays(inters []time.Duration) []time.Duration {
	var minInter time.Duration
	for _, d := range inters {
		if d >= spreadThreshold && (minInter == 0 || d < minInter) {
			minInter = d
		}
	}
	out := make([]time.Duration, len(inters))
	n := int64(len(inters))
	for i := range inters {
		ms := minInter.Milliseconds() * int64(i) / n
		out[i] = time.Duration(ms) * time.Millisecond
	}
	return out
}

// Timeouts bound one check run, from the proxy's "timeout connect",
// "timeout check" and the server's "inter".
type Timeouts struct {
	Connect, Check, Inter time.Duration
}

// ConnectTimeout returns how long the connection may take: "inter", or
// min(inter, timeout connect) when "timeout check" is set.
func (t Timeouts) ConnectTimeout() time.Duration {
	d := t.Inter
	if d <= 0 {
		d = DefaultInter
	}
	if t.Check > 0 && t.Connect > 0 && t.Connect < d {
		d = t.Connect
	}
	return d
}

// ReadTimeout returns how long the check may take once connected, given the
// time the connection took: "timeout check" when set, otherwise what is
// left of "inter".
func (t Timeouts) ReadTimeout(connected time.Duration) time.Duration {
	if t.Check > 0 {
		return t.Check
	}
	d := t.Inter
	if d <= 0 {
		d = DefaultInter
	}
	if d -= connected; d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}
