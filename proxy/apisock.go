package proxy

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// CLI levels of a stats socket, lowest first.
const (
	levelUser = iota
	levelOperator
	levelAdmin
)

var levelNames = [...]string{"user", "operator", "admin"}

func parseLevel(s string) int {
	switch s {
	case "user":
		return levelUser
	case "admin":
		return levelAdmin
	}
	return levelOperator // haproxy 2.6's default level

}

// startCLI opens every `stats socket` of the global section.
func (r *Runtime) startCLI() error {
	if r.obs.cfg == nil {
		return nil
	}
	if err := r.startPages(); err != nil {
		r.stopCLI()
		return err
	}
	for _, ss := range r.obs.cfg.Global.StatsSockets {
		ln, err := listenCLI(ss)
		if err != nil {
			r.stopCLI()
			return fmt.Errorf("%s: stats socket %s: %v", ss.Pos, ss.Addr.Raw, err)
		}
		r.obs.cliMu.Lock()
		r.obs.cli = append(r.obs.cli, ln)
		r.obs.cliMu.Unlock()
		lvl := parseLevel(ss.Level)
		expose := ss.ExposeFD && ss.Addr.Family == "unix"
		r.obs.cliWG.Add(1)
		go func() {
			defer r.obs.cliWG.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				r.obs.cumReq.Add(1) // haproxy counts a CLI connection in CumReq
				go r.serveCLISession(c, &cliSession{level: lvl, exposeFD: expose})
			}
		}()
	}
	return nil
}

func listenCLI(ss parser.StatsSocket) (net.Listener, error) {
	a := ss.Addr
	if a.Family == "unix" || a.Path != "" {
		os.Remove(a.Path)
		ln, err := net.Listen("unix", a.Path)
		if err != nil {
			return nil, err
		}
		if ss.Mode != 0 {
			if err := os.Chmod(a.Path, os.FileMode(ss.Mode)); err != nil {
				ln.Close()
				return nil, err
			}
		}
		return ln, nil
	}
	host := a.Host
	if host == "*" {
		host = ""
	}
	return net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(a.Port)))
}

// stopCLI closes the stats sockets.
func (r *Runtime) stopCLI() {
	r.obs.cliMu.Lock()
	for _, ln := range r.obs.cli {
		ln.Close()
	}
	r.obs.cli = nil
	r.obs.cliMu.Unlock()
}

// CLITimeout is how long the runtime API waits for a command line
// (haproxy's `stats timeout`, 10s by default).
const cliTimeout = 10 * time.Second

// serveCLI runs one runtime API connection: one line of commands
// separated by ';', or a dialogue after `prompt`.
func (r *Runtime) serveCLI(c net.Conn, level int) {
	r.serveCLISession(c, &cliSession{level: level})
}

// serveCLISession is serveCLI with the session's settings given.
func (r *Runtime) serveCLISession(c net.Conn, sess *cliSession) {
	defer c.Close()
	to := cliTimeout
	if r.obs.cfg != nil && r.obs.cfg.Global.StatsTimeout > 0 {
		to = r.obs.cfg.Global.StatsTimeout
	}
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(to))
		line, err := br.ReadString('\n')
		if err != nil && line == "" {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return
		}
		var out strings.Builder
		quit := false
		for _, cmd := range splitCommands(line) {
			if strings.TrimSpace(cmd) == "quit" {
				quit = true
				break
			}
			out.WriteString(r.execCLI(sess, cmd))
			out.WriteString("\n")
		}
		if sess.prompt && !quit {
			out.WriteString("> ")
		}
		c.SetWriteDeadline(time.Now().Add(to))
		if _, err := c.Write([]byte(out.String())); err != nil {
			return
		}
		if quit || !sess.prompt {
			return
		}
	}
}

// splitCommands splits a line on ';' not escaped with a backslash.
func splitCommands(line string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == ';':
			cur.WriteByte(';')
			i++
		case line[i] == ';':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(out, cur.String())
}

// cliSession is the state of one runtime API connection.
type cliSession struct {
	level    int
	prompt   bool
	exposeFD bool // `expose-fd listeners` on a unix stats socket
}

// Command runs one runtime API command at admin level and returns its
// output without the blank line that ends it (tests, the stats page).
func (r *Runtime) Command(line string) string {
	return r.execCLI(&cliSession{level: levelAdmin}, line)
}

// ServeCLIConn runs one runtime API connection at admin level: the
// master CLI passes commands to its worker this way.
func (r *Runtime) ServeCLIConn(c net.Conn) { r.serveCLI(c, levelAdmin) }
