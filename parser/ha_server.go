package parser

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
)

// kwServer reads server, default-server and server-template lines.
func (r *haReader) kwServer(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	var s *Server
	optStart := 0
	switch key {
	case "default-server":
		s = px.DefaultServer
	case "server", "server-template":
		need := 2
		if key == "server-template" {
			need = 3
		}
		if len(args) < need {
			r.d.Errorf(kpos, "'%s' expects <name> and <addr>[:<port>] as arguments.", key)
			r.d[len(r.d)-1].Form = "bracket"
			return
		}
		ds := *px.DefaultServer
		ds.Options = maps.Clone(px.DefaultServer.Options)
		s = &ds
		s.Pos, s.Name = kpos, args[0]
		if c, bad := invalidNameChar(args[0]); bad {
			r.d.Errorf(apos[0], "character '%c' is not permitted in server name '%s'.", c, args[0])
			r.d[len(r.d)-1].Form = "bracket"
			return
		}
		ai := 1
		if key == "server-template" {
			ai = 2
		}
		a, err := parseAddr(args[ai], addrOpts{portOffset: true, env: r.getenv})
		if err != nil {
			r.d.Errorf(apos[ai], "'server %s/%s' : %s", px.Name, args[0], err)
			r.d[len(r.d)-1].Form = "bracket"
			return
		}
		s.Addr = a
		optStart = ai + 1
	}
	if !r.serverOptions(px, s, key, args[optStart:], apos[optStart:]) {
		return
	}
	if key == "default-server" {
		return
	}
	if px.Kind == "defaults" {
		r.d.Errorf(kpos, "'%s' not allowed in 'defaults' section.", key)
		r.d[len(r.d)-1].Form = "bracket"
		return
	}
	if key == "server-template" { // servers PREFIX<first> to PREFIX<last>, alike but for their names
		first, last, ok := templateRange(args[1])
		if !ok {
			r.d.Errorf(kpos, "Wrong server-template number or range arg '%s'.", args[1])
			r.d[len(r.d)-1].Form = "bracket"
			return
		}
		for i := first; i <= last; i++ {
			t := *s
			t.Options = maps.Clone(s.Options)
			t.Name = s.Name + strconv.Itoa(i)
			r.addServer(px, &t, kpos, apos[2])
		}
		return
	}
	r.addServer(px, s, kpos, apos[1])
}

// addServer adds a server to px, its name resolved, unless the name is
// taken.
func (r *haReader) addServer(px *Proxy, s *Server, kpos, addrPos Pos) {
	for _, o := range px.Servers {
		if o.Name == s.Name {
			r.d.Errorf(kpos, "%s '%s', another server named '%s' was already defined at line %d, please use distinct names.", proxyType(px), px.Name, s.Name, o.Pos.Line)
			r.d[len(r.d)-1].Stage = "post"
			return
		}
	}
	r.resolveServer(px, s, addrPos)
	px.Servers = append(px.Servers, s)
}

// templateRange reads server-template's <num> (1 to num) or <first>-<last>.
func templateRange(arg string) (first, last int, ok bool) {
	lo, hi, isRange := strings.Cut(arg, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 0 || a == 0 && !isRange { // a range may start at 0, a count may not be 0
		return 0, 0, false
	}
	if !isRange {
		return 1, a, true
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a {
		return 0, 0, false
	}
	return a, b, true
}

// resolveServer turns a hostname into addresses with the caller's resolver,
// as haproxy's init-addr libc does.
func (r *haReader) resolveServer(px *Proxy, s *Server, p Pos) {
	a := s.Addr
	if !a.IsName() {
		return
	}
	if a.IsSRVName() && len(s.Options["resolvers"]) > 0 {
		return // a DNS SRV record (_service._proto.name): resolvers ask for it at run time, never libc
	}
	initAddr := strings.Join(s.Options["init-addr"], ",")
	tolerant := strings.Contains(initAddr, "none") || (len(s.Options["resolvers"]) > 0 && initAddr != "" && !strings.Contains(initAddr, "libc"))
	var err error
	if !validHostname(a.Host) {
		err = fmt.Errorf("invalid name")
	} else if r.opts.Resolver == nil {
		err = fmt.Errorf("no resolver")
	} else {
		s.Resolved, err = r.opts.Resolver.LookupHost(a.Host)
	}
	if err != nil && !tolerant {
		if len(s.Options["resolvers"]) > 0 { // resolvers will find it: the server starts without an address
			r.d.Warnf(p, "'server %s/%s' : could not resolve address '%s', disabling server.", px.Name, s.Name, a.Host)
			r.d[len(r.d)-1].Stage, r.d[len(r.d)-1].Form = "addr", "bracket"
			return
		}
		if !r.opts.FailUnresolved {
			r.d.Warnf(p, "'server %s/%s' : could not resolve address '%s'; the server will start DOWN and the name will be retried (init-addr last,libc,none).", px.Name, s.Name, a.Host)
			return
		}
		r.d.Add(p, Error, "'server %s/%s' : could not resolve address '%s'.", px.Name, s.Name, a.Host)
		r.d[len(r.d)-1].Stage, r.d[len(r.d)-1].Form = "addr", "bracket"
	}
}

// serverOptions reads the options after a server's address.
func (r *haReader) serverOptions(px *Proxy, s *Server, key string, args []string, apos []Pos) bool {
	who := fmt.Sprintf("'%s %s/%s'", key, px.Name, s.Name)
	if key == "default-server" {
		who = "'default-server'"
	}
	for i := 0; i < len(args); i++ {
		o := args[i]
		n, ok := haServerOptionArgs[o]
		if !ok {
			msg := fmt.Sprintf("%s : unknown keyword '%s'", who, o)
			if sg := suggest(o, mapKeys(haServerOptionArgs)); sg != "" {
				msg += fmt.Sprintf("; did you mean '%s' maybe ?", sg)
			} else {
				msg += "."
			}
			r.d.Errorf(apos[i], "%s", msg)
			r.d[len(r.d)-1].Form = "bracket"
			return false
		}
		if i+n >= len(args) {
			r.d.Errorf(apos[i], "%s : '%s' expects an argument.", who, o)
			return false
		}
		if n == 0 {
			s.Options[o] = nil
			r.serverFlag(s, o)
			continue
		}
		v := args[i+1]
		vals := []string{v}
		if o == "source" { // source <addr> [usesrc <addr>] [interface <if>]
			for i+3 < len(args) && (args[i+2] == "usesrc" || args[i+2] == "interface") {
				vals = append(vals, args[i+2], args[i+3])
				i += 2
			}
		}
		s.Options[o] = vals
		if !r.serverValue(s, who, o, v, apos[i+1]) {
			return false
		}
		i++
	}
	return true
}

func (r *haReader) serverFlag(s *Server, o string) {
	switch o {
	case "check":
		s.Check = true
	case "no-check":
		s.Check = false
	case "backup":
		s.Backup = true
	case "no-backup":
		s.Backup = false
	case "disabled":
		s.Disabled = true
	case "enabled":
		s.Disabled = false
	case "send-proxy":
		s.SendProxy = true
	case "send-proxy-v2":
		s.SendProxyV2 = true
	case "no-send-proxy":
		s.SendProxy = false
	case "no-send-proxy-v2":
		s.SendProxyV2 = false
	case "ssl":
		s.SSL = true
	case "no-ssl":
		s.SSL = false
	case "agent-check":
		s.AgentCheck = true
	case "no-agent-check":
		s.AgentCheck = false
	}
}

// serverValue validates and stores one option with a value.
func (r *haReader) serverValue(s *Server, who, o, v string, p Pos) bool {
	bad := func(format string, args ...any) bool {
		r.d.Errorf(p, "%s : %s", who, fmt.Sprintf(format, args...))
		r.d[len(r.d)-1].Form = "bracket"
		return false
	}
	switch o {
	case "resolve-prefer":
		if v != "ipv4" && v != "ipv6" {
			return bad("'resolve-prefer' expects either ipv4 or ipv6 as argument..")
		}
	case "init-addr":
		for _, m := range strings.Split(v, ",") {
			if _, err := netip.ParseAddr(m); err != nil && m != "libc" && m != "last" && m != "none" {
				return bad("'init-addr' : unknown init-addr method '%s', supported methods are 'libc', 'last', 'none'..", m)
			}
		}
	case "weight":
		n, ok := strictInt(v)
		if !ok || n < 0 || n > 256 {
			return bad("weight of server %s is not within 0 and 256 (%s).", s.Name, v)
		}
		s.Weight = n
	case "rise", "fall", "maxconn", "minconn", "maxqueue", "port", "agent-port":
		n, ok := atoi(v)
		if !ok || n < 0 || ((o == "rise" || o == "fall") && n < 1) {
			return bad("'%s' expects an integer argument.", o)
		}
		if (o == "port" || o == "agent-port") && (n < 1 || n > 65535) {
			return bad("invalid port '%s'.", v)
		}
		switch o {
		case "rise":
			s.Rise = n
		case "fall":
			s.Fall = n
		case "maxconn":
			s.Maxconn = n
		case "minconn":
			s.Minconn = n
		case "maxqueue":
			s.Maxqueue = n
		case "port":
			s.CheckPort = n
		case "agent-port":
			s.AgentPort = n
		}
	case "inter", "fastinter", "downinter", "slowstart", "agent-inter":
		d, err := parseTime(v)
		if err != nil {
			return bad("%s in argument '%s' to '%s'.", err, v, o)
		}
		if d == 0 && o != "slowstart" {
			return bad("'%s' has to be > 0.", o)
		}
		switch o {
		case "inter":
			s.Inter = d
		case "fastinter":
			s.FastInter = d
		case "downinter":
			s.DownInter = d
		case "slowstart":
			s.Slowstart = d
		default:
			s.AgentInter = d
		}
	case "cookie":
		s.Cookie = v
	case "addr":
		s.CheckAddr = v
	case "agent-send":
		s.AgentSend = v
	case "on-marked-down":
		if v != "shutdown-sessions" {
			return bad("'on-marked-down' expects 'shutdown-sessions' but got '%s'", v)
		}
		s.OnMarkedDown = v
	case "track":
		s.Track = v
	case "source":
		s.Source = v
	case "ca-file", "crl-file":
		// a parse error, worded as haproxy words a server's (the CA
		// store is loaded while the line is read)
		if !r.fileExists(r.resolvePath(r.cfg.Global.CaBase, v)) {
			r.d = append(r.d,
				Diag{Pos: p, Sev: Error, Form: "bracket", Keyword: "file:" + v,
					Msg: fmt.Sprintf("%s : Couldn't open the ca-file '%s' (No such file or directory).", who, v)},
				Diag{Pos: p, Sev: Error, Form: "raw", Keyword: "file:" + v, Msg: fmt.Sprintf("'%s' : unable to load %s.", o, v)})
		}
	case "crt":
		if !r.fileExists(r.resolvePath(r.cfg.Global.CrtBase, v)) {
			s.fileErrs = append(s.fileErrs, Diag{Pos: p, Sev: Error, Stage: "post", Form: "bracket", Keyword: "file:" + v,
				Msg: fmt.Sprintf("%s : unable to stat SSL certificate from file '%s' : No such file or directory.", who, v)})
		}
	}
	return true
}
