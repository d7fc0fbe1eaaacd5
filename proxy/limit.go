package proxy

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errQueueTimeout and errAborted end a queued connection attempt.
var (
	errQueueTimeout = errors.New("queue timeout")
	errAborted      = errors.New("client aborted while queued")
)

// srvLimit is a server's connection limit with its FIFO queue. With
// minconn and fullconn set the limit moves between minconn and maxconn
// with the backend's load, as haproxy's dynamic maxconn does.
type srvLimit struct {
	mu      sync.Mutex
	cur     int
	maxconn int // 0: unlimited
	minconn int
	waiters []chan struct{}
	// after starts the queue timer; nil means the real clock (tests pass
	// a fake one)
	after   func(time.Duration) (<-chan time.Time, func())
	onQueue func(n int) // told the queue length when a connection joins it
}

// limit is the current allowed count for a backend holding beSessions.
func (l *srvLimit) limit(beSessions, fullconn int) int {
	if l.minconn == 0 || fullconn == 0 {
		return l.maxconn
	}
	dyn := l.maxconn * beSessions / fullconn
	return min(max(dyn, l.minconn), l.maxconn)
}

// acquire takes a slot, waiting in line up to timeout (0: no limit);
// abort, when closed, gives up the wait (option abortonclose).
func (l *srvLimit) acquire(beSessions func() int, fullconn int, timeout time.Duration, abort <-chan struct{}) error {
	l.mu.Lock()
	if l.maxconn == 0 {
		// unlimited, but counted: a limit set later at run time must
		// know the connections already there
		l.cur++
		l.mu.Unlock()
		return nil
	}
	if len(l.waiters) == 0 && l.cur < l.limit(beSessions(), fullconn) {
		l.cur++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	n := len(l.waiters)
	l.mu.Unlock()
	if l.onQueue != nil {
		l.onQueue(n)
	}
	var timer <-chan time.Time
	if timeout > 0 {
		after := l.after
		if after == nil {
			after = realAfter
		}
		c, stop := after(timeout)
		defer stop()
		timer = c
	}
	select {
	case <-ch:
		return nil // the releaser handed its slot over
	case <-timer:
		if l.leave(ch) {
			return errQueueTimeout
		}
		return nil
	case <-abort:
		if l.leave(ch) {
			return errAborted
		}
		return nil
	}
}

// tryAcquire takes a slot if one is free and nobody waits; it never
// queues.
func (l *srvLimit) tryAcquire(beSessions func() int, fullconn int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxconn == 0 || len(l.waiters) == 0 && l.cur < l.limit(beSessions(), fullconn) {
		l.cur++
		return true
	}
	return false
}

// realAfter is the real clock's timer.
func realAfter(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// leave removes a waiter; false means a slot was handed to it meanwhile.
func (l *srvLimit) leave(ch chan struct{}) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.waiters {
		if w == ch {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			return true
		}
	}
	l.cur-- // we were handed a slot we will not use: give it back
	l.handOver()
	return false
}

// release frees a slot, handing it to the first waiter when there is one.
func (l *srvLimit) release() {
	l.mu.Lock()
	if l.cur > 0 {
		l.cur--
	}
	l.handOver()
	l.mu.Unlock()
}

func (l *srvLimit) handOver() {
	if len(l.waiters) > 0 && (l.maxconn == 0 || l.cur < l.maxconn) {
		l.cur++
		close(l.waiters[0])
		l.waiters = l.waiters[1:]
	}
}

// queued returns the number of waiting connections.
func (l *srvLimit) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiters)
}

// clientGone returns a channel closed when the client closes its side
// (seen with MSG_PEEK, so nothing is consumed); stop ends the watch.
func clientGone(c sockConn) (gone <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	rc, err := c.SyscallConn()
	if err != nil {
		return ch, func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(exited)
		var one [1]byte
		rc.Read(func(fd uintptr) bool {
			select {
			case <-done:
				return true
			default:
			}
			n, _, err := unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if err == unix.EAGAIN {
				return false
			}
			if n == 0 && err == nil || err == syscall.ECONNRESET {
				close(ch)
			}
			return true
		})
	}()
	return ch, func() {
		once.Do(func() {
			close(done)
			c.SetReadDeadline(time.Unix(1, 0)) // wake the watcher
			<-exited
			c.SetReadDeadline(time.Time{})
		})
	}
}

// setMax changes the server's maxconn at run time (`set maxconn server`);
// waiters get the slots the new limit frees.
func (l *srvLimit) setMax(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxconn = n
	if n == 0 {
		for _, w := range l.waiters {
			l.cur++ // each waiter now holds a connection
			close(w)
		}
		l.waiters = nil
		return
	}
	for len(l.waiters) > 0 && l.cur < l.maxconn {
		l.handOver()
	}
}

// current returns the connections counted now and the limit.
func (l *srvLimit) current() (cur, max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.maxconn
}
