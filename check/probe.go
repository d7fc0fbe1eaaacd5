package check

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Target says where and how a check connects.
type Target struct {
	// Addr is the check's destination as host:port: the server's address,
	// or its "addr"/"port" overrides (agent checks use the agent port).
	Addr string
	// Host, when set, gives the host to check now, Addr's port kept: a
	// server's address can move at run time (`set server addr`,
	// resolvers); "" (no address) skips the check.
	Host     func() string
	Timeouts Timeouts
	// SendProxy sends a PROXY protocol header first: 1 for v1, 2 for v2
	// (check-send-proxy, or the server's send-proxy when no port/addr is
	// set, as haproxy does).
	SendProxy int
	// TLS, when set, wraps check connections in TLS (check-ssl).
	TLS *tls.Config
	// Source, when set, is the local address to connect from.
	Source *net.TCPAddr
	// ServerDown tells the probe the server is currently DOWN (haproxy's
	// disable-on-404 only applies to servers that are not).
	ServerDown bool
}

// Probe runs one check against a target. Implementations never panic on
// malformed replies and always return within the target's timeouts or when
// ctx ends.
type Probe interface {
	Run(ctx context.Context, t Target) Result
}

// ProbeFunc adapts a function to Probe.
type ProbeFunc func(ctx context.Context, t Target) Result

// Run calls f.
func (f ProbeFunc) Run(ctx context.Context, t Target) Result { return f(ctx, t) }

// TCPProbe is the plain "check": a connection that is accepted is L4OK
// (L6OK with check-ssl once the TLS handshake completes).
func TCPProbe() Probe {
	return &Script{Rules: []Rule{{Kind: RuleConnect, Implicit: true}}, Kind: "tcp"}
}

// errText renders a socket error the way strerror(3) does, e.g.
// "Connection refused"; it returns "" for timeouts.
func errText(err error) string {
	if err == nil || isTimeout(err) {
		return ""
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	if errors.Is(err, net.ErrClosed) {
		return "Connection reset by peer"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialTCP connects to addr before deadline.
func dialTCP(ctx context.Context, addr string, src *net.TCPAddr, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	if src != nil {
		d.LocalAddr = src
	}
	return d.DialContext(ctx, "tcp", addr)
}
