package check

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// exchange is one step of a scripted server: once the bytes received since
// the previous step satisfy until, reply is written.
type exchange struct {
	until func(got []byte) bool
	reply []byte
}

// serverScript is how a recording server behaves on each connection.
type serverScript struct {
	greet []byte     // written on accept
	steps []exchange // in order
	fin   bool       // half-close after the last step
}

// recorder is a loopback TCP server that plays a script and records every
// byte each client sent.
type recorder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[int][]byte // by the order connections were accepted in
	got   chan struct{}
}

func startRecorder(t testing.TB, sc serverScript) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, conns: map[int][]byte{}, got: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c, sc, i)
		}
	}()
	return r
}

func (r *recorder) addr() string { return r.ln.Addr().String() }
func (r *recorder) port() int    { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *recorder) serve(c net.Conn, sc serverScript, i int) {
	defer c.Close()
	var all []byte
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if len(sc.greet) > 0 {
		_, _ = c.Write(sc.greet)
	}
	buf := make([]byte, 4096)
	mark := 0
	for _, st := range sc.steps {
		for st.until != nil && !st.until(all[mark:]) {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				r.record(i, all)
				return
			}
		}
		mark = len(all)
		if len(st.reply) > 0 {
			_, _ = c.Write(st.reply)
		}
	}
	if sc.fin {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	for {
		n, err := c.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			if !errors.Is(err, io.EOF) && n == 0 && len(all) == 0 {
				// reset before anything was sent: still a connection
			}
			break
		}
	}
	r.record(i, all)
}

func (r *recorder) record(i int, b []byte) {
	r.mu.Lock()
	r.conns[i] = b
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

// first returns the bytes of the first connection accepted once it has
// finished, waiting up to d (a check that opens two connections may end
// the first one after the second).
func (r *recorder) first(d time.Duration) ([]byte, bool) {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		if b, ok := r.conns[0]; ok {
			r.mu.Unlock()
			return b, true
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			return nil, false
		}
	}
}

// predicates for scripted servers
func untilBytes(n int) func([]byte) bool { return func(b []byte) bool { return len(b) >= n } }
func untilSeq(s string) func([]byte) bool {
	return func(b []byte) bool { return bytes.Contains(b, []byte(s)) }
}
func untilHTTPRequest(b []byte) bool { return bytes.Contains(b, []byte("\r\n\r\n")) }

// httpReply builds a response with a Content-Length.
func httpReply(status, body string) []byte {
	return []byte("HTTP/1.1 " + status + "\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for n > 0 {
		d = append([]byte{byte('0' + n%10)}, d...)
		n /= 10
	}
	return string(d)
}
