package proxy

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// sessInfo is what a session records for counters, logs and `show sess`.
type sessInfo struct {
	id           int64
	fe           *frontend
	be           *backend
	srv          *server
	ci           connInfo
	start        time.Time
	queueStart   time.Time
	connStart    time.Time
	connected    time.Time
	retries      int
	bytesIn      atomic.Int64 // client to server
	bytesOut     atomic.Int64 // server to client
	cliErr       atomic.Int32 // 1 reset/error, 2 timeout
	srvErr       atomic.Int32
	connErr      bool
	connTimeout  bool    // the last connection attempt ran out of timeout connect
	cliLeft      bool    // the client closed while the server connection failed
	tried        *server // the last server a failed connection went to
	denied       bool
	redispatched bool
}

// timedOut tells a connection attempt that ran out of `timeout connect`
// (the event loop's own, or the dialer's).
func timedOut(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.Is(err, errConnTimeout) || errors.As(err, &ne) && ne.Timeout()
}

// noteErr records how one direction ended: fromClient is the direction
// reading from the client.
func (si *sessInfo) noteErr(err error, fromClient bool) {
	if isClosedErr(err) && !errors.Is(err, errIdle) {
		if err == nil {
			return
		}
	}
	v := int32(1)
	if errors.Is(err, errIdle) || errors.Is(err, os.ErrDeadlineExceeded) {
		v = 2
	}
	if fromClient {
		si.cliErr.CompareAndSwap(0, v)
	} else {
		si.srvErr.CompareAndSwap(0, v)
	}
}

// newSrvState is a server's state at start: `disabled` puts it in
// maintenance, a check starts it up with its counter at rise.
func newSrvState(s *parser.Server) *srvState {
	st := &srvState{cfgMaint: s.Disabled, hasCheck: s.Check, iweight: s.Weight, uweight: s.Weight,
		rise: s.Rise, fall: s.Fall}
	if st.rise == 0 {
		st.rise = 2
	}
	if st.fall == 0 {
		st.fall = 3
	}
	st.health = st.rise // haproxy starts checked servers up, at the bottom of the up range
	return st
}

// denied counts a connection refused by a tcp-request rule.
func (r *Runtime) denied(fe *frontend, rule tcpRule) {
	if rule.content {
		now := time.Now()
		fe.ctr.sessionStart(now)
		fe.ctr.dreq.Add(1)
		fe.ctr.sessionEnd(0, 0, 0, 0, 0)
		return
	}
	if rule.session {
		fe.ctr.dses.Add(1)
		return
	}
	fe.ctr.dcon.Add(1)
}

// noteAttempt counts a connection attempt: load-balanced picks, retries
// and redispatches.
func (r *Runtime) noteAttempt(be *backend, sv *server, attempt int, picked bool) {
	be.ctr.connects.Add(1)
	sv.st.ctr.connects.Add(1)
	countPick(be, sv, attempt, picked)
}

// countPick counts a server chosen for an attempt: a load-balanced pick
// (lbtot), and for a retry, a redispatch or a retry on the same server.
func countPick(be *backend, sv *server, attempt int, picked bool) {
	if attempt > 0 {
		if picked {
			be.ctr.wredis.Add(1)
			sv.st.ctr.wredis.Add(1)
		} else {
			be.ctr.wretr.Add(1)
			sv.st.ctr.wretr.Add(1)
		}
	}
	if picked {
		be.ctr.lbtot.Add(1)
		sv.st.ctr.lbtot.Add(1)
	}
}

// noteConnError counts a failed connection to a server.
func (r *Runtime) noteConnError(be *backend, sv *server, err error) {
	be.ctr.econ.Add(1)
	sv.st.ctr.econ.Add(1)
}

// sessionDone closes the books on a session: counters, then its log line.
func (r *Runtime) sessionDone(s *session) {
	si := &s.info
	end := time.Now()
	r.mu.Lock()
	sv := s.srv
	r.mu.Unlock()
	si.srv = sv
	untrackSession(si) // stktrack.go
	in, out := si.bytesIn.Load(), si.bytesOut.Load()
	var tw, tc time.Duration
	if !si.connStart.IsZero() {
		tw = si.connStart.Sub(si.queueStart)
	}
	if !si.connected.IsZero() {
		tc = si.connected.Sub(si.connStart)
	}
	tt := end.Sub(si.start)
	if si.be != nil {
		si.be.ctr.sessionEnd(in, out, tw, tc, tt)
		if si.cliErr.Load() != 0 {
			si.be.ctr.cliAbrt.Add(1)
		} else if si.srvErr.Load() != 0 {
			si.be.ctr.srvAbrt.Add(1)
		}
	}
	if sv != nil {
		sv.st.ctr.sessionEnd(in, out, tw, tc, tt)
		if si.cliErr.Load() != 0 {
			sv.st.ctr.cliAbrt.Add(1)
		} else if si.srvErr.Load() != 0 {
			sv.st.ctr.srvAbrt.Add(1)
		}
	}
	// haproxy logs once the server side is released but the frontend
	// still counts the session (%bc/%sc 0, %fc 1 for a lone session)
	r.logSession(s, end)
	si.fe.ctr.sessionEnd(in, out, tw, tc, tt)
}

// clientClosed reports, without consuming anything, whether the client
// has closed its side.
func clientClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Read(func(fd uintptr) bool {
		var one [1]byte
		n, _, err := unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = n == 0 && err == nil || err == unix.ECONNRESET
		return true
	})
	return closed
}
