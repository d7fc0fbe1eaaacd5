package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gohaka/gohaka/parser"
)

// haproxyMain emulates haproxy 2.6's command line when the binary is
// invoked as "haproxy". Only the check mode (-c) exists so far.
func haproxyMain(args []string, stdout, stderr io.Writer) int {
	var files []string
	var ro runOpts
	check, quiet, zeroWarn, foreground := false, false, false, false
	masterWorker, notify := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case a == "-f" || a == "-C" || a == "-p" || a == "-L" || a == "-S" || a == "-x" || a == "-n" || a == "-N":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "[ALERT]    (%d) : Cannot parse option %s: missing argument.\n", os.Getpid(), a)
				return 1
			}
			switch a {
			case "-f":
				files = append(files, args[i+1])
			case "-p":
				ro.pidfile = args[i+1]
			case "-S":
				ro.masterCLI, _, _ = strings.Cut(args[i+1], ",")
			case "-C": // haproxy changes directory before reading the files
				if err := os.Chdir(args[i+1]); err != nil {
					pid := os.Getpid()
					exe, _ := os.Executable()
					fmt.Fprintf(stderr, "[NOTICE]   (%d) : haproxy version is %s\n", pid, haproxyVersion)
					fmt.Fprintf(stderr, "[NOTICE]   (%d) : path to executable is %s\n", pid, exe)
					fmt.Fprintf(stderr, "[ALERT]    (%d) : Could not change to directory %s : %s\n", pid, args[i+1], errnoText(err))
					return 1
				}
			case "-n":
				ro.maxconn, _ = strconv.Atoi(args[i+1])
			case "-x":
				ro.xSocket = args[i+1]
			}
			i++
		case a == "-c":
			check = true
		case a == "-q":
			quiet = true
		case a == "-dW":
			zeroWarn = true
		case a == "-v" || a == "-vv":
			fmt.Fprintf(stdout, "HAProxy version %s (gohaka %s) - https://haproxy.org/\n", "2.6.12", version)
			return 0
		case a == "-sf" || a == "-st":
			ro.hardKill = a == "-st"
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				if pid, err := strconv.Atoi(args[i]); err == nil {
					ro.oldPIDs = append(ro.oldPIDs, pid)
				}
			}
		case a == "-D":
			ro.daemon = true
		case a == "-db":
			foreground = true
		case a == "-W" || a == "-Ws":
			masterWorker = true
			notify = notify || a == "-Ws"
		case strings.HasPrefix(a, "-d") || a == "-V":
		default:
			fmt.Fprintf(stderr, "[ALERT]    (%d) : Unknown option '%s'.\n", os.Getpid(), a)
			return 1
		}
	}
	if !check {
		ro.files = files
		if os.Getenv(workerEnv) == "1" {
			workerSetup(&ro)
			return runProxies(ro, stderr)
		}
		// `daemon` and `master-worker` in the global section count too
		if cfg, _ := parser.Load(parser.Options{HAProxy: files, Offline: true}); cfg != nil {
			ro.daemon = ro.daemon || cfg.Global.Daemon && !foreground
			masterWorker = masterWorker || cfg.Global.MasterWorker
		}
		if notify {
			ro.daemon = false // -Ws runs under systemd in the foreground
		}
		if ro.daemon && !foreground || os.Getenv(daemonEnv) == "1" {
			if w := daemonChild(); w != nil {
				ro.readyW = w
			} else {
				return daemonize(stderr)
			}
		}
		if masterWorker {
			return runMaster(args, files, ro, notify, stderr)
		}
		return runProxies(ro, stderr)
	}
	if quiet {
		stdout, stderr = io.Discard, io.Discard
	}
	return haproxyCheck(files, zeroWarn, stdout, stderr)
}

// haproxyCheck prints what `haproxy -c` prints and returns its exit code.
func haproxyCheck(files []string, zeroWarn bool, stdout, stderr io.Writer) int {
	pid := os.Getpid()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "[ALERT]    (%d) : No configuration file specified.\n", pid)
		return 1
	}
	opts := loadOptions(files, nil, false)
	opts.FailUnresolved = true
	cfg, ds := parser.Load(opts)
	// haproxy stops after the parsing stage when it found errors there.
	parseErr := false
	for _, d := range ds {
		if d.Sev == parser.Error && !d.Own && (d.Stage == "" || d.Stage == "open") {
			parseErr = true
		}
	}
	headerDone := false
	header := func() {
		if !headerDone {
			exe, _ := os.Executable()
			fmt.Fprintf(stderr, "[NOTICE]   (%d) : haproxy version is %s\n", pid, haproxyVersion)
			fmt.Fprintf(stderr, "[NOTICE]   (%d) : path to executable is %s\n", pid, exe)
			headerDone = true
		}
	}
	stages := map[string]bool{}
	fatal, aborted := false, false
	for i, d := range ds {
		if aborted { // haproxy read no further
			ds = ds[:i]
			break
		}
		aborted = d.Abort
		if d.NotImpl || d.Own || parseErr && d.Stage != "" && d.Stage != "open" {
			continue
		}
		header()
		fmt.Fprintln(stderr, haproxyLine(pid, d))
		if d.Sev == parser.Error {
			fatal = fatal || !d.NonFatal
			st := d.Stage
			if st == "" {
				st = "parse"
			}
			stages[st] = true
		}
	}
	warnings := 0
	for _, d := range ds {
		if d.Sev == parser.Warning && !d.NotImpl && !d.Own && !d.AsAlert && !(parseErr && d.Stage != "") {
			warnings++
		}
	}
	switch {
	case stages["open"]:
		return 1
	case stages["parse"]:
		fmt.Fprintf(stderr, "[ALERT]    (%d) : config : Error(s) found in configuration file : %s\n", pid, strings.Join(files, " "))
		if fatal && !aborted { // haproxy leaves it out once it stopped reading
			fmt.Fprintf(stderr, "[ALERT]    (%d) : config : Fatal errors found in configuration.\n", pid)
		}
		return 1
	case stages["addr"]:
		fmt.Fprintf(stderr, "[ALERT]    (%d) : config : Failed to initialize server(s) addr.\n", pid)
		return 1
	case stages["post"]:
		fmt.Fprintf(stderr, "[ALERT]    (%d) : config : Fatal errors found in configuration.\n", pid)
		return 1
	}
	if zeroWarn && warnings > 0 {
		fmt.Fprintf(stderr, "[ALERT]    (%d) : Some warnings were found and 'zero-warning' is set. Aborting.\n", pid)
		return 1
	}
	if warnings > 0 {
		fmt.Fprintln(stdout, "Warnings were found.")
	}
	if cfg.Listeners() == 0 {
		fmt.Fprintln(stdout, "Configuration file has no error but will not start (no listener) => exit(2).")
		return 2
	}
	fmt.Fprintln(stdout, "Configuration file is valid")
	return 0
}

// haproxyLine renders a diagnostic in haproxy's [ALERT]/[WARNING] shape.
func haproxyLine(pid int, d parser.Diag) string {
	tag := map[parser.Severity]string{parser.Error: "[ALERT]   ", parser.Warning: "[WARNING] ", parser.Notice: "[NOTICE]  "}[d.Sev]
	if d.AsAlert {
		tag = "[ALERT]   "
	}
	msg := d.Msg
	switch {
	case d.Form == "raw" || d.Stage == "open" || d.Pos.Line == 0:
	case d.Form == "bracket":
		msg = fmt.Sprintf("[%s:%d] : %s", d.Pos.File, d.Pos.Line, msg)
	case d.Form == "double":
		msg = fmt.Sprintf("[%s:%d] : parsing [%s:%d] : %s", d.Pos.File, d.Pos.Line, d.Pos.File, d.Pos.Line, msg)
	case d.Form == "colon":
		msg = fmt.Sprintf("parsing [%s:%d]: %s", d.Pos.File, d.Pos.Line, msg)
	default:
		msg = fmt.Sprintf("parsing [%s:%d] : %s", d.Pos.File, d.Pos.Line, msg)
	}
	msg = "config : " + msg
	return fmt.Sprintf("%s (%d) : %s", tag, pid, msg)
}

// errnoText is the C library's text for an error's errno ("No such file
// or directory"), as haproxy prints it.
func errnoText(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		t := e.Error()
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return err.Error()
}
