package main

import (
	"fmt"
	"io"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strings"

	"github.com/gohaka/gohaka/parser"
)

// hostFn describes the machine for keepalived checks (tests replace it).
var hostFn = realHost

// realHost describes this machine for keepalived's host checks.
func realHost() *parser.KeepalivedHost {
	ifs := map[string]bool{}
	if list, err := net.Interfaces(); err == nil {
		for _, i := range list {
			ifs[i.Name] = true
		}
	}
	return &parser.KeepalivedHost{
		Interfaces: ifs,
		UserExists: func(n string) bool { _, err := user.Lookup(n); return err == nil },
		Executable: func(n string) bool {
			if strings.HasPrefix(n, "/") {
				st, err := os.Stat(n)
				return err == nil && st.Mode()&0o111 != 0
			}
			_, err := exec.LookPath(n)
			return err == nil
		},
	}
}

// keepalivedMain emulates keepalived 2.2's command line when the binary is
// invoked as "keepalived". Only the config test (-t) exists so far.
func keepalivedMain(args []string, stdout, stderr io.Writer) int {
	file := "/etc/keepalived/keepalived.conf"
	test, dontFork, console, useSyslog := false, false, false, true
	facility := syslog.LOG_DAEMON
	var ro runOpts
	id, _ := os.Hostname()
	if i := strings.IndexByte(id, '.'); i > 0 {
		id = id[:i]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if k := strings.IndexByte(a, '='); strings.HasPrefix(a, "--") && k > 0 {
				return a[k+1:]
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "-t" || a == "--config-test":
			test = true
		case a == "-f" || strings.HasPrefix(a, "--use-file"):
			file = val()
		case a == "-i" || strings.HasPrefix(a, "--config-id"):
			id = val()
		case a == "-v" || a == "--version":
			fmt.Fprintf(stderr, "Keepalived v2.2.7 (gohaka %s)\n", version)
			return 0
		case a == "-h" || a == "--help":
			fmt.Fprintln(stderr, "Usage: keepalived [OPTION...]\n  -f, --use-file=FILE  Use the specified configuration file\n  -t, --config-test    Check the configuration for obvious errors\n  -i, --config-id id   Skip any configuration lines beginning '@' that don't match id\n  -v, --version        Display the version number\n  -h, --help           Display this help message")
			return 0
		case a == "-n" || a == "--dont-fork":
			dontFork = true
		case a == "-C" || a == "--check":
			fmt.Fprintln(stderr, "gohaka: the LVS checker is not implemented; running the VRRP part only")
		case a == "-l" || a == "--log-console":
			console = true
		case a == "--no-syslog":
			useSyslog = false
		case a == "-S" || strings.HasPrefix(a, "--log-facility"):
			v := val()
			f, ok := kaFacility(v)
			if !ok {
				fmt.Fprintf(stderr, "Invalid log facility '%s'\n", v)
				return 1
			}
			facility = f
		case a == "-P" || a == "--vrrp" || a == "-D" || a == "--log-detail" ||
			a == "-d" || a == "--dump-conf":
		case a == "-p" || strings.HasPrefix(a, "--pid"):
			ro.pidfile = val()
		case a == "-r" || a == "-c" ||
			strings.HasPrefix(a, "--vrrp_pid") || strings.HasPrefix(a, "--checkers_pid"):
			val()
		default:
			fmt.Fprintf(stderr, "Unknown option %s\n", a)
			return 1
		}
	}
	if !test {
		ro.kfiles = []string{file}
		var con io.Writer
		if console {
			con = stderr
		}
		kl := newKALog(con, facility, kaSyslogAddr(), useSyslog)
		defer kl.close()
		ro.logf = kl.logf
		ro.persona = "keepalived"
		ro.notify, ro.rmPid = true, true
		if ro.pidfile == "" {
			ro.pidfile = "/run/keepalived.pid" // keepalived's default
		}
		if w := daemonChild(); w != nil {
			ro.readyW = w
		} else if !dontFork {
			return daemonize(stderr)
		}
		return runProxies(ro, stderr)
	}
	if _, err := os.Stat(file); err != nil {
		fmt.Fprintf(stderr, "Config files missing '%s'.\n", file)
		return 0
	}
	_, ds := parser.LoadKeepalived([]string{file}, parser.KeepalivedOptions{ConfigID: id, Env: os.LookupEnv, Host: hostFn()})
	for _, d := range ds {
		if d.NotImpl || d.Sev == parser.Notice {
			continue
		}
		if d.Pos.Line > 0 {
			fmt.Fprintf(stderr, "(%s: Line %d) %s\n", d.Pos.File, d.Pos.Line, d.Msg)
		} else {
			fmt.Fprintln(stderr, d.Msg)
		}
	}
	return parser.KeepalivedExitCode(ds)
}
