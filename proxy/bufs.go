package proxy

// This file holds the copy and message buffers of connections.

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// bufsPerChunk buffers are mapped at once (1 MiB of address space).
	bufsPerChunk = 64
	// keepBufs free buffers keep their memory; beyond them, buffers
	// unused for a trim period give their pages back to the system.
	keepBufs = 256
	// trimEvery is the trim period.
	trimEvery = 10 * time.Second
)

// bufArena hands out bufSize buffers carved from memory mapped outside
// the Go heap, as haproxy keeps its buffers in pools: a burst of new
// connections then neither grows the collected heap nor makes goroutines
// help the collector while they allocate (which had doubled first-request
// latencies under a burst). Free buffers are a stack, the most recently
// used on top; those at the bottom that stayed unused for a whole period
// give their pages back (MADV_DONTNEED) and wait in a second list, used
// when the first is empty (the kernel gives them zeroed pages again).
// Memory is never unmapped, so a buffer is always safe to touch.
type bufArena struct {
	mu       sync.Mutex
	free     []*[]byte // with their pages
	bare     []*[]byte // pages given back
	low      int       // the fewest free buffers since the last trim
	trimming bool
	inUse    int // buffers given out and not yet back
}

// bufPool holds every connection's buffers.
var bufPool = &bufArena{}

// Get returns a buffer of bufSize bytes.
func (a *bufArena) Get() *[]byte {
	a.mu.Lock()
	a.inUse++
	if n := len(a.free); n > 0 {
		b := a.free[n-1]
		a.free = a.free[:n-1]
		a.low = min(a.low, n-1)
		a.mu.Unlock()
		return b
	}
	if n := len(a.bare); n > 0 {
		b := a.bare[n-1]
		a.bare = a.bare[:n-1]
		a.mu.Unlock()
		return b
	}
	a.mu.Unlock()
	return a.grow()
}

// Put gives a buffer from Get back.
func (a *bufArena) Put(b *[]byte) {
	a.mu.Lock()
	a.free = append(a.free, b)
	a.inUse--
	a.mu.Unlock()
}

// held is the number of buffers given out and not yet back.
func (a *bufArena) held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}

// grow maps a chunk of buffers: one is returned, the rest are freed.
func (a *bufArena) grow() *[]byte {
	mem, err := unix.Mmap(-1, 0, bufsPerChunk*bufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil { // no address space left: the heap still has some
		b := make([]byte, bufSize)
		return &b
	}
	bufs := make([]*[]byte, bufsPerChunk)
	for i := range bufs {
		b := mem[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
		bufs[i] = &b
	}
	a.mu.Lock()
	a.bare = append(a.bare, bufs[1:]...) // no pages until first touched
	if !a.trimming {
		a.trimming = true
		a.low = len(a.free)
		time.AfterFunc(trimEvery, a.trim)
	}
	a.mu.Unlock()
	return bufs[0]
}

// trim gives back the pages of the free buffers beyond keepBufs that no
// connection needed during the last period. They leave the free list
// before their pages go, so no connection can be using one meanwhile.
func (a *bufArena) trim() {
	a.mu.Lock()
	var idle []*[]byte
	if k := a.low - keepBufs; k > 0 {
		idle = append(idle, a.free[:k]...)
		a.free = append(a.free[:0], a.free[k:]...)
	}
	a.mu.Unlock()
	for _, b := range idle {
		unix.Madvise(*b, unix.MADV_DONTNEED)
	}
	a.mu.Lock()
	a.bare = append(a.bare, idle...)
	a.low = len(a.free)
	a.mu.Unlock()
	time.AfterFunc(trimEvery, a.trim)
}
