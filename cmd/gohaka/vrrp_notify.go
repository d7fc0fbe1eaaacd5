package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/vrrp"
)

// notifyQueue runs every notify script of the process one at a time, in
// the order the transitions happened (an instance's, then its group's,
// then the members pulled along, as keepalived orders them), on its own
// goroutine so that no speaker ever waits on a script.
var notifyQueue = sync.OnceValue(func() chan func() {
	q := make(chan func(), 256)
	go func() {
		for f := range q {
			f()
		}
	}()
	return q
})

// notifier runs the notify scripts of an instance or sync group through
// notifyQueue: first notify_master/backup/fault/stop as
// configured, then `notify` with the four words keepalived adds
// (INSTANCE|GROUP, name, state, priority).
func notifier(kind, name string, n parser.Notify, logf func(string, ...any)) func(vrrp.State, int) {
	q := notifyQueue()
	run := func(script string, extra ...string) {
		f := strings.Fields(script)
		if len(f) == 0 {
			return
		}
		cmd := exec.Command(f[0], append(f[1:], extra...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			logf("(%s) notify script %s: %v %s", name, f[0], err, out)
		}
	}
	return func(s vrrp.State, prio int) {
		var script string
		word := s.String()
		switch s {
		case vrrp.Master:
			script = n.Master
		case vrrp.Backup:
			script = n.Backup
		case vrrp.Fault:
			script = n.Fault
		case vrrp.Init:
			script, word = n.Stop, "STOP"
		}
		select {
		case q <- func() {
			run(script)
			run(n.Any, kind, name, word, fmt.Sprint(prio))
		}:
		default:
			logf("(%s) notify queue full, dropping %s", name, word)
		}
	}
}
