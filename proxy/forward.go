package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bufSize is the per-direction copy buffer, haproxy's default bufsize.
const bufSize = 16384

// pipeSize is the capacity asked for each splice pipe.
const pipeSize = 64 << 10

// Stats counts what the forwarding engine did. It is how tests prove which
// path bytes took.
type Stats struct {
	SpliceBytes atomic.Int64 // moved socket->pipe->socket by splice(2)
	CopyBytes   atomic.Int64 // moved through a userspace buffer
	PipesInUse  atomic.Int64
	PipesMade   atomic.Int64
}

// pipePool holds idle pipes, at most maxPipes of them.
type pipePool struct {
	mu    sync.Mutex
	idle  [][2]int
	max   int
	stats *Stats
}

func (p *pipePool) get() ([2]int, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		fds := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.stats.PipesInUse.Add(1)
		return fds, nil
	}
	p.mu.Unlock()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return fds, err
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	p.stats.PipesMade.Add(1)
	p.stats.PipesInUse.Add(1)
	return fds, nil
}

// put returns a drained pipe, or closes it when the pool is full.
func (p *pipePool) put(fds [2]int) {
	p.stats.PipesInUse.Add(-1)
	p.mu.Lock()
	if len(p.idle) < p.max {
		p.idle = append(p.idle, fds)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// closeAll closes the idle pipes.
func (p *pipePool) closeAll() {
	p.mu.Lock()
	for _, fds := range p.idle {
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
	p.idle = nil
	p.mu.Unlock()
}

// sockConn is a stream socket the engine can half-close and splice: a
// *net.TCPConn or a *net.UnixConn.
type sockConn interface {
	net.Conn
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
}

// halfTimeouts are the idle timeouts of one direction.
type halfTimeouts struct {
	idle time.Duration // while both directions are open
	fin  time.Duration // once the other direction has finished (0: idle)
}

// errIdle reports an idle timeout.
var errIdle = errors.New("idle timeout")

// forwardHalf moves bytes from src to dst until src ends, then half-closes
// dst. Small reads go through a pooled buffer; a read that fills the buffer
// switches to splice(2) through a pooled pipe for as long as data keeps
// coming, and the pipe goes back to the pool once drained. otherDone is
// closed when the opposite direction has finished.
func forwardHalf(src, dst sockConn, pipes *pipePool, to halfTimeouts, otherDone <-chan struct{}) (int64, error) {
	srcRaw, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		idle := to.idle
		select {
		case <-otherDone:
			if to.fin > 0 {
				idle = to.fin
			}
		default:
		}
		if idle > 0 {
			src.SetReadDeadline(time.Now().Add(idle))
			dst.SetWriteDeadline(time.Now().Add(idle))
		}
		// Wait for data without holding a buffer: an idle connection costs
		// no buffer and no pipe.
		if err := waitReadable(srcRaw); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return total, errIdle
			}
			return total, err
		}
		bp := bufPool.Get()
		buf := *bp
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				bufPool.Put(bp)
				return total, werr
			}
			total += int64(n)
			pipes.stats.CopyBytes.Add(int64(n))
		}
		bufPool.Put(bp)
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.CloseWrite()
				return total, nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return total, errIdle
			}
			return total, err
		}
		if n == bufSize && pipes.max > 0 {
			m, eof, serr := spliceBurst(src, dst, pipes)
			total += m
			if serr != nil {
				return total, serr
			}
			if eof {
				dst.CloseWrite()
				return total, nil
			}
		}
	}
}

// waitReadable blocks until the socket has data or an end to report,
// peeking at one byte so that nothing is consumed.
func waitReadable(rc syscall.RawConn) error {
	var one [1]byte
	return rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return err != unix.EAGAIN
	})
}

// spliceBurst splices src->pipe->dst while src has data ready; it returns
// when src would block (the pipe then goes back to the pool) or ends.
func spliceBurst(src, dst sockConn, pipes *pipePool) (int64, bool, error) {
	srcRaw, err := src.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	dstRaw, err := dst.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	fds, err := pipes.get()
	if err != nil {
		return 0, false, nil // no pipe: stay on the copy path
	}
	clean := false
	defer func() {
		if clean {
			pipes.put(fds)
			return
		}
		// data may be left in the pipe: never reuse it
		pipes.stats.PipesInUse.Add(-1)
		unix.Close(fds[0])
		unix.Close(fds[1])
	}()
	var total int64
	for {
		var n int
		var serr error
		rerr := srcRaw.Read(func(fd uintptr) bool {
			for {
				var m int64
				m, serr = unix.Splice(int(fd), nil, fds[1], nil, pipeSize, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				if serr == unix.EINTR {
					continue
				}
				n = int(m)
				return true
			}
		})
		if rerr != nil {
			return total, false, rerr
		}
		if serr == unix.EAGAIN {
			clean = true
			return total, false, nil // nothing ready: back to waiting with no pipe held
		}
		if serr != nil {
			return total, false, serr
		}
		if n == 0 {
			clean = true
			return total, true, nil
		}
		left := n
		for left > 0 {
			var werr error
			var m int64
			err := dstRaw.Write(func(fd uintptr) bool {
				m, werr = unix.Splice(fds[0], nil, int(fd), nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				return werr != unix.EAGAIN
			})
			if err != nil {
				return total, false, err
			}
			if werr != nil && werr != unix.EINTR {
				return total, false, werr
			}
			left -= int(m)
			total += m
			pipes.stats.SpliceBytes.Add(m)
		}
	}
}

// isClosedErr reports errors that only mean the connection went away.
func isClosedErr(err error) bool {
	return err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}
