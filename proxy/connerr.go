package proxy

import (
	"fmt"
	"sync"
	"time"
)

// connErrLog holds back a backend's per-connection failure lines (no
// server, a refused connect, a failed TLS handshake). haproxy puts those
// in the traffic log only; gohaka also says them on stderr, but at most
// one a second per backend, with the count of those held back, so an
// outage under load does not flood the journal.
type connErrLog struct {
	mu   sync.Mutex
	last time.Time
	held int
}

// connErrf logs a connection's failure to reach a server of be, within
// the backend's allowance.
func (r *Runtime) connErrf(be *backend, format string, args ...any) {
	l := &be.connErrs
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.last) < time.Second {
		l.held++
		l.mu.Unlock()
		return
	}
	held := l.held
	l.last, l.held = now, 0
	l.mu.Unlock()
	msg := fmt.Sprintf("backend '%s': ", be.px.Name) + fmt.Sprintf(format, args...)
	if held > 0 {
		msg += fmt.Sprintf(" (and %d more failures held back since the last line)", held)
	}
	r.opts.Logf("%s", msg)
}
