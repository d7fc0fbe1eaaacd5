package proxy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// TestSendWaitsForRoom: 8 MiB, far more than the socket buffers hold,
// arrive whole and in order: send waits for writability and goes on.
func TestSendWaitsForRoom(t *testing.T) {
	a, b := tcpPair(t)
	p := newPeeker(a)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<19)
	got := make(chan []byte)
	go func() {
		time.Sleep(50 * time.Millisecond) // let the sender fill the buffers first
		all, _ := io.ReadAll(b)
		got <- all
	}()
	n, err := p.send(msg)
	if err != nil || n != len(msg) {
		t.Fatalf("send: %d, %v; want %d, nil", n, err, len(msg))
	}
	a.CloseWrite()
	if all := <-got; !bytes.Equal(all, msg) {
		t.Fatalf("received %d bytes, not what was sent", len(all))
	}
}

// TestSendDeadlineAndReset: a write deadline ends a send that cannot
// finish, with what went out; a send to a reset peer fails (EPIPE or
// ECONNRESET) without a signal.
func TestSendDeadlineAndReset(t *testing.T) {
	a, b := tcpPair(t)
	p := newPeeker(a)
	a.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	msg := make([]byte, 32<<20)
	n, err := p.send(msg)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == len(msg) {
		t.Fatalf("send to a reader that never reads: %d, %v; want part of it and a deadline error", n, err)
	}
	a.SetWriteDeadline(time.Time{})
	b.SetLinger(0)
	b.Close()
	time.Sleep(20 * time.Millisecond)
	var errs []error
	for i := 0; i < 3; i++ { // the first send may still be accepted before the reset is seen
		if _, err := p.send([]byte("x")); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		t.Fatal("sends to a reset peer all succeeded")
	}
}
