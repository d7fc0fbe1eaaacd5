package proxy

import (
	"container/heap"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// An evLoop forwards the bytes of established sessions. Once a session is
// set up (accepted, routed, connected), its two sockets are handed to a
// loop and no goroutine waits for it: an idle session costs a tunnel
// struct and its descriptors. The loop's own epoll descriptor is parked in
// Go's netpoller, so the loop goroutine holds no thread while idle.
type evLoop struct {
	epfd    int
	wakefd  int
	file    *os.File // epfd, registered with Go's netpoller
	pipes   *pipePool
	buf     []byte
	events  []unix.EpollEvent
	batch   []*tunnel // the tunnels of events, looked up at once
	lnReady []func()  // the listeners of events (plain tcp path)

	mu      sync.Mutex
	tunnels map[int32]*tunnel
	// listeners maps a plain-path listener to what accepts on it
	listeners map[int32]func()
	closeAll  bool      // asked by stop: end every tunnel
	kills     []*tunnel // asked by kill: end these
	quit      bool      // asked by stop: leave once tunnels are gone

	timers tunnelHeap
	// pending are connecting tunnels added since the loop last took them
	// into timers; armed is the netpoller deadline (both under mu: add
	// brings the deadline forward for a connect timeout)
	pending []*tunnel
	armed   time.Time
	done    chan struct{}

	// others counts connections goroutines serve (Runtime.goServing);
	// with one processor (shareP) a short wait would keep them waiting
	others *atomic.Int64
	shareP bool
}

func newLoop(pipes *pipePool, others *atomic.Int64) (*evLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		rawClose(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}
	if err := rawEpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		rawClose(epfd)
		rawClose(wfd)
		return nil, err
	}
	unix.SetNonblock(epfd, true)
	l := &evLoop{others: others, shareP: runtime.GOMAXPROCS(0) == 1, epfd: epfd, wakefd: wfd, file: os.NewFile(uintptr(epfd), "epoll"), pipes: pipes,
		buf: make([]byte, bufSize), events: make([]unix.EpollEvent, 128), batch: make([]*tunnel, 128), lnReady: make([]func(), 128), listeners: map[int32]func(){}, tunnels: map[int32]*tunnel{}, done: make(chan struct{})}
	go l.run()
	return l, nil
}

// add hands a session's two connected, non-blocking sockets to the loop;
// end runs once in the loop when the session is over.
func (l *evLoop) add(t *tunnel) error {
	now := time.Now()
	t.last = [2]time.Time{now, now}
	// EPOLL_CTL_ADD reports what is already readable
	t.readable = [2]bool{false, false}
	t.writable = [2]bool{true, !t.connecting}
	// the loop looks tunnels up under mu: holding it across both
	// registrations keeps it from serving half of one
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.quit {
		return errStopped
	}
	if t.connecting && !t.connDue.IsZero() {
		// the timers are the loop's: it takes the tunnel in when it next
		// arms, and wakes by the connect timeout at the latest
		l.pending = append(l.pending, t)
		if l.armed.IsZero() || t.connDue.Before(l.armed) {
			l.file.SetReadDeadline(t.connDue)
			l.armed = t.connDue
		}
	}
	for i, fd := range t.fd {
		// EPOLLOUT only to hear of a connect (see blocked)
		t.outArmed[i] = i == 1 && t.connecting
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if t.outArmed[i] {
			ev.Events |= unix.EPOLLOUT
		}
		if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			if i == 1 {
				rawEpollCtl(l.epfd, unix.EPOLL_CTL_DEL, t.fd[0], nil)
			}
			return err
		}
	}
	l.tunnels[int32(t.fd[0])] = t
	l.tunnels[int32(t.fd[1])] = t
	return nil
}

// stop ends every tunnel at once and waits for the loop to leave.
func (l *evLoop) stop() {
	l.mu.Lock()
	l.closeAll, l.quit = true, true
	l.mu.Unlock()
	l.wake()
	<-l.done
}

func (l *evLoop) wake() {
	one := [8]byte{1}
	rawWrite(l.wakefd, one[:])
}

func (l *evLoop) run() {
	defer close(l.done)
	defer l.file.Close()
	defer rawClose(l.wakefd)
	rc, err := l.file.SyscallConn()
	if err != nil {
		return
	}
	for {
		err := rc.Read(func(uintptr) bool { return l.poll() })
		l.expire(time.Now())
		// a deadline that has passed makes the next Read fail at once,
		// before it polls: set the next one now
		l.arm()
		l.mu.Lock()
		leave := l.quit && len(l.tunnels) == 0
		l.mu.Unlock()
		if leave {
			return
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// poll handles ready events until none is left; it returns true to leave
// the netpoller wait (a stop request).
func (l *evLoop) poll() bool {
	var turn time.Time // when this turn began (shortWait's budget)
	waited := 0        // events a short wait brought, already in l.events
	for {
		n, err := waited, error(nil)
		if waited == 0 {
			n, err = rawEpollPoll(l.epfd, l.events)
		}
		waited = 0
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			l.mu.Lock()
			all, quit := l.closeAll, l.quit
			l.mu.Unlock()
			if all {
				l.endAll()
				return true
			}
			if quit {
				return true
			}
			if waited = l.shortWait(turn); waited > 0 {
				continue
			}
			l.arm()
			return false
		}
		now := time.Now()
		if turn.IsZero() {
			turn = now
		}
		// one lock for the batch's lookups (a tunnel ended meanwhile is
		// marked closed and skipped)
		l.mu.Lock()
		for i := 0; i < n; i++ {
			fd := l.events[i].Fd
			if l.batch[i] = l.tunnels[fd]; l.batch[i] == nil {
				l.lnReady[i] = l.listeners[fd]
			}
		}
		l.mu.Unlock()
		for i := 0; i < n; i++ {
			e := &l.events[i]
			if int(e.Fd) == l.wakefd {
				var b [8]byte
				rawRead(l.wakefd, b[:])
				continue
			}
			t := l.batch[i]
			l.batch[i] = nil
			if ready := l.lnReady[i]; ready != nil {
				l.lnReady[i] = nil
				ready()
				continue
			}
			if t == nil || t.closed {
				continue
			}
			side := 0
			if int(e.Fd) == t.fd[1] {
				side = 1
			}
			if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				t.readable[side] = true
			}
			if e.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				t.ended[side] = true
			}
			if t.connecting {
				if side == 1 && e.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
					l.connectDone(t, now, e.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0)
				}
				continue
			}
			if e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				t.writable[side] = true
			}
			l.service(t, now)
		}
		l.expire(now)
		l.runKills()
		if n < len(l.events) {
			// drained: park without another epoll_wait (an event that came
			// meanwhile has woken the netpoller, so the wait returns at once)
			l.mu.Lock()
			stop := l.closeAll || l.quit
			l.mu.Unlock()
			if !stop {
				if waited = l.shortWait(turn); waited > 0 {
					continue
				}
				l.arm()
				return false
			}
		}
	}
}

// kill asks the loop to end a tunnel now (on-marked-down
// shutdown-sessions); safe from any goroutine.
func (l *evLoop) kill(t *tunnel) {
	l.mu.Lock()
	l.kills = append(l.kills, t)
	l.mu.Unlock()
	l.wake()
}

// runKills ends the tunnels kill asked for.
func (l *evLoop) runKills() {
	l.mu.Lock()
	ks := l.kills
	l.kills = nil
	l.mu.Unlock()
	for _, t := range ks {
		if !t.closed {
			l.finish(t, errKilled)
		}
	}
}

var errKilled = errors.New("session shut down")

// endAll closes every tunnel (Stop).
func (l *evLoop) endAll() {
	l.mu.Lock()
	var ts []*tunnel
	for _, t := range l.tunnels {
		ts = append(ts, t)
	}
	l.mu.Unlock()
	for _, t := range ts {
		if !t.closed {
			l.finish(t, errStopped)
		}
	}
}

var errStopped = errors.New("stopped")

// arm takes the pending connects into the timers and sets the netpoller
// deadline to the earliest tunnel timeout.
func (l *evLoop) arm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, t := range l.pending {
		if !t.closed && !t.inHeap {
			if due, ok := t.deadline(); ok {
				t.due = due
				l.timers.push(t)
			}
		}
		l.pending[i] = nil
	}
	l.pending = l.pending[:0]
	var next time.Time
	if len(l.timers) > 0 {
		next = l.timers[0].due
	}
	if !next.Equal(l.armed) {
		l.file.SetReadDeadline(next)
		l.armed = next
	}
}

// expire ends the tunnels whose timeout has passed. Heap entries are
// lazy: activity only stamps the tunnel, and an entry that comes due early
// is pushed again at the tunnel's real deadline.
func (l *evLoop) expire(now time.Time) {
	for len(l.timers) > 0 && !l.timers[0].due.After(now) {
		t := l.timers.pop()
		if t.closed {
			continue
		}
		due, side, ok := t.deadlineSide()
		if !ok {
			continue
		}
		if !due.After(now) {
			if t.connecting {
				l.connFail(t, errConnTimeout)
				continue
			}
			t.errSide = side
			l.finish(t, errIdle)
			continue
		}
		t.due = due
		l.timers.push(t)
	}
}

var errConnTimeout = errors.New("connection timed out")

// connectDone completes a connect the loop was waiting for: the session
// starts forwarding, or goes back to its owner to try again.
func (l *evLoop) connectDone(t *tunnel, now time.Time, failed bool) {
	// writable without an error or hang-up is connected; only then is
	// SO_ERROR worth a system call
	if failed {
		err := rawSockError(t.fd[1])
		if err == nil {
			err = unix.ECONNREFUSED
		}
		l.connFail(t, err)
		return
	}
	t.connecting = false
	t.writable[1] = true
	// connected: EPOLLOUT again only once a write would block
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(t.fd[1])}
	rawEpollCtl(l.epfd, unix.EPOLL_CTL_MOD, t.fd[1], &ev)
	t.outArmed[1] = false
	t.last = [2]time.Time{now, now}
	t.onConnect(nil, now)
	if t.inHeap {
		// the entry was for the connect timeout: an idle timeout shorter
		// than what is left of it must not wait for it
		if due, ok := t.deadline(); ok && due.Before(t.due) {
			t.due = due
			heap.Fix(&l.timers, t.index)
		}
	}
	l.service(t, now)
}

// connFail ends a connecting tunnel without ending its session: the
// server socket is closed and the client descriptor, out of the loop, is
// handed to onConnect.
func (l *evLoop) connFail(t *tunnel, err error) {
	l.drop(t)
	rawEpollCtl(l.epfd, unix.EPOLL_CTL_DEL, t.fd[0], nil)
	rawClose(t.fd[1])
	t.onConnect(err, time.Now())
}

// drop takes a tunnel out of the loop's books: its descriptors and its
// timer (a closed tunnel must not wait in the heap for its timeout: with
// long timeouts and short sessions that held every session of the last
// minutes, in memory and in GC work).
func (l *evLoop) drop(t *tunnel) {
	t.closed = true
	if t.inHeap {
		l.timers.remove(t)
	}
	l.mu.Lock()
	delete(l.tunnels, int32(t.fd[0]))
	delete(l.tunnels, int32(t.fd[1]))
	l.mu.Unlock()
}

// finish closes a tunnel's sockets and reports its end.
func (l *evLoop) finish(t *tunnel, err error) {
	l.drop(t)
	for h := range t.half {
		hf := &t.half[h]
		if hf.hasPipe {
			if hf.inPipe == 0 {
				l.pipes.put(hf.pipe)
			} else {
				l.pipes.stats.PipesInUse.Add(-1)
				rawClose(hf.pipe[0])
				rawClose(hf.pipe[1])
			}
			hf.hasPipe = false
		}
	}
	// the books close before the peers see the end (and connect again),
	// as in haproxy's single event loop
	if t.end != nil {
		t.end(t.half[0].n, t.half[1].n, err, t.errSide == 0)
		t.end = nil
	}
	rawClose(t.fd[0])
	rawClose(t.fd[1])
}

// addListener has the loop call ready whenever a listening socket has
// connections waiting (edge-triggered: ready accepts until EAGAIN).
func (l *evLoop) addListener(fd int, ready func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listeners[int32(fd)] = ready
	return l.resumeListener(fd)
}

// pauseListener stops watching a listener; resumeListener watches it
// again (and hears of the connections that waited meanwhile).
func (l *evLoop) pauseListener(fd int) {
	rawEpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

func (l *evLoop) resumeListener(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}
	return rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// removeListener forgets a listener (before its descriptor is closed).
func (l *evLoop) removeListener(fd int) {
	l.mu.Lock()
	delete(l.listeners, int32(fd))
	l.mu.Unlock()
	l.pauseListener(fd)
}

// A loop that has just handled events waits a moment in its own epoll
// before parking in Go's poller: under load the next event (a connect
// completing, the server's first bytes, a close) comes within
// microseconds, and taking it here spares the trip through the poller (a
// second epoll_wait, a goroutine wake-up) that a parked loop pays for each
// batch. The wait blocks the thread without the scheduler knowing (a raw
// system call, as the loop's others), so it is short and a turn of the
// loop stops waiting after shortWaitBudget, leaving the processor to the
// other goroutines; on a single processor it does not wait at all while
// goroutines serve connections (http, TLS), which it would hold up.
const (
	shortWaitFor    = 50 * time.Microsecond
	shortWaitBudget = 500 * time.Microsecond
)

// shortWait waits up to shortWaitFor for events while the turn that began
// at turn is within its budget; it returns how many came (in l.events).
func (l *evLoop) shortWait(turn time.Time) int {
	if noEpollPwait2.Load() || turn.IsZero() || time.Since(turn) > shortWaitBudget ||
		l.shareP && l.others != nil && l.others.Load() > 0 {
		return 0
	}
	n, err := rawEpollWaitFor(l.epfd, l.events, shortWaitFor)
	if err == unix.ENOSYS {
		noEpollPwait2.Store(true) // before Linux 5.11: park at once
	}
	if err != nil {
		return 0
	}
	return n
}

// noEpollPwait2: the kernel has said it has no epoll_pwait2.
var noEpollPwait2 atomic.Bool
