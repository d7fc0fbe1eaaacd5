package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gohaka/gohaka/check/track"
	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/vrrp"
)

// notifyQueue runs every notify script of the process one at a time, in
// the order the transitions happened (a sync group's after its
// members'), on its own goroutine so that no speaker ever waits on a
// script.
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
//
// Scripts run as script_user (global_defs) when it is set, split into
// words with keepalived's quoting rules, and are stopped after a minute so
// that one hung script cannot hold the queue for ever.
func notifier(kind, name string, n parser.Notify, user string, logf func(string, ...any)) func(vrrp.State, int) {
	q := notifyQueue()
	run := func(script string, extra ...string) {
		if strings.TrimSpace(script) == "" {
			return
		}
		cmd := script
		for _, w := range extra {
			cmd += " '" + w + "'"
		}
		o := track.RunOnce(context.Background(), track.Script{Name: "notify", Command: cmd, Timeout: time.Minute, User: user})
		switch {
		case o.TimedOut:
			logf("(%s) notify script %s timed out", name, script)
		case o.Err != nil:
			logf("(%s) notify script %s: %v", name, script, o.Err)
		case !o.OK:
			logf("(%s) notify script %s exited with status %d", name, script, o.ExitCode)
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
