package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The master CLI (haproxy -W -S SOCKET): `show proc`, `reload`, `show
// version`, `help`, `prompt`, `quit`, `@master CMD`, and `@N` / `@!PID`
// to pass a command to a worker's runtime API.

const haproxyVersion = "2.6.12-1+deb12u4"

// masterHelp is the master CLI's command list, in haproxy 2.6's order.
var masterHelp = [][2]string{
	{"@!<pid>", "send a command to the <pid> process"},
	{"@<relative pid>", "send a command to the <relative pid> process"},
	{"@master", "send a command to the master process"},
	{"operator", "lower the level of the current CLI session to operator"},
	{"reload", "reload haproxy"},
	{"show cli level", "display the level of the current CLI session"},
	{"show cli sockets", "dump list of cli sockets"},
	{"show proc", "show processes status"},
	{"show version", "show version of the current process"},
	{"user", "lower the level of the current CLI session to user"},
	{"help [<command>]", "list matching or all commands"},
	{"prompt", "toggle interactive mode with prompt"},
	{"quit", "disconnect"},
}

func masterHelpText() string {
	var b strings.Builder
	for _, h := range masterHelp {
		fmt.Fprintf(&b, "  %-40s: %s\n", h[0], h[1])
	}
	return b.String()
}

// cliReq asks the master's loop, which owns the worker table, to run one
// master command.
type cliReq struct {
	cmd   string
	reply chan string
}

// listenMasterCLI opens the -S socket: a path (optionally "unix@path"),
// or "ipv4@addr:port"; options after a comma are ignored.
func listenMasterCLI(spec string) (net.Listener, error) {
	addr, _, _ := strings.Cut(spec, ",")
	switch {
	case strings.HasPrefix(addr, "ipv4@"), strings.HasPrefix(addr, "ipv6@"):
		return net.Listen("tcp", addr[5:])
	default:
		addr = strings.TrimPrefix(addr, "unix@")
		os.Remove(addr)
		ln, err := net.Listen("unix", addr)
		if err == nil {
			os.Chmod(addr, 0o600)
		}
		return ln, err
	}
}

// serveMasterCLI accepts CLI connections until ln is closed.
func (m *master) serveMasterCLI(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go m.cliConn(c)
	}
}

// cliConn reads commands (several per line with ';') until the client
// ends, `quit`, or `reload`.
func (m *master) cliConn(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReader(c)
	prompt, level := false, "admin"
	for {
		if prompt {
			c.Write([]byte("master> "))
		}
		line, err := rd.ReadString('\n')
		if err != nil && line == "" {
			return
		}
		for _, cmd := range strings.Split(strings.TrimRight(line, "\r\n"), ";") {
			cmd = strings.TrimSpace(cmd)
			if cmd == "" && !prompt {
				continue
			}
			switch {
			case cmd == "quit":
				return
			case cmd == "prompt":
				prompt = !prompt
				continue
			case cmd == "operator" || cmd == "user":
				level = cmd
				continue
			case cmd == "show cli level":
				c.Write([]byte(level + "\n\n"))
				continue
			case cmd == "reload":
				m.ask("reload")
				return
			}
			c.Write([]byte(m.ask(cmd)))
		}
	}
}

// ask runs a command in the master's loop and returns its answer.
func (m *master) ask(cmd string) string {
	q := cliReq{cmd: cmd, reply: make(chan string, 1)}
	m.cli <- q
	return <-q.reply
}

// cliCommand answers one master CLI command; it runs in the master's loop.
func (m *master) cliCommand(cmd string) string {
	if rest, ok := strings.CutPrefix(cmd, "@master"); ok {
		return m.cliCommand(strings.TrimSpace(rest))
	}
	if strings.HasPrefix(cmd, "@") {
		target, rest, _ := strings.Cut(cmd, " ")
		pid := m.targetPID(target)
		if pid == 0 {
			return fmt.Sprintf("Can't find the target PID matching the prefix '%s'\n", target)
		}
		return forwardToWorker(pid, strings.TrimSpace(rest))
	}
	switch cmd {
	case "reload":
		m.reload()
		return ""
	case "show proc":
		return m.showProc()
	case "show version":
		return haproxyVersion + "\n\n"
	case "help":
		return "The following commands are valid at this level:\n" + masterHelpText() + "\n"
	}
	return "Unknown command. Please enter one of the following commands only:\n" + masterHelpText() + "\n"
}

// targetPID resolves "@!PID" or "@N" (N-th current worker, 1-based).
func (m *master) targetPID(t string) int {
	if p, ok := strings.CutPrefix(t, "@!"); ok {
		pid, err := strconv.Atoi(p)
		if err == nil && m.workers[pid] {
			return pid
		}
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(t, "@"))
	if err != nil || n != 1 || m.current == 0 {
		return 0 // one worker process: @1 is the current one
	}
	return m.current
}

// showProc renders `show proc` as haproxy 2.6 does.
func (m *master) showProc() string {
	var b strings.Builder
	row := func(a, t, r, up, v string) { fmt.Fprintf(&b, "%-15s %-15s %-15s %-15s %-15s\n", a, t, r, up, v) }
	row("#<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	now := time.Now()
	row(strconv.Itoa(m.pid), "master", fmt.Sprintf("%d [failed: %d]", m.reloads, m.failed), uptime(now.Sub(m.started[m.pid])), haproxyVersion)
	b.WriteString("# workers\n")
	if m.current != 0 {
		row(strconv.Itoa(m.current), "worker", strconv.Itoa(m.reloads-m.born[m.current]), uptime(now.Sub(m.started[m.current])), haproxyVersion)
	}
	var old []int
	for pid := range m.workers {
		if pid != m.current {
			old = append(old, pid)
		}
	}
	if len(old) > 0 {
		sort.Ints(old)
		b.WriteString("# old workers\n")
		for _, pid := range old {
			row(strconv.Itoa(pid), "worker", strconv.Itoa(m.reloads-m.born[pid]), uptime(now.Sub(m.started[pid])), haproxyVersion)
		}
	}
	b.WriteString("# programs\n\n")
	return b.String()
}

// uptime is haproxy's "0d00h00m02s".
func uptime(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%dd%02dh%02dm%02ds", s/86400, s/3600%24, s/60%60, s%60)
}

// forwardToWorker passes a command to a worker's runtime API over its
// private socket and returns the answer.
func forwardToWorker(pid int, cmd string) string {
	c, err := net.DialTimeout("unix", workerCLIAddr(pid), 2*time.Second)
	if err != nil {
		return fmt.Sprintf("Can't find the target PID matching the prefix '@!%d'\n", pid)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s\n", cmd)
	if uc, ok := c.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// workerCLIAddr is the abstract unix socket where a worker serves its
// runtime API to the master.
func workerCLIAddr(pid int) string { return fmt.Sprintf("@gohaka-cli-%d", pid) }
