package proxy

// This file holds the deadlines of http connections, moved only when
// they must (http mode).

import (
	"net"
	"time"
)

// maxSlack bounds how late a timeout of an http connection may fire.
const maxSlack = 250 * time.Millisecond

// connDeadlines remembers the read and write deadlines last set on one
// connection. Request after request on a keep-alive connection, a
// deadline already within a slack after where it should be stays as it
// is: a timeout fires at most min(timeout/16, 250ms) late, never early,
// and a busy connection does not reset its timers on every request.
type connDeadlines struct {
	c    net.Conn
	r, w time.Time
}

// read makes c's read deadline to after now (none when to is 0).
func (d *connDeadlines) read(c net.Conn, now time.Time, to time.Duration) {
	d.on(c)
	if at, ok := moveDeadline(&d.r, now, to); ok {
		c.SetReadDeadline(at)
	}
}

// write makes c's write deadline to after now (none when to is 0).
func (d *connDeadlines) write(c net.Conn, now time.Time, to time.Duration) {
	d.on(c)
	if at, ok := moveDeadline(&d.w, now, to); ok {
		c.SetWriteDeadline(at)
	}
}

// forget is called after other code set deadlines on the connection.
func (d *connDeadlines) forget() { *d = connDeadlines{} }

func (d *connDeadlines) on(c net.Conn) {
	if d.c != c {
		*d = connDeadlines{c: c}
	}
}

// moveDeadline says where a deadline remembered in cur must go for a
// timeout of to from now; false when it may stay.
func moveDeadline(cur *time.Time, now time.Time, to time.Duration) (time.Time, bool) {
	if to <= 0 {
		*cur = time.Time{}
		return time.Time{}, true
	}
	want := now.Add(to)
	slack := min(to/16, maxSlack)
	if !cur.IsZero() && !cur.Before(want) && cur.Sub(want) <= slack {
		return time.Time{}, false
	}
	*cur = want.Add(slack)
	return *cur, true
}
