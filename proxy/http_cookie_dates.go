package proxy

// This file holds the dates of insert-mode persistence cookies
// (`cookie ... maxidle T maxlife T`, http mode).

import (
	"bytes"
	"time"
)

// cookieDates are the dates a client's persistence cookie carried, in
// haproxy's unit of 4 seconds (-1: absent or unreadable), and the
// request's time in seconds. The cookie's value is then
// SERVER|LASTSEEN with maxidle, SERVER|LASTSEEN|FIRSTSEEN with maxlife.
type cookieDates struct {
	now         int64
	last, first int64
}

// date64 is the alphabet of cookie dates: a 30-bit count of 4-second
// units in five characters, most significant first.
const date64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// read splits a cookie value into the server's value and its dates;
// expired is 'O' when, with maxlife, the first-seen date is more than
// maxlife before now or more than a day after it, else 'E' when, with
// maxidle, the last-seen date is so with maxidle (haproxy 2.6 looks at the
// first-seen date first). Unreadable dates count as absent.
func (d *cookieDates) read(val []byte, maxIdle, maxLife time.Duration) (srv []byte, expired byte) {
	srv, rest, ok := bytes.Cut(val, []byte("|"))
	if !ok {
		return srv, 0
	}
	lastPart, firstPart, _ := bytes.Cut(rest, []byte("|"))
	d.last, d.first = decodeDate(lastPart), decodeDate(firstPart)
	if maxLife > 0 && d.first >= 0 && d.outside(d.first, maxLife) {
		return srv, 'O'
	}
	if maxIdle > 0 && d.last >= 0 && d.outside(d.last, maxIdle) {
		return srv, 'E'
	}
	return srv, 0
}

// outside tells a date (in 4-second units) older than max before now,
// or more than a day ahead of it.
func (d *cookieDates) outside(unit int64, max time.Duration) bool {
	at := unit * 4
	return d.now-at > int64(max/time.Second) || at-d.now > 86400
}

// stale tells a valid cookie that must be sent again: its last-seen
// date is older than now's unit (or absent), or, with maxlife, it has no
// first-seen date.
func (d *cookieDates) stale(withFirst bool) bool {
	return d.last < 0 || d.last < dateUnit(d.now) || withFirst && d.first < 0
}

// appendDates appends |LASTSEEN (now) and, with maxlife, |FIRSTSEEN: the
// cookie's own when the client kept its server, else now.
func (d *cookieDates) appendDates(b []byte, kept, withFirst bool) []byte {
	now := dateUnit(d.now)
	b = appendDate(append(b, '|'), now)
	if withFirst {
		first := now
		if kept && d.first >= 0 {
			first = d.first
		}
		b = appendDate(append(b, '|'), first)
	}
	return b
}

// dateUnit is the 4-second unit a cookie date names for a time in
// seconds (rounded up).
func dateUnit(sec int64) int64 { return (sec + 3) >> 2 & (1<<30 - 1) }

func appendDate(b []byte, u int64) []byte {
	for shift := 24; shift >= 0; shift -= 6 {
		b = append(b, date64[u>>shift&63])
	}
	return b
}

// decodeDate reads five date characters; -1 when they are not.
func decodeDate(s []byte) int64 {
	if len(s) != 5 {
		return -1
	}
	var u int64
	for _, c := range s {
		k := bytes.IndexByte([]byte(date64), c)
		if k < 0 {
			return -1
		}
		u = u<<6 | int64(k)
	}
	return u
}
