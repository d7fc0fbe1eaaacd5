package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// runOpts are the process-level settings of a run: pidfile, daemon mode
// and the old processes to take over from (-sf/-st).
type runOpts struct {
	files      []string
	kfiles     []string
	pidfile    string
	daemon     bool
	oldPIDs    []int
	hardKill   bool     // -st: terminate old processes instead of finishing them
	readyW     *os.File // daemon child or worker: tells the parent how start-up went
	worker     bool     // started by a master: the master owns the pidfile
	pidfileG   string   // pidfile from the global section
	masterCLI  string   // -S: haproxy's master CLI socket (not implemented)
	notify     bool     // tell $NOTIFY_SOCKET about start, reloads and stop (keepalived, gohaka run)
	rmPid      bool     // remove the pidfile on exit (keepalived does, haproxy does not)
	hupHAProxy bool     // SIGHUP reloads haproxy.cfg too (gohaka run)
	// logf, when set, replaces gohaka's own stderr log lines (the
	// keepalived persona logs as keepalived does)
	logf    func(string, ...any)
	persona string // "keepalived" when invoked under that name
	maxconn int    // haproxy -n: the global maxconn, over the config's
	xSocket string // haproxy -x: an old process's stats socket to take the listeners from
}

// writePidfile writes this process's PID where -p (or global pidfile)
// says, as haproxy does; a worker leaves it to its master.
func (o runOpts) writePidfile() error {
	path := o.pidfile
	if path == "" {
		path = o.pidfileG
	}
	if path == "" || o.worker {
		return nil
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return fmt.Errorf("cannot write pidfile %s: %v", path, err)
	}
	return nil
}

// ready reports the start-up result to a waiting daemon parent.
func (o runOpts) ready(err error) {
	if o.readyW == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(o.readyW, "error: %v\n", err)
	} else {
		fmt.Fprintln(o.readyW, "ok")
	}
	o.readyW.Close()
}

// finishOld signals the processes named by -sf (SIGUSR1: stop listening,
// finish live connections) or -st (SIGTERM), once this one listens.
func (o runOpts) finishOld(logf func(string, ...any)) {
	sig := syscall.SIGUSR1
	if o.hardKill {
		sig = syscall.SIGTERM
	}
	for _, pid := range o.oldPIDs {
		if err := syscall.Kill(pid, sig); err != nil {
			logf("cannot signal old process %d: %v", pid, err)
		}
	}
}

// daemonEnv marks the re-executed child of a daemonizing parent.
const daemonEnv = "GOHAKA_DAEMON_CHILD"

// daemonize re-executes the binary in a new session with its standard
// streams on /dev/null, waits for the child to report its start-up, and
// returns the exit code the parent should end with (haproxy -D).
func daemonize(stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "cannot find own executable:", err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0] // keep the name: it selects haproxy mode
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "cannot start daemon:", err)
		return 1
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if line != "ok" {
		if line == "" {
			line = "the daemon exited during start-up"
		}
		fmt.Fprintln(stderr, line)
		return 1
	}
	return 0
}

// daemonChild returns the start-up report pipe when this process is the
// re-executed daemon child.
func daemonChild() *os.File {
	if os.Getenv(daemonEnv) != "1" {
		return nil
	}
	os.Unsetenv(daemonEnv)
	return os.NewFile(3, "ready")
}
