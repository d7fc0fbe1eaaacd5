package proxy

import "testing"

// TestBufArena: buffers come back last in, first out; a trim gives the
// pages of the free buffers beyond keepBufs that stayed unused back and
// keeps them usable; a buffer in use is never among them.
func TestBufArena(t *testing.T) {
	a := &bufArena{}
	var held []*[]byte
	for i := 0; i < keepBufs+100; i++ {
		b := a.Get()
		if len(*b) != bufSize || cap(*b) != bufSize {
			t.Fatalf("buffer %d: len %d cap %d", i, len(*b), cap(*b))
		}
		(*b)[0], (*b)[bufSize-1] = byte(i), byte(i)
		held = append(held, b)
	}
	inUse := a.Get()
	(*inUse)[0] = 0xAA
	for _, b := range held {
		a.Put(b)
	}
	if got := a.Get(); got != held[len(held)-1] {
		t.Fatalf("not the buffer put last")
	} else {
		a.Put(got)
	}
	a.mu.Lock()
	a.low = len(a.free) // as if none had been taken for a period
	a.mu.Unlock()
	a.trim()
	a.mu.Lock()
	free, bare := len(a.free), len(a.bare)
	a.mu.Unlock()
	if free != keepBufs {
		t.Errorf("free buffers with pages after trim: %d, want %d", free, keepBufs)
	}
	if bare < 100 {
		t.Errorf("buffers without pages: %d, want at least 100", bare)
	}
	if (*inUse)[0] != 0xAA {
		t.Errorf("a buffer in use lost its bytes")
	}
	// the most recently used stayed, the oldest were released (zeroed)
	top := keepBufs + 99
	if b := a.Get(); (*b)[0] != byte(top) {
		t.Errorf("top of the stack: %d, want %d", (*b)[0], byte(top))
	}
	if (*held[1])[0] != 0 || (*held[1])[bufSize-1] != 0 {
		t.Errorf("a released buffer still has its bytes")
	}
	(*held[1])[5] = 1 // still usable
}
