package proxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/check"
)

// rateCtr counts events per second the way haproxy's frequency counters
// read: the current second's count plus the previous second's, weighted by
// the part of the previous second still inside the last 1000 ms.
type rateCtr struct {
	mu        sync.Mutex
	sec       int64
	cur, prev uint32
	max       uint32
}

func (r *rateCtr) roll(now time.Time) {
	s := now.Unix()
	switch {
	case s == r.sec:
	case s == r.sec+1:
		r.prev, r.cur, r.sec = r.cur, 0, s
	default:
		r.prev, r.cur, r.sec = 0, 0, s
	}
}

func (r *rateCtr) read(now time.Time) uint32 {
	frac := uint64(1e9 - now.Nanosecond())
	return r.cur + uint32(uint64(r.prev)*frac/1e9)
}

// add counts one event now and updates the maximum rate seen.
func (r *rateCtr) add(now time.Time) {
	r.mu.Lock()
	r.roll(now)
	r.cur++
	if v := r.read(now); v > r.max {
		r.max = v
	}
	r.mu.Unlock()
}

// get returns the current rate and the maximum seen.
func (r *rateCtr) get(now time.Time) (cur, max uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roll(now)
	return r.read(now), r.max
}

// swrate is haproxy's sliding average over the last n samples (n=1024
// for the qtime/ctime/ttime columns).
type swrate struct {
	mu  sync.Mutex
	sum uint64
	max uint64
}

const swrateN = 1024

func (s *swrate) add(v uint64) {
	s.mu.Lock()
	s.sum = s.sum - (s.sum+swrateN-1)/swrateN + v
	if v > s.max {
		s.max = v
	}
	s.mu.Unlock()
}

// avg returns the average over min(samples, 1024) samples and the max.
func (s *swrate) avg(samples int64) (avg, max uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := uint64(min(max64(samples, 1), swrateN))
	return (s.sum + n - 1) / n, s.max
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// counters are the traffic counters haproxy keeps for each frontend,
// backend and server (the columns of `show stat` that measure traffic).
type counters struct {
	scur, smax    atomic.Int64 // sessions now / highest
	stot          atomic.Int64 // cumulated sessions
	connTot       atomic.Int64 // cumulated connections (frontends)
	bin, bout     atomic.Int64 // bytes from clients / to clients
	dreq, dresp   atomic.Int64 // denied requests / responses
	dcon, dses    atomic.Int64 // denied by tcp-request connection / session
	ereq          atomic.Int64 // request errors
	econ, eresp   atomic.Int64 // connect errors / response errors
	wretr, wredis atomic.Int64 // retries / redispatches
	lbtot         atomic.Int64 // times picked by the load balancer
	cliAbrt       atomic.Int64 // sessions the client aborted
	srvAbrt       atomic.Int64 // sessions the server aborted
	qmax          atomic.Int64 // highest queue length
	connects      atomic.Int64 // connection attempts to servers
	lastSess      atomic.Int64 // unix nanoseconds of the last session, 0: never
	sessRate      rateCtr
	connRate      rateCtr
	qtime, ctime  swrate
	ttime         swrate
	timedSessions atomic.Int64
	http          httpCtr // http mode
}

// sessionStart counts a new session.
func (c *counters) sessionStart(now time.Time) {
	c.stot.Add(1)
	n := c.scur.Add(1)
	for {
		m := c.smax.Load()
		if n <= m || c.smax.CompareAndSwap(m, n) {
			break
		}
	}
	c.sessRate.add(now)
	c.lastSess.Store(now.UnixNano())
}

// sessionEnd counts a finished session with its bytes and times.
func (c *counters) sessionEnd(in, out int64, queue, connect, total time.Duration) {
	c.scur.Add(-1)
	c.bin.Add(in)
	c.bout.Add(out)
	c.timedSessions.Add(1)
	c.qtime.add(uint64(queue.Milliseconds()))
	c.ctime.add(uint64(connect.Milliseconds()))
	c.ttime.add(uint64(total.Milliseconds()))
}

func (c *counters) noteQueue(n int) {
	for {
		m := c.qmax.Load()
		if int64(n) <= m || c.qmax.CompareAndSwap(m, int64(n)) {
			return
		}
	}
}

// srvState is a server's administrative and check state with its
// counters, as the stats CSV, the runtime API and the stats page show it.
type srvState struct {
	ctr counters

	mu       sync.Mutex
	cfgMaint bool // `disabled` in the configuration (CMAINT)
	maint    bool // set by the runtime API or the stats page (FMAINT)
	resMaint bool // no address: unresolved, or resolvers failing past hold (RMAINT)
	// an SRV record's server (resolvers_srv.go): the record it holds
	// (target "" for none) and whether it ever held one (HMAINT in
	// haproxy's admin state)
	srvTarget string
	srvPort   int
	hmaint    bool
	drain     bool // set by the runtime API or the stats page (FDRAIN)
	hasCheck  bool
	checkSt   check.State // state the checks decided
	health    int
	rise      int
	fall      int
	result    check.Result
	checked   bool // at least one check result
	chkfail   int64
	chkdown   int64
	lastChg   time.Time
	downSince time.Time // zero while up
	downtime  time.Duration
	iweight   int // weight from the configuration
	uweight   int // weight now (runtime API, agent)
	addrChg   int
}

// dropHealth is what entering maintenance does to a server without
// health checks: its health goes to 0, and as in haproxy leaving
// maintenance does not give it back. st.mu is held (or st not yet shared).
func (st *srvState) dropHealth() {
	if !st.hasCheck {
		st.health = 0
	}
}

// changeAdmin changes the admin state of server i under the backend's
// and the server's locks and moves the balancer at once; change reports
// whether it changed anything. act and bck are the usable active and
// backup servers after it.
func (be *backend) changeAdmin(i int, change func(st *srvState) bool) (changed bool, act, bck int) {
	st := be.servers[i].st
	be.mu.Lock()
	defer be.mu.Unlock()
	st.mu.Lock()
	wasUp := st.running()
	if !change(st) {
		st.mu.Unlock()
		return false, 0, 0
	}
	now := time.Now()
	st.noteChange(wasUp, now)
	be.applyState(i)
	st.mu.Unlock()
	be.noteAvailability(now)
	act, bck = be.usableCounts()
	return true, act, bck
}

// setWeight sets server i's weight now (runtime API, agent checks, SRV
// records); be.mu is held.
func (be *backend) setWeight(i, w int) {
	st := be.servers[i].st
	st.mu.Lock()
	st.uweight = w
	st.mu.Unlock()
	be.bal.SetWeight(i, w)
}

// effective returns the state the balancer must use.
func (st *srvState) effective() balance.State {
	switch {
	case st.cfgMaint || st.maint || st.resMaint:
		return balance.Maint
	case st.checkSt == check.StateDown:
		return balance.Down
	case st.checkSt == check.StateMaint:
		return balance.Maint
	case st.drain || st.checkSt == check.StateDrain || st.checkSt == check.StateNoLB:
		return balance.Drain
	}
	return balance.Up
}

// running reports whether the server counts as up (for act/bck, downtime).
func (st *srvState) running() bool {
	e := st.effective()
	return e == balance.Up || e == balance.Drain
}

// noteChange records a state change for lastchg and downtime.
func (st *srvState) noteChange(wasUp bool, now time.Time) {
	isUp := st.running()
	if wasUp == isUp && !st.lastChg.IsZero() {
		return
	}
	st.lastChg = now
	if wasUp && !isUp {
		st.downSince = now
	} else if !wasUp && isUp && !st.downSince.IsZero() {
		st.downtime += now.Sub(st.downSince)
		st.downSince = time.Time{}
	}
}

// downFor is the total time spent down up to now.
func (st *srvState) downFor(now time.Time) time.Duration {
	d := st.downtime
	if !st.downSince.IsZero() {
		d += now.Sub(st.downSince)
	}
	return d
}

// setAdmin applies an administrative change and pushes the resulting
// state into the balancer; the caller holds be.mu.
func (be *backend) applyState(i int) {
	sv := be.servers[i]
	be.bal.SetState(i, sv.st.effective())
}

// serverIndex finds a server of the backend by name.
func (be *backend) serverIndex(name string) int {
	for i, sv := range be.servers {
		if sv.srv.Name == name {
			return i
		}
	}
	return -1
}

// address returns the server's address now (the runtime API can move it).
func (sv *server) address() string {
	if p := sv.addrNow.Load(); p != nil {
		return *p
	}
	return sv.addr
}

// gate is a connection limit whose maximum can change at run time
// (`set maxconn frontend|global`); max 0 means unlimited.
type gate struct {
	mu   sync.Mutex
	cond *sync.Cond
	cur  int
	max  int
}

func newGate(max int) *gate {
	g := &gate{max: max}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits for a free slot.
func (g *gate) enter() {
	if g == nil {
		return
	}
	g.mu.Lock()
	for g.max > 0 && g.cur >= g.max {
		g.cond.Wait()
	}
	g.cur++
	g.mu.Unlock()
}

// tryEnter takes a free slot without waiting; false if none is free.
func (g *gate) tryEnter() bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max > 0 && g.cur >= g.max {
		return false
	}
	g.cur++
	return true
}

// leave frees a slot.
func (g *gate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.cur--
	g.mu.Unlock()
	g.cond.Signal()
}

// setMax changes the limit.
func (g *gate) setMax(n int) {
	g.mu.Lock()
	g.max = n
	g.mu.Unlock()
	g.cond.Broadcast()
}

// limitNow returns the current limit.
func (g *gate) limitNow() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// noteCheck records a check result: status, health counter, state.
func (st *srvState) noteCheck(ev check.Event, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	wasUp := st.running()
	if !ev.Agent {
		st.checked = true
		st.result = ev.Result
		st.health, st.rise, st.fall = ev.Health, ev.Rise, ev.Fall
		if ev.Failed {
			st.chkfail++
		}
	}
	if ev.Changed() {
		if ev.To == check.StateDown {
			st.chkdown++
		}
		st.checkSt = ev.To
	}
	st.noteChange(wasUp, now)
}

// beAvail tracks when a backend had no usable server: chkdown counts the
// times it lost its last one, lastchg and downtime follow.
type beAvail struct {
	down      bool
	chkdown   int64
	lastChg   time.Time
	downSince time.Time
	downtime  time.Duration
}

// noteAvailability re-reads the balancer after a state change; the
// caller holds be.mu.
func (be *backend) noteAvailability(now time.Time) {
	usable := false
	for _, s := range be.bal.Servers() {
		if s.State == balance.Up && s.Weight > 0 {
			usable = true
		}
	}
	a := &be.avail
	switch {
	case !usable && !a.down:
		a.down, a.lastChg, a.downSince = true, now, now
		a.chkdown++
	case usable && a.down:
		a.down, a.lastChg = false, now
		a.downtime += now.Sub(a.downSince)
	}
}

// availability returns chkdown, the time of the last change and the
// total downtime, for the stats.
func (be *backend) availability(now time.Time) (int64, time.Time, time.Duration) {
	be.mu.Lock()
	defer be.mu.Unlock()
	a := be.avail
	d := a.downtime
	if a.down {
		d += now.Sub(a.downSince)
	}
	return a.chkdown, a.lastChg, d
}

// usableCounts returns the active and backup servers taking traffic; the
// caller holds be.mu.
func (be *backend) usableCounts() (act, bck int) {
	for _, s := range be.bal.Servers() {
		if s.State == balance.Up && s.Weight > 0 {
			if s.Backup {
				bck++
			} else {
				act++
			}
		}
	}
	return
}
