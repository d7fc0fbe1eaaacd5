package proxy

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
)

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

// TestHTTPBuffersInFlight: a request waiting for its server's response
// holds one buffer (the request, kept to send again should a reused
// connection turn out closed), not one for the response as well; the
// head buffers and the response's are taken when used. Once answered,
// idle keep-alive connections hold none.
func TestHTTPBuffersInFlight(t *testing.T) {
	const k = 20
	arrived, answer := make(chan bool, k), make(chan bool)
	sp := serveEach(t, func(c net.Conn) {
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
					arrived <- true
					<-answer
					c.Write([]byte("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"))
				}
			}
		}()
	})
	fp := freePort(t)
	startRuntime(t, proxyingConfig(fp, fmt.Sprintf("127.0.0.1:%d", sp), "", ""))
	base := bufPool.held()
	var conns []net.Conn
	for i := 0; i < k; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		conns = append(conns, c)
	}
	for i := 0; i < k; i++ {
		<-arrived
	}
	waitHeld := func(want int) {
		t.Helper()
		got := 0
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if got = bufPool.held() - base; got == want {
				return
			}
		}
		t.Fatalf("%d buffers held, want %d", got, want)
	}
	waitHeld(k)
	close(answer)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 256)
		n := 0
		for !bytes.HasSuffix(b[:n], []byte("ok\n")) {
			m, err := c.Read(b[n:])
			if err != nil {
				t.Fatal(err)
			}
			n += m
		}
	}
	waitHeld(0)
}
