package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Master-worker mode (haproxy -W, -Ws, or `master-worker` in global): the
// master re-executes the binary as a worker that serves the config. On
// SIGUSR2 or SIGHUP the master re-reads the config; when it is valid a new
// worker takes the listening sockets over from the current one (nothing is
// refused) and the old one finishes its live connections; when it is not,
// the master says why and the old worker keeps serving.

const (
	workerEnv   = "GOHAKA_WORKER"   // "1" in a worker started by the master
	takeoverEnv = "GOHAKA_TAKEOVER" // PIDs of the workers a new one replaces
)

// master is the state of the master process.
type master struct {
	args    []string // command line to re-execute (without argv[0])
	files   []string
	notify  bool // -Ws: speak sd_notify
	stderr  io.Writer
	pid     int
	current int          // serving worker, 0 when none
	workers map[int]bool // live workers
	exits   chan workerExit
	aliveR  *os.File // workers read it: EOF means the master is gone
	aliveW  *os.File
	cli     chan cliReq       // master CLI commands, run in the loop
	started map[int]time.Time // start time of the master and each worker
	born    map[int]int       // reload count when each worker started
	reloads int
	failed  int
}

type workerExit struct {
	pid int
	ps  *os.ProcessState
}

func (m *master) log(tag, format string, args ...any) {
	fmt.Fprintf(m.stderr, "%-10s (%d) : %s\n", tag, m.pid, fmt.Sprintf(format, args...))
}

func (m *master) sd(state string) {
	if m.notify {
		sdNotify(state)
	}
}

// runMaster runs the master until every worker has exited and returns
// the exit code (haproxy's: the failed worker's code, else 0).
func runMaster(args, files []string, o runOpts, notify bool, stderr io.Writer) int {
	m := &master{args: args, files: files, notify: notify, stderr: stderr, pid: os.Getpid(),
		workers: map[int]bool{}, exits: make(chan workerExit, 8), cli: make(chan cliReq),
		started: map[int]time.Time{os.Getpid(): time.Now()}, born: map[int]int{}}
	if code := haproxyCheck(files, false, io.Discard, stderr); code != 0 {
		o.ready(fmt.Errorf("configuration errors"))
		return 1
	}
	var err error
	if m.aliveR, m.aliveW, err = os.Pipe(); err != nil {
		m.log("[ALERT]", "%v", err)
		return 1
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	if err := o.writePidfile(); err != nil {
		m.log("[ALERT]", "%v", err)
	}
	if o.masterCLI != "" {
		ln, err := listenMasterCLI(o.masterCLI)
		if err != nil {
			m.log("[ALERT]", "Cannot create the master CLI socket '%s': %v", o.masterCLI, err)
			o.ready(err)
			return 1
		}
		defer ln.Close()
		go m.serveMasterCLI(ln)
	}
	pid, err := m.startWorker(nil)
	if err != nil {
		m.log("[ALERT]", "%v", err)
		o.ready(err)
		m.drain()
		return 1
	}
	m.current = pid
	m.log("[NOTICE]", "New worker (%d) forked", pid)
	m.log("[NOTICE]", "Loading success.")
	m.sd(fmt.Sprintf("READY=1\nMAINPID=%d", m.pid))
	o.ready(nil)
	exiting, final := false, 0
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR2, syscall.SIGHUP:
				if !exiting {
					m.reload()
				}
			case syscall.SIGUSR1:
				exiting = true
				m.signalAll(syscall.SIGUSR1)
			default:
				m.log("[WARNING]", "Exiting Master process...")
				m.sd("STOPPING=1")
				exiting = true
				m.signalAll(syscall.SIGTERM)
			}
		case q := <-m.cli:
			if q.cmd == "reload" && exiting {
				q.reply <- ""
				break
			}
			q.reply <- m.cliCommand(q.cmd)
		case e := <-m.exits:
			delete(m.workers, e.pid)
			delete(m.started, e.pid)
			delete(m.born, e.pid)
			code, why := exitStatus(e.ps)
			if e.pid == m.current {
				m.current = 0
				m.log("[ALERT]", "Current worker (%d) exited with code %d (%s)", e.pid, code, why)
				if !exiting && code != 0 && code != 130 && code != 143 {
					m.log("[ALERT]", "exit-on-failure: killing every processes with SIGTERM")
					exiting, final = true, code
					m.signalAll(syscall.SIGTERM)
				}
			} else {
				m.log("[WARNING]", "Former worker (%d) exited with code %d (%s)", e.pid, code, why)
			}
		}
		if len(m.workers) == 0 && (exiting || m.current == 0) {
			m.log("[WARNING]", "All workers exited. Exiting... (%d)", final)
			return final
		}
	}
}

// reload re-reads the configuration and replaces the worker when it is
// valid; otherwise the current worker keeps serving.
func (m *master) reload() {
	m.log("[NOTICE]", "Reloading HAProxy")
	m.reloads++
	m.sd("RELOADING=1")
	defer m.sd(fmt.Sprintf("READY=1\nMAINPID=%d", m.pid))
	if haproxyCheck(m.files, false, io.Discard, m.stderr) != 0 {
		m.log("[WARNING]", "Loading failure!")
		m.failed++
		return
	}
	var old []int
	if m.current != 0 {
		old = append(old, m.current)
	}
	for pid := range m.workers {
		if pid != m.current {
			old = append(old, pid)
		}
	}
	pid, err := m.startWorker(old)
	if err != nil {
		m.log("[ALERT]", "%v", err)
		m.log("[WARNING]", "Loading failure!")
		m.failed++
		return
	}
	m.current = pid
	m.log("[NOTICE]", "New worker (%d) forked", pid)
	m.log("[NOTICE]", "Loading success.")
}

// startWorker re-executes the binary as a worker that takes the listening
// sockets over from the old workers and, once it serves, soft-stops them.
// It returns when the worker reports its start-up.
func (m *master) startWorker(old []int) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := exec.Command(exe, m.args...)
	cmd.Args[0] = os.Args[0] // the name selects haproxy mode
	var olds []string
	for _, p := range old {
		olds = append(olds, strconv.Itoa(p))
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, workerEnv+"=1", takeoverEnv+"="+strings.Join(olds, " "))
	if f, ok := m.stderr.(*os.File); ok {
		cmd.Stdout, cmd.Stderr = f, f
	} else {
		cmd.Stdout, cmd.Stderr = m.stderr, m.stderr
	}
	cmd.ExtraFiles = []*os.File{w, m.aliveR}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, fmt.Errorf("cannot start a worker: %v", err)
	}
	w.Close()
	pid := cmd.Process.Pid
	m.workers[pid] = true
	m.started[pid], m.born[pid] = time.Now(), m.reloads
	go func() {
		cmd.Wait()
		m.exits <- workerExit{pid, cmd.ProcessState}
	}()
	line, _ := bufio.NewReader(r).ReadString('\n')
	if line = strings.TrimSpace(line); line != "ok" {
		if line == "" {
			line = "the new worker exited during start-up"
		}
		return 0, fmt.Errorf("new worker (%d) failed to start: %s", pid, strings.TrimPrefix(line, "error: "))
	}
	return pid, nil
}

// signalAll sends sig to every live worker.
func (m *master) signalAll(sig syscall.Signal) {
	for pid := range m.workers {
		syscall.Kill(pid, sig)
	}
}

// drain waits (bounded) for the workers that are still starting to exit.
func (m *master) drain() {
	m.signalAll(syscall.SIGTERM)
	deadline := time.After(10 * time.Second)
	for len(m.workers) > 0 {
		select {
		case q := <-m.cli:
			q.reply <- "" // shutting down
		case e := <-m.exits:
			delete(m.workers, e.pid)
		case <-deadline:
			return
		}
	}
}

// exitStatus renders a worker's end as haproxy logs it: the shell-style
// code (128+signal when killed) and "Exit", or for codes above 128 the
// signal's description.
func exitStatus(ps *os.ProcessState) (int, string) {
	code := ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code <= 128 {
		return code, "Exit"
	}
	d := syscall.Signal(code - 128).String()
	if d != "" {
		d = strings.ToUpper(d[:1]) + d[1:]
	}
	return code, d
}

// workerSetup reads what the master passed to a worker: the PIDs to take
// over from, the start-up report pipe (fd 3), and the pipe whose end means
// the master died (fd 4: the worker then stops, as haproxy's do).
func workerSetup(o *runOpts) {
	os.Unsetenv(workerEnv)
	for _, f := range strings.Fields(os.Getenv(takeoverEnv)) {
		if pid, err := strconv.Atoi(f); err == nil {
			o.oldPIDs = append(o.oldPIDs, pid)
		}
	}
	os.Unsetenv(takeoverEnv)
	o.readyW = os.NewFile(3, "ready")
	o.worker = true
	alive := os.NewFile(4, "master")
	go func() {
		io.Copy(io.Discard, alive)
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
}
