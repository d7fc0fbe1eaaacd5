package proxy

import (
	"container/heap"
	"time"

	"golang.org/x/sys/unix"
)

// A tunnel is an established session inside an evLoop: side 0 is the
// client socket, side 1 the server socket; half 0 moves client->server
// bytes, half 1 server->client.
type tunnel struct {
	fd       [2]int
	half     [2]halfState
	readable [2]bool // edge-triggered readiness, cleared on EAGAIN
	writable [2]bool
	outArmed [2]bool         // EPOLLOUT asked for (only once a write would block)
	ended    [2]bool         // an end (RDHUP, HUP, ERR) was signalled on the side
	to       [2]halfTimeouts // per side: client, server
	last     [2]time.Time    // last I/O per side
	end      endFunc
	errSide  int // the side (0 client, 1 server) whose error or timeout ended it

	// connecting: the server socket's connect is under way (the plain
	// path, fastpath.go); onConnect hears how it ended, and on failure
	// owns the client descriptor from then on
	connecting bool
	connDue    time.Time // timeout connect
	onConnect  func(err error, at time.Time)

	closed  bool
	inHeap  bool
	finSeen bool // the deadline was computed with the tunnel half-closed
	due     time.Time
	index   int
}

// halfState is one direction of a tunnel.
type halfState struct {
	pipe     [2]int
	hasPipe  bool
	inPipe   int    // bytes spliced in but not yet out
	pend     []byte // bytes read but not yet written (rare: a full socket)
	splicing bool   // a full buffer was read: splice until src would block
	eof      bool   // src has ended
	shut     bool   // dst has been shut down for writing
	n        int64
}

// deadline is the earliest time a side of t times out; sides without a
// timeout never do. A half-closed tunnel uses the -fin timeouts.
func (t *tunnel) deadline() (time.Time, bool) {
	due, _, ok := t.deadlineSide()
	return due, ok
}

// deadlineSide is deadline with the side that comes due first.
func (t *tunnel) deadlineSide() (time.Time, int, bool) {
	if t.connecting {
		return t.connDue, 1, !t.connDue.IsZero()
	}
	var due time.Time
	side := 0
	ok := false
	halfClosed := t.half[0].shut || t.half[1].shut
	for s := 0; s < 2; s++ {
		d := t.to[s].idle
		if halfClosed && t.to[s].fin > 0 {
			d = t.to[s].fin
		}
		if d <= 0 {
			continue
		}
		at := t.last[s].Add(d)
		if !ok || at.Before(due) {
			due, side, ok = at, s, true
		}
	}
	return due, side, ok
}

// service moves whatever can move in both directions, then ends the
// tunnel if both are done or one failed.
func (l *evLoop) service(t *tunnel, now time.Time) {
	for h := 0; h < 2; h++ {
		if err := l.move(t, h, now); err != nil {
			l.finish(t, err)
			return
		}
	}
	if t.half[0].shut && t.half[1].shut {
		l.finish(t, nil)
		return
	}
	halfClosed := t.half[0].shut || t.half[1].shut
	switch {
	case !t.inHeap:
		if due, ok := t.deadline(); ok {
			t.due = due
			l.timers.push(t)
		}
		t.finSeen = halfClosed
	case halfClosed && !t.finSeen:
		// the -fin timeouts may bring the deadline closer than the
		// entry's: move it (later deadlines are handled lazily)
		t.finSeen = true
		if due, ok := t.deadline(); ok && due.Before(t.due) {
			t.due = due
			heap.Fix(&l.timers, t.index)
		}
	}
}

// move runs one direction until it would block.
func (l *evLoop) move(t *tunnel, h int, now time.Time) error {
	src, dst := h, 1-h
	hf := &t.half[h]
	for {
		if hf.inPipe > 0 {
			if !t.writable[dst] {
				return nil
			}
			m, err := rawSplice(hf.pipe[0], t.fd[dst], hf.inPipe)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return l.writeFailed(t, dst, err)
			}
			hf.inPipe -= int(m)
			hf.n += m
			l.pipes.stats.SpliceBytes.Add(m)
			t.last[dst] = now
			continue
		}
		if len(hf.pend) > 0 {
			if !t.writable[dst] {
				return nil
			}
			m, err := rawWrite(t.fd[dst], hf.pend)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return l.writeFailed(t, dst, err)
			}
			hf.pend = hf.pend[m:]
			hf.n += int64(m)
			l.pipes.stats.CopyBytes.Add(int64(m))
			t.last[dst] = now
			if len(hf.pend) == 0 {
				hf.pend = nil
			}
			continue
		}
		if hf.hasPipe && !hf.splicing { // drained: the pipe goes back
			l.pipes.put(hf.pipe)
			hf.hasPipe = false
		}
		if hf.eof {
			if !hf.shut {
				// with the other direction already over, the close that
				// comes next sends the FIN
				if !t.half[1-h].shut {
					rawShutdownWrite(t.fd[dst])
				}
				hf.shut = true
			}
			return nil
		}
		if !t.readable[src] {
			return nil
		}
		if hf.splicing {
			if !hf.hasPipe {
				p, err := l.pipes.get()
				if err != nil {
					hf.splicing = false
					continue
				}
				hf.pipe, hf.hasPipe = p, true
			}
			m, err := rawSplice(t.fd[src], hf.pipe[1], pipeSize)
			switch {
			case err == unix.EAGAIN:
				t.readable[src] = false
				hf.splicing = false
				if hf.inPipe == 0 {
					l.pipes.put(hf.pipe)
					hf.hasPipe = false
				}
				return nil
			case err == unix.EINTR:
				continue
			case err != nil:
				t.errSide = src
				return err
			case m == 0:
				hf.eof = true
				hf.splicing = false
			default:
				hf.inPipe += int(m)
				t.last[src] = now
			}
			continue
		}
		n, err := rawRead(t.fd[src], l.buf)
		switch {
		case err == unix.EAGAIN:
			t.readable[src] = false
			return nil
		case err == unix.EINTR:
			continue
		case err != nil:
			t.errSide = src
			return err
		case n == 0:
			hf.eof = true
			continue
		}
		t.last[src] = now
		if n < len(l.buf) && !t.ended[src] {
			// a short read emptied the socket: more data brings a new
			// edge, so no read to hear EAGAIN (an end signalled already
			// is read to its 0 below)
			t.readable[src] = false
		}
		w := 0
		if t.writable[dst] {
			w, err = rawWrite(t.fd[dst], l.buf[:n])
			if err == unix.EAGAIN || err == unix.EINTR {
				w, err = 0, nil
			}
			if err != nil {
				t.errSide = dst
				return err
			}
			if w > 0 {
				hf.n += int64(w)
				l.pipes.stats.CopyBytes.Add(int64(w))
				t.last[dst] = now
			}
		}
		if w < n {
			l.blocked(t, dst)
			hf.pend = append([]byte(nil), l.buf[w:n]...)
		}
		if n == len(l.buf) && l.pipes.max > 0 {
			hf.splicing = true
		}
	}
}

// tunnelHeap orders tunnels by their next timeout check.
type tunnelHeap []*tunnel

func (h tunnelHeap) Len() int           { return len(h) }
func (h tunnelHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h tunnelHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *tunnelHeap) Push(x any) {
	t := x.(*tunnel)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *tunnelHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

func (h *tunnelHeap) push(t *tunnel) {
	t.inHeap = true
	heap.Push(h, t)
}

func (h *tunnelHeap) pop() *tunnel {
	t := heap.Pop(h).(*tunnel)
	t.inHeap = false
	return t
}

func (h *tunnelHeap) remove(t *tunnel) {
	heap.Remove(h, t.index)
	t.inHeap = false
}

// writeFailed handles a write to side dst that did not go through: a
// full socket waits for EPOLLOUT (nil), anything else ends the tunnel.
func (l *evLoop) writeFailed(t *tunnel, dst int, err error) error {
	if err == unix.EAGAIN {
		l.blocked(t, dst)
		return nil
	}
	t.errSide = dst
	return err
}

// blocked notes that a side's socket would block on write, and asks
// epoll to say when it drains. Sockets are registered without EPOLLOUT:
// with edge triggering every state change (the ACK of a FIN) would
// otherwise wake the loop for nothing.
func (l *evLoop) blocked(t *tunnel, side int) {
	t.writable[side] = false
	if !t.outArmed[side] {
		t.outArmed[side] = true
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(t.fd[side])}
		rawEpollCtl(l.epfd, unix.EPOLL_CTL_MOD, t.fd[side], &ev)
	}
}
