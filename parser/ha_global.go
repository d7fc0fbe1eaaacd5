package parser

import (
	"fmt"
	"strconv"
	"strings"
)

var logFacilities = strings.Fields("kern user mail daemon auth syslog lpr news uucp cron auth2 ftp ntp audit alert cron2 local0 local1 local2 local3 local4 local5 local6 local7")
var logLevels = strings.Fields("emerg alert crit err warning notice info debug")

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// parseLogTarget reads `<addr> [len N] [format F] [sample R:S] <facility> [level [minlevel]]`.
func (r *haReader) parseLogTarget(args []string, apos []Pos, kpos Pos, inProxy bool) (LogTarget, bool) {
	t := LogTarget{Pos: kpos}
	if len(args) < 2 {
		if inProxy {
			r.d.Errorf(kpos, "log : expects <address> and <facility> or global as arguments")
		} else {
			r.d.Errorf(kpos, "log : expects <address> and <facility>  as arguments")
		}
		return t, false
	}
	t.Addr = args[0]
	switch {
	case args[0] == "stdout" || args[0] == "stderr" || strings.HasPrefix(args[0], "ring@") || strings.HasPrefix(args[0], "/"):
	default:
		if i := strings.LastIndexByte(args[0], ':'); i >= 0 && i+1 < len(args[0]) && (args[0][i+1] == '+' || args[0][i+1] == '-') {
			r.d.Errorf(apos[0], "log : port offset not permitted here in '%s'", args[0])
			return t, false
		}
		a, err := parseAddr(args[0], addrOpts{env: r.getenv})
		if err != nil {
			r.d.Errorf(apos[0], "log : %s", err)
			return t, false
		}
		if a.IsName() { // a name: resolved now, as haproxy does ("*" is any address)
			ok := false
			if r.opts.Resolver != nil {
				addrs, err := r.opts.Resolver.LookupHost(a.Host)
				ok = err == nil && len(addrs) > 0
			}
			if !ok {
				r.d.Errorf(apos[0], "log : invalid address: '%s' in '%s'\n", a.Host, args[0]) // haproxy's line ends in libc's newline
				return t, false
			}
		}
	}
	i := 1
	for i+1 < len(args) {
		switch args[i] {
		case "len":
			n, ok := strictInt(args[i+1])
			if !ok || n < 80 || n > 65535 {
				r.d.Errorf(apos[i+1], "log : invalid max length '%s' (must be between 80 and 65535).", args[i+1])
				return t, false
			}
			t.Len = n
		case "format":
			switch args[i+1] {
			case "local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw":
				t.Format = args[i+1]
			default:
				r.d.Errorf(apos[i+1], "log : unknown log format '%s'", args[i+1])
				return t, false
			}
		case "sample":
		default:
			goto facility
		}
		i += 2
	}
facility:
	if i >= len(args) {
		r.d.Errorf(kpos, "log : missing facility")
		return t, false
	}
	if !contains(logFacilities, args[i]) {
		r.d.Errorf(apos[i], "log : unknown log facility '%s'", args[i])
		return t, false
	}
	t.Facility = args[i]
	if i+1 < len(args) {
		if !contains(logLevels, args[i+1]) {
			r.d.Errorf(apos[i+1], "log : unknown optional log level '%s'", args[i+1])
			return t, false
		}
		t.Level = args[i+1]
	}
	if i+2 < len(args) {
		if !contains(logLevels, args[i+2]) {
			r.d.Errorf(apos[i+2], "log : unknown optional minimum log level '%s'", args[i+2])
			return t, false
		}
		t.MinLevel = args[i+2]
	}
	return t, true
}

// globalImplemented are the global keywords gohaka acts on or stores with
// their meaning (the rest are stored and warned about as not implemented).
var globalImplemented = map[string]bool{
	"daemon": true, "master-worker": true, "maxconn": true, "nbthread": true, "user": true,
	"group": true, "uid": true, "gid": true, "chroot": true, "pidfile": true, "ulimit-n": true,
	"hard-stop-after": true, "spread-checks": true, "log": true, "stats": true,
	"tune.bufsize": true, "tune.maxrewrite": true, "maxpipes": true, "nosplice": true,
	"setenv": true, "presetenv": true, "resetenv": true, "unsetenv": true, "ca-base": true,
	"crt-base": true, "lua-load": true, "quiet": true, "zero-warning": true, "description": true,
	"node": true, "log-tag": true, "log-send-hostname": true,
	// TLS defaults for binds and servers (the -ciphersuites lines: see
	// suitesAsGo)
	"ssl-default-bind-ciphers": true, "ssl-default-bind-options": true, "ssl-default-bind-curves": true,
	"ssl-default-server-ciphers": true, "ssl-default-server-options": true, "ssl-default-server-curves": true,
	// tuning of haproxy's internals that gohaka has nothing to match and
	// whose absence changes no behaviour: Go's TLS offers no DHE suites
	// (no Diffie-Hellman parameters to size); gohaka's buffers have no
	// per-thread pools to share; no ssl_fc_cipherlist_* fetch keeps a
	// capture of the client's cipher list
	"tune.ssl.default-dh-param": true, "tune.idle-pool.shared": true, "tune.ssl.capture-buffer-size": true,
	"tune.ssl.capture-cipherlist-size": true,
}

// globalKeyword handles one line of the global section.
func (r *haReader) globalKeyword(words []string, pos []Pos) {
	g := &r.cfg.Global
	k := words[0]
	if k == "nbproc" {
		r.d.Errorf(pos[0], "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.")
		return
	}
	if !r.kw.global[k] {
		msg := fmt.Sprintf("unknown keyword '%s' in 'global' section", k)
		if s := suggest(k, r.kw.globalList); s != "" {
			msg += fmt.Sprintf("; did you mean '%s' maybe ?", s)
		}
		r.d.Errorf(pos[0], "%s", msg)
		return
	}
	args, apos := words[1:], pos[1:]
	if r.tooManyArgs(globalMaxArgs, k, args, apos) {
		return
	}
	need := func(n int, what string) bool {
		if len(args) < n {
			r.d.Errorf(pos[0], "'%s' expects %s.", k, what)
			return false
		}
		return true
	}
	intArg := func() (int, bool) {
		if !need(1, "an integer argument") {
			return 0, false
		}
		n, ok := atoi(args[0])
		if !ok {
			r.d.Errorf(apos[0], "'%s' expects an integer argument.", k)
		}
		return n, ok
	}
	switch k {
	case "tune.ssl.default-dh-param", "tune.idle-pool.shared", "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size":
		r.noEffectTune(k, args, pos)
	case "daemon":
		g.Daemon = true
	case "master-worker":
		g.MasterWorker = true
	case "maxconn":
		if g.Maxconn != 0 {
			r.alreadySpecified(pos[0], k)
			return
		}
		g.Maxconn, _ = intArg()
	case "nbthread":
		if n, ok := intArg(); ok {
			if n < 1 || n > 64 {
				r.d.Errorf(apos[0], "'nbthread' must be between 1 and 64 (was %d).", n)
			}
			g.Nbthread = n
		}
	case "ulimit-n":
		g.UlimitN, _ = intArg()
	case "uid":
		g.UID, _ = intArg()
	case "gid":
		g.GID, _ = intArg()
	case "maxpipes":
		g.Maxpipes, _ = intArg()
	case "spread-checks":
		if n, ok := intArg(); ok {
			if n < 0 || n > 50 {
				r.d.Errorf(apos[0], "'spread-checks' needs a positive value in range 0..50.")
			}
			g.SpreadChecks = n
		}
	case "tune.bufsize", "tune.maxrewrite":
		if n, ok := intArg(); ok {
			if strconv.Itoa(n) != args[0] {
				r.d.Errorf(apos[0], "'%s' expects a plain integer in bytes (got '%s'); haproxy 2.6 misreads size suffixes here.", k, args[0])
			} else if k == "tune.bufsize" {
				g.TuneBufsize = n
			} else {
				g.TuneMaxrewrite = n
			}
		}
	case "nosplice":
		g.NoSplice = true
	case "user", "group", "chroot", "pidfile", "ca-base", "crt-base":
		what := map[string]string{"pidfile": "a file name as an argument", "chroot": "a directory as an argument"}[k]
		if what == "" {
			what = "an argument"
		}
		if !need(1, what) {
			return
		}
		switch k {
		case "user":
			g.User = args[0]
		case "group":
			g.Group = args[0]
		case "chroot":
			if g.Chroot != "" {
				r.alreadySpecified(pos[0], k)
				return
			}
			g.Chroot = args[0]
		case "pidfile":
			if g.Pidfile != "" {
				r.alreadySpecified(pos[0], k)
				return
			}
			g.Pidfile = args[0]
		case "ca-base":
			g.CaBase = args[0]
		case "crt-base":
			g.CrtBase = args[0]
		}
	case "hard-stop-after":
		if need(1, "<time> as argument") {
			d, err := parseTime(args[0])
			if err != nil {
				r.d.Errorf(apos[0], "'hard-stop-after' %s", err)
				return
			}
			g.HardStopAfter = d
		}
	case "log":
		if t, ok := r.parseLogTarget(args, apos, pos[0], false); ok {
			g.Logs = append(g.Logs, t)
		}
	case "stats":
		r.globalStats(args, apos, pos[0])
	case "setenv", "presetenv":
		if need(2, "<name> and <value> as arguments") {
			if _, set := r.getenv(args[0]); k == "setenv" || !set {
				v := args[1]
				r.envSet[args[0]] = &v
			}
		}
	case "unsetenv":
		for _, n := range args {
			r.envSet[n] = nil
		}
	case "lua-load", "lua-load-per-thread":
		if need(1, "a file name as parameter") {
			r.checkFile(apos[0], args[0], "error in Lua file '%s': cannot open "+strings.ReplaceAll(args[0], "%", "%%")+": No such file or directory")
		}
	}
	if !globalImplemented[k] && !r.suitesAsGo(k, args, pos) {
		r.notImpl(pos[0], k, "global")
	}
	g.Settings = append(g.Settings, Line{Words: words, Pos: pos})
}

// goTLS13Suites are the TLS 1.3 suites Go's TLS offers, always all three
// (its crypto/tls has no setting to leave one out).
var goTLS13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// suitesAsGo reports whether k is an ssl-default-*-ciphersuites line that
// lists every suite Go offers, so that gohaka does what it says (suites
// Go lacks, such as the CCM ones, are simply never offered). A list that
// leaves one out gets its own warning, naming what stays offered, and
// true.
func (r *haReader) suitesAsGo(k string, args []string, pos []Pos) bool {
	if k != "ssl-default-bind-ciphersuites" && k != "ssl-default-server-ciphersuites" || len(args) == 0 {
		return false
	}
	listed := map[string]bool{}
	for _, s := range strings.Split(args[0], ":") {
		listed[s] = true
	}
	var missing []string
	for _, s := range goTLS13Suites {
		if !listed[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		r.d = append(r.d, Diag{Pos: pos[1], Sev: Warning, Keyword: k, NotImpl: true,
			Msg: fmt.Sprintf("'%s': gohaka cannot leave out the TLS 1.3 suite(s) %s (Go's TLS offers all of %s); they stay offered", k, strings.Join(missing, ", "), strings.Join(goTLS13Suites, ", "))})
	}
	return true
}

// globalStats handles `stats socket|timeout|maxconn|bind-process`.
func (r *haReader) globalStats(args []string, apos []Pos, kpos Pos) {
	g := &r.cfg.Global
	if len(args) < 1 {
		r.d.Errorf(kpos, "'stats' expects 'socket', 'maxconn', 'bind-process' or 'timeout' in 'global' section.")
		return
	}
	switch args[0] {
	case "socket":
		if len(args) < 2 {
			r.d.Errorf(kpos, "'stats socket' expects an address.")
			return
		}
		a, err := parseAddr(args[1], addrOpts{portRequired: !strings.HasPrefix(args[1], "/") && !strings.Contains(args[1], "@"), env: r.getenv})
		if err != nil {
			r.d.Errorf(apos[1], "'stats socket' : %s", err)
			return
		}
		ss := StatsSocket{Pos: kpos, Addr: a, Mode: 0} // Level "" is haproxy 2.6's default, operator
		for i := 2; i < len(args); i++ {
			switch args[i] {
			case "mode":
				if i+1 < len(args) {
					m, _ := strconv.ParseUint(args[i+1], 8, 32)
					ss.Mode = uint32(m)
					i++
				}
			case "level":
				if i+1 < len(args) {
					if !contains([]string{"user", "operator", "admin"}, args[i+1]) {
						r.d.Errorf(apos[i+1], "'level' only supports 'user', 'operator', and 'admin' (got '%s').", args[i+1])
						return
					}
					ss.Level = args[i+1]
					i++
				}
			case "expose-fd":
				ss.ExposeFD = true
				i++
			case "process":
				if i+1 >= len(args) {
					break
				}
				warn, bad := processOption(args[i+1])
				if bad != "" {
					if strings.HasSuffix(bad, "to 1.") {
						bad += "\n" // haproxy's own line break, inside its quotes
					}
					r.d.Errorf(apos[i], "'stats socket' : ''process' : %s'", bad)
					return
				}
				r.d.Warnf(apos[i], "'stats socket' : %s", warn)
				i++
			default:
				n, ok := haBindOptionArgs[args[i]]
				if !ok {
					r.d.Errorf(apos[i], "'stats socket' : unknown keyword '%s'.", args[i])
					return
				}
				ss.Options = append(ss.Options, args[i:min(i+1+n, len(args))]...)
				i += n
			}
		}
		g.StatsSockets = append(g.StatsSockets, ss)
	case "timeout":
		if len(args) < 2 {
			r.d.Errorf(kpos, "'stats timeout' expects a time.")
			return
		}
		d, err := parseTime(args[1])
		if err != nil {
			r.d.Errorf(apos[1], "'stats timeout' %s", err)
			return
		}
		g.StatsTimeout = d
	case "maxconn", "bind-process":
	default:
		r.d.Errorf(apos[0], "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '%s')", args[0])
	}
}

// noEffectTune checks a tuning line gohaka has nothing to apply to
// (globalImplemented) as haproxy 2.6 checks it.
func (r *haReader) noEffectTune(k string, args []string, pos []Pos) {
	if len(args) > 1 {
		r.d.Errorf(pos[2], "'%s' cannot handle unexpected argument '%s'.", k, args[1])
		return
	}
	if k == "tune.ssl.capture-cipherlist-size" {
		r.d.Warnf(pos[0], "'%s' is deprecated and will be removed in version 2.7. Please use 'tune.ssl.capture-buffer-size' instead.", k)
		r.d[len(r.d)-1].Form = "colon" // as haproxy frames this one
	}
	if k == "tune.idle-pool.shared" {
		if len(args) == 0 || args[0] != "on" && args[0] != "off" {
			got := ""
			if len(args) > 0 {
				got = args[0]
			}
			r.d.Errorf(pos[0], "'%s' expects either 'on' or 'off' but got '%s'.", k, got)
		}
		return
	}
	if len(args) == 0 || args[0] == "" {
		r.d.Errorf(pos[0], "'%s' expects an integer argument.", k)
		return
	}
	n, _ := atoi(args[0]) // haproxy reads what is not a number as 0
	switch {
	case k == "tune.ssl.default-dh-param" && n < 1024:
		r.d.Errorf(pos[1], "'%s' expects a value >= 1024.", k)
	case k != "tune.ssl.default-dh-param" && n < 0:
		r.d.Errorf(pos[1], "'%s' expects a positive numeric value.", k)
	}
}

// alreadySpecified is haproxy's remark on a global setting given twice:
// the first value stays.
func (r *haReader) alreadySpecified(p Pos, k string) {
	r.d.Warnf(p, "'%s' already specified. Continuing.", k)
	r.d[len(r.d)-1].AsAlert = true
}
