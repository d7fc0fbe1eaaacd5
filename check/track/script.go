package track

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/check"
)

// Script is a vrrp_script block.
type Script struct {
	Name     string
	Command  string        // the "script" string, split as keepalived does
	Interval time.Duration // default 1s
	Timeout  time.Duration // default Interval; a run that times out fails
	Rise     int           // default 1
	Fall     int           // default 1
	InitFail bool
	// User and Group run the script as that account ("user" or the global
	// script_user); empty means the current one.
	User, Group string
}

func (s *Script) fill() {
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	if s.Timeout <= 0 {
		s.Timeout = s.Interval
	}
}

// SplitCommand splits a script string into argv: words are separated by
// blanks; single or double quotes keep blanks inside a word.
func SplitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// Outcome is the result of one run.
type Outcome struct {
	OK       bool
	ExitCode int // -1 when killed or not started
	TimedOut bool
	Err      error // the script could not be started
}

// RunOnce runs the script once: exit status 0 is success; a run still going
// after Timeout gets SIGTERM (its process group), then SIGKILL a second
// later, and counts as a failure.
func RunOnce(ctx context.Context, s Script) Outcome {
	s.fill()
	argv := SplitCommand(s.Command)
	if len(argv) == 0 {
		return Outcome{ExitCode: -1, Err: errors.New("empty script")}
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.User != "" {
		cred, err := credential(s.User, s.Group)
		if err != nil {
			return Outcome{ExitCode: -1, Err: err}
		}
		cmd.SysProcAttr.Credential = cred
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return Outcome{ExitCode: -1, TimedOut: true}
	}
	if err == nil {
		return Outcome{OK: true}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return Outcome{ExitCode: ee.ExitCode()}
	}
	return Outcome{ExitCode: -1, Err: err}
}

// credential resolves a user and optional group name (or numeric ids).
func credential(name, group string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("script user %q: %w", name, err)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return nil, fmt.Errorf("script group %q: %w", group, err)
			}
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// ScriptRunner runs a Script every Interval (measured from the end of the
// previous run, the first run at once) and reports each result.
type ScriptRunner struct {
	Script Script
	Clock  check.Clock // default check.RealClock
	// OnResult is called after every run with the outcome, the tracker's
	// status and whether the status changed.
	OnResult func(o Outcome, st Status, changed bool)
	tracker  *Tracker
}

// Run runs the script until ctx ends.
func (r *ScriptRunner) Run(ctx context.Context) error {
	s := r.Script
	s.fill()
	if r.Clock == nil {
		r.Clock = check.RealClock{}
	}
	r.tracker = NewTracker(s.Rise, s.Fall, s.InitFail)
	var d time.Duration
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.Clock.After(d):
		}
		o := RunOnce(ctx, s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		changed := r.tracker.Observe(o.OK)
		if r.OnResult != nil {
			r.OnResult(o, r.tracker.Status(), changed)
		}
		d = s.Interval
	}
}
