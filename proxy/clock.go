package proxy

// This file holds the clock of the http paths' books (times of a request
// for logs, counters and deadlines).

import (
	"sync/atomic"
	"time"
	_ "unsafe" // for linkname
)

// time.Now reads the clock twice (wall and monotonic time); the http
// paths read it several times per request. clockNow reads the monotonic
// clock once and adds it to a wall time read at most a second ago, which
// is as haproxy keeps its own clock (read once per loop of its poller,
// the wall clock followed from there). Times from it carry a monotonic
// reading, so differences and deadlines are exact; the wall time of a
// moment may lag a step of the system clock by up to a second.

//go:linkname runtimeNano runtime.nanotime
func runtimeNano() int64

// clockBase is a wall time and the monotonic clock read with it.
type clockBase struct {
	wall time.Time
	mono int64
}

var clock atomic.Pointer[clockBase]

// clockNow returns the current time.
func clockNow() time.Time {
	n := runtimeNano()
	b := clock.Load()
	if b == nil || n-b.mono >= int64(time.Second) || n < b.mono {
		b = &clockBase{wall: time.Now(), mono: runtimeNano()}
		clock.Store(b)
		return b.wall
	}
	return b.wall.Add(time.Duration(n - b.mono))
}
