package main

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strconv"
	"sync"
	"time"
)

// kaLog writes log lines the way keepalived 2.2 does: with -l
// (--log-console) to the console as "Wed Dec  2 04:11:27 2026: msg", and
// to syslog tagged Keepalived_vrrp[PID] with the -S facility (local0-7;
// daemon by default) unless --no-syslog.
type kaLog struct {
	mu      sync.Mutex
	console io.Writer // nil: no console output
	sys     *syslog.Writer
}

// kaFacility maps keepalived's -S argument (0-7) to local0-local7.
func kaFacility(arg string) (syslog.Priority, bool) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || n > 7 {
		return 0, false
	}
	return syslog.LOG_LOCAL0 + syslog.Priority(n)<<3, true
}

// newKALog opens the syslog side at addr (a unix datagram socket path;
// "" means the system's /dev/log). A missing syslog is not an error:
// keepalived runs without one too.
func newKALog(console io.Writer, facility syslog.Priority, addr string, useSyslog bool) *kaLog {
	l := &kaLog{console: console}
	if useSyslog {
		var w *syslog.Writer
		var err error
		if addr == "" {
			w, err = syslog.New(facility|syslog.LOG_INFO, "Keepalived_vrrp")
		} else {
			w, err = syslog.Dial("unixgram", addr, facility|syslog.LOG_INFO, "Keepalived_vrrp")
		}
		if err == nil {
			l.sys = w
		}
	}
	return l
}

// logf logs one line at level info.
func (l *kaLog) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.console != nil {
		fmt.Fprintf(l.console, "%s: %s\n", time.Now().Format("Mon Jan _2 15:04:05 2006"), msg)
	}
	if l.sys != nil {
		l.sys.Info(msg)
	}
}

// close releases the syslog connection.
func (l *kaLog) close() {
	if l.sys != nil {
		l.sys.Close()
	}
}

// kaSyslogAddr is where the keepalived persona sends syslog lines: the
// system's /dev/log, or GOHAKA_SYSLOG_SOCKET (for tests and chroots).
func kaSyslogAddr() string { return os.Getenv("GOHAKA_SYSLOG_SOCKET") }
