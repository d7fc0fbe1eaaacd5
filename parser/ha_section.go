package parser

import (
	"fmt"
	"maps"
	"strings"
)

// proxyNameOK is haproxy's rule for proxy and server names.
func invalidNameChar(name string) (byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlnum(c) || c == '-' || c == '_' || c == '.' || c == ':') {
			return c, true
		}
	}
	return 0, false
}

// openSection starts a new section and closes the current one.
func (r *haReader) openSection(words []string, pos []Pos) {
	r.closeSection()
	kind := words[0]
	s := &haSection{kind: kind, pos: pos[0]}
	r.sec = s
	switch kind {
	case "global":
		if !r.cfg.Global.Pos.IsValid() {
			r.cfg.Global.Pos = pos[0]
		}
	case "defaults", "frontend", "backend", "listen":
		r.openProxy(s, words, pos)
	case "userlist":
		if len(words) < 2 {
			r.d.Errorf(pos[0], "'userlist' expects <name> as arguments.")
			return
		}
		s.name = words[1]
		s.ul = &Userlist{Pos: pos[0], Name: words[1], Groups: map[string][]string{}}
		for _, u := range r.cfg.Userlists {
			if u.Name == words[1] {
				r.d.Warnf(pos[0], "userlist '%s' has the same name as another userlist declared at %s.", words[1], u.Pos)
			}
		}
		r.cfg.Userlists = append(r.cfg.Userlists, s.ul)
	default:
		if len(words) > 1 {
			s.name = words[1]
		} else if kind != "cache" && kind != "program" {
			r.d.Errorf(pos[0], "missing name for %s section.", kind)
		}
		s.other = &Section{Kind: kind, Name: s.name, Pos: pos[0]}
		r.cfg.Others = append(r.cfg.Others, s.other)
		if kind == "resolvers" && s.name != "" {
			s.rs = r.newResolvers(s.name, pos[0])
		}
	}
}

// openProxy handles `defaults|frontend|backend|listen [name] [from defaults]`.
func (r *haReader) openProxy(s *haSection, words []string, pos []Pos) {
	kind := words[0]
	args, apos := words[1:], pos[1:]
	name, from := "", ""
	var fromPos Pos
	if len(args) > 0 && args[0] != "from" {
		name = args[0]
		args, apos = args[1:], apos[1:]
	}
	if len(args) > 0 && args[0] == "from" {
		if len(args) < 2 {
			r.d.Errorf(apos[0], "'from' expects a defaults section name.")
		} else {
			from, fromPos = args[1], apos[1]
			args, apos = args[2:], apos[2:]
		}
	}
	if kind != "defaults" && name == "" {
		r.d.Errorf(pos[0], "'%s' expects an <id> argument", kind)
		r.abortHere() // haproxy reads no further
		name = "<unnamed>"
	}
	if c, bad := invalidNameChar(name); bad && name != "<unnamed>" {
		r.d.Errorf(pos[1], "character '%c' is not permitted in '%s' name '%s'.", c, kind, name)
	}
	if len(args) > 0 {
		switch {
		case kind == "listen" || kind == "frontend":
			r.d.Errorf(apos[0], "please use the 'bind' keyword for listening addresses.")
		case kind == "backend" && from != "":
			r.d.Errorf(apos[0], "'backend' cannot handle unexpected argument '%s'.", args[0])
		case kind == "backend": // haproxy says nothing here, only at each line of the section
			r.d.Errorf(apos[0], "'backend' cannot handle unexpected argument '%s'.", args[0])
			r.d[len(r.d)-1].Own = true
		default:
			r.d.Add(apos[0], Notice, "'%s' ignores unexpected argument '%s' (haproxy 2.6 ignores it too).", kind, args[0])
			r.d[len(r.d)-1].Own = true
		}
		if kind != "defaults" { // haproxy makes no proxy of it
			s.failed = true
			return
		}
	}
	var def *Proxy
	if from != "" {
		def = r.findDefaults(from)
		if def == nil {
			r.d.Errorf(fromPos, "defaults section '%s' not found for %s '%s'.", from, kind, name)
		}
		var same []*Proxy
		for _, d := range r.cfg.Defaults {
			if d.Name == from {
				same = append(same, d)
			}
		}
		if len(same) > 1 {
			kw := kind
			if kw == "listen" {
				kw = "proxy"
			}
			r.d.Errorf(pos[0], "ambiguous defaults section name '%s' referenced by %s '%s' exists at least at %s:%d and %s:%d.",
				from, kw, name, same[0].Pos.File, same[0].Pos.Line, same[1].Pos.File, same[1].Pos.Line)
		}
	} else if kind != "defaults" {
		def = r.lastDefaults
	}
	px := &Proxy{Kind: kind, Name: name, Pos: pos[0], From: from}
	if def != nil {
		inheritDefaults(px, def)
	} else {
		presetProxy(px)
	}
	px.Kind, px.Name, px.Pos, px.From, px.defaults = kind, name, pos[0], from, def
	if def != nil {
		r.checkRuleInheritance(px, def)
		if kind == "frontend" { // check settings only pass to backends
			px.Check.Type, px.Check.Args, px.Check.HTTPCheck, px.Check.TCPCheck = "", nil, nil, nil
		}
	}
	switch kind {
	case "defaults":
		px.Cap = CapDefaults
		r.cfg.Defaults = append(r.cfg.Defaults, px)
		r.lastDefaults = px
	case "frontend":
		px.Cap = CapFE
	case "backend":
		px.Cap = CapBE
	case "listen":
		px.Cap = CapFE | CapBE
	}
	if kind != "defaults" {
		r.checkDuplicateProxy(px)
		r.cfg.Proxies = append(r.cfg.Proxies, px)
	}
	s.name, s.px = name, px
}

// findDefaults returns the last defaults section of that name.
func (r *haReader) findDefaults(name string) *Proxy {
	for i := len(r.cfg.Defaults) - 1; i >= 0; i-- {
		if r.cfg.Defaults[i].Name == name {
			return r.cfg.Defaults[i]
		}
	}
	return nil
}

// checkDuplicateProxy applies haproxy's rule: a frontend and a backend may
// share a name, any other pair may not.
func (r *haReader) checkDuplicateProxy(px *Proxy) {
	for _, o := range r.cfg.Proxies {
		if o.Name != px.Name || o.Cap&px.Cap == 0 {
			continue
		}
		okind := o.Kind
		if o.Kind != px.Kind {
			okind = "proxy"
		}
		r.d.Add(px.Pos, Error, "Parsing [%s:%d]: %s '%s' has the same name as %s '%s' declared at %s.", px.Pos.File, px.Pos.Line, px.Kind, px.Name, okind, o.Name, fmt.Sprintf("%s:%d", o.Pos.File, o.Pos.Line))
		r.d[len(r.d)-1].Form = "raw"
		return
	}
}

// presetProxy gives a proxy haproxy's built-in defaults.
func presetProxy(px *Proxy) {
	px.Mode = "tcp"
	px.Retries = 3
	px.Balance = Balance{Algo: "roundrobin"}
	px.HashType = HashType{Method: "map-based", Function: "sdbm"}
	px.Options = map[string]Option{}
	px.Errorfiles = map[int]string{}
	px.DefaultServer = &Server{Weight: 1, Rise: 2, Fall: 3, Inter: 2000 * 1e6, Options: map[string][]string{}}
}

// inheritDefaults copies what a defaults section passes on to px.
func inheritDefaults(px, def *Proxy) {
	*px = *def
	px.trackRefs = nil // the defaults' own tables are checked once, on the defaults
	px.Options = maps.Clone(def.Options)
	px.Errorfiles = maps.Clone(def.Errorfiles)
	ds := *def.DefaultServer
	ds.Options = maps.Clone(def.DefaultServer.Options)
	px.DefaultServer = &ds
	px.Logs = append([]LogTarget(nil), def.Logs...)
	px.Check.HTTPCheck = append([]Line(nil), def.Check.HTTPCheck...)
	px.Check.TCPCheck = append([]Line(nil), def.Check.TCPCheck...)
	if def.Cookie != nil {
		c := *def.Cookie
		px.Cookie = &c
	}
	px.Stats.Auths = append([]string(nil), def.Stats.Auths...)
	px.Binds, px.Servers, px.ACLs, px.UseBackends, px.UseServers = nil, nil, nil, nil, nil
	px.Rules, px.Captures, px.Settings = nil, nil, nil
	for _, l := range def.Settings { // errorfiles, http-error and compression lines pass on
		if len(l.Words) > 0 && (l.Words[0] == "errorfiles" || l.Words[0] == "http-error" || l.Words[0] == "compression") {
			px.Settings = append(px.Settings, l)
		}
	}
	px.Description, px.ID, px.Disabled = "", 0, false
	px.StickTable = nil
	px.hasRules, px.ruleSeen = ruleKinds{}, nil // rules of its own only
}

// checkRuleInheritance applies 2.6's limits on inheriting from a defaults
// section that holds rules.
func (r *haReader) checkRuleInheritance(px, def *Proxy) {
	h := def.hasRules
	if !h.any() {
		return
	}
	at := fmt.Sprintf("%s:%d", def.Pos.File, def.Pos.Line)
	p := fmt.Sprintf("%s:%d", px.Pos.File, px.Pos.Line)
	switch {
	case px.Kind == "defaults":
		r.rawErr(px.Pos, "parsing [%s]: a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at %s).", p, at)
		r.abortHere()
	case px.Kind == "listen":
		r.rawErr(px.Pos, "parsing [%s]: a listen section cannot inherit from a defaults section defining TCP/HTTP rules.", p)
		r.abortHere()
	case px.Kind == "backend" && h.tcpConnSess:
		r.rawErr(px.Pos, "parsing [%s]: a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at %s).", p, at)
		r.abortHere()
	case px.Kind == "frontend" && h.tcpResponse:
		r.rawErr(px.Pos, "parsing [%s]: a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at %s).", p, at)
		r.abortHere()
	default:
		side := map[string]ProxyCap{"frontend": CapFE, "backend": CapBE}[px.Kind]
		if def.usedBy != 0 && def.usedBy != side {
			r.rawErr(px.Pos, "parsing [%s]: frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at %s).", p, at)
			r.abortHere()
		}
		def.usedBy |= side
	}
}

// rawErr adds an error whose message already carries its place.
func (r *haReader) rawErr(p Pos, format string, args ...any) {
	r.d.Errorf(p, format, args...)
	r.d[len(r.d)-1].Form = "raw"
}

// abortHere marks the last diagnostic as one after which haproxy reads
// no further (and adds no "Fatal errors" trailer).
func (r *haReader) abortHere() {
	r.d[len(r.d)-1].NonFatal, r.d[len(r.d)-1].Abort = true, true
}

// closeSection finishes the current section.
func (r *haReader) closeSection() {
	r.sec = nil
}

// userlistKeyword handles user and group lines.
func (r *haReader) userlistKeyword(words []string, pos []Pos) {
	ul := r.sec.ul
	if ul == nil {
		return
	}
	switch words[0] {
	case "group":
		if len(words) < 2 {
			r.d.Errorf(pos[0], "'group' expects <name> as argument.")
			return
		}
		var users []string
		if len(words) >= 4 && words[2] == "users" {
			users = strings.Split(words[3], ",")
		}
		ul.Groups[words[1]] = users
	case "user":
		if len(words) < 2 {
			r.d.Errorf(pos[0], "'user' expects <name> as argument.")
			return
		}
		u := User{Pos: pos[0], Name: words[1]}
		for i := 2; i < len(words); i++ {
			switch words[i] {
			case "password", "insecure-password":
				if i+1 >= len(words) {
					r.d.Errorf(pos[i], "'%s' expects <password> as argument.", words[i])
					return
				}
				u.Password, u.Insecure = words[i+1], words[i] == "insecure-password"
				i++
			case "groups":
				if i+1 < len(words) {
					u.Groups = strings.Split(words[i+1], ",")
					i++
				}
			default:
				r.d.Errorf(pos[i], "'user' only supports 'password', 'insecure-password' and 'groups' options.")
				return
			}
		}
		if u.Password == "" {
			r.d.Warnf(pos[0], "The user '%s' has no password.", u.Name)
		}
		ul.Users = append(ul.Users, u)
	default:
		r.d.Errorf(pos[0], "unknown keyword '%s' in 'userlist' section", words[0])
	}
}

// otherSectionKeywords lists what each stored-only section accepts.
var otherSectionKeywords = map[string][]string{
	"peers":       {"bind", "default-bind", "default-server", "disabled", "enabled", "log", "peer", "server", "shards", "table"},
	"resolvers":   {"accepted_payload_size", "hold", "nameserver", "parse-resolv-conf", "resolve_retries", "timeout"},
	"cache":       {"total-max-size", "max-object-size", "max-age", "process-vary", "max-secondary-entries"},
	"http-errors": {"errorfile"},
	"mailers":     {"mailer", "timeout"},
	"program":     {"command", "user", "group", "option"},
	"ring":        {"description", "format", "maxlen", "size", "timeout", "server"},
	"log-forward": {"bind", "dgram-bind", "log", "maxconn", "backlog", "timeout"},
	"fcgi-app":    {"acl", "docroot", "index", "path-info", "option", "log-stderr", "pass-header", "set-param"},
}

// otherKeyword stores a line of a section gohaka does not interpret.
func (r *haReader) otherKeyword(words []string, pos []Pos) {
	kind := r.sec.kind
	known := otherSectionKeywords[kind]
	ok := false
	for _, k := range known {
		if k == words[0] {
			ok = true
		}
	}
	if !ok {
		msg := fmt.Sprintf("unknown keyword '%s' in '%s' section", words[0], kind)
		if s := suggest(words[0], known); s != "" {
			msg += fmt.Sprintf("; did you mean '%s' maybe ?", s)
		}
		r.d.Errorf(pos[0], "%s", msg)
		return
	}
	if kind == "http-errors" && len(words) >= 3 {
		r.checkFile(pos[2], words[2], "errorfile : error opening file '%s'.")
	}
	if kind == "ring" && words[0] == "size" && len(words) > 1 {
		r.ringSizeLine(words, pos)
	}
	if kind == "peers" && words[0] == "server" && len(words) > 2 {
		for _, w := range words[3:] {
			if w == "check" || w == "init-addr" || w == "resolvers" {
				r.d.Warnf(pos[0], "'server %s' : init_addr, resolvers, check and agent are ignored for peers.", words[1])
				break
			}
		}
	}
	if (kind == "peers" || kind == "log-forward") && words[0] == "bind" {
		r.bindLine(nil, words, pos)
	}
	if r.sec.rs != nil {
		r.resolversLine(r.sec.rs, words, pos)
	}
	if r.sec.other != nil {
		r.sec.other.Lines = append(r.sec.other.Lines, Line{Words: words, Pos: pos})
	}
}

// ringSizeLine checks a ring's `size`: haproxy 2.6 reads its leading
// digits only (no unit: "1M" is 1 byte) and keeps a buffer from shrinking.
func (r *haReader) ringSizeLine(words []string, pos []Pos) {
	n, ok := atoi(words[1])
	if !ok || n <= 0 {
		r.d.Errorf(pos[0], "invalid size '%s' for new sink buffer.", words[1])
		return
	}
	cur := r.sec.ringSize
	if cur == 0 {
		cur = 16384
	}
	if n < cur {
		r.d.Warnf(pos[0], "ignoring new size '%d' that is smaller than current size '%d' for ring '%s'.", n, cur, r.sec.name)
		return
	}
	r.sec.ringSize = n
}
