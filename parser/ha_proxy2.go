package parser

import (
	"strings"
)

func (r *haReader) kwBalance(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	bad := "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options."
	if len(args) < 1 {
		r.d.Errorf(kpos, "%s", bad)
		return
	}
	b := Balance{Pos: kpos}
	algo := args[0]
	name, param, hasParen := algo, "", false
	if i := strings.IndexByte(algo, '('); i >= 0 && strings.HasSuffix(algo, ")") {
		name, param, hasParen = algo[:i], algo[i+1:len(algo)-1], true
	}
	b.Algo = name
	rest, rpos := args[1:], apos[1:]
	switch name {
	case "roundrobin", "static-rr", "leastconn", "first", "source":
	case "random":
		b.Draws = 2
		if hasParen {
			n, ok := strictInt(param)
			if !ok || n < 1 {
				r.d.Errorf(apos[0], "'balance random' : draws must be at least 1.")
				return
			}
			b.Draws = n
		}
	case "uri":
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case "whole":
				b.URIWhole = true
			case "path-only":
				b.URIPathOnly = true
			case "len", "depth":
				if i+1 >= len(rest) {
					r.d.Errorf(rpos[i], "'balance uri %s' expects a positive integer (got '').", rest[i])
					return
				}
				n, ok := strictInt(rest[i+1])
				if !ok || n < 0 {
					r.d.Errorf(rpos[i+1], "'balance uri %s' expects a positive integer (got '%s').", rest[i], rest[i+1])
					return
				}
				if rest[i] == "len" {
					b.URILen = n
				} else {
					b.URIDepth = n
				}
				i++
			default:
				r.d.Errorf(rpos[i], "'balance uri' only accepts parameters 'len', 'depth', 'path-only', and 'whole'.")
				return
			}
		}
	case "url_param":
		if len(rest) < 1 {
			r.d.Errorf(apos[0], "'balance url_param' requires an URL parameter name.")
			return
		}
		b.Param = rest[0]
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case "check_post":
				b.CheckPost = true
				if i+1 < len(rest) {
					i++ // optional max_wait, ignored since 1.6
				}
			default:
				r.d.Errorf(rpos[i], "'balance url_param' only accepts check_post modifier.")
				return
			}
		}
	case "hdr":
		if !hasParen || param == "" {
			r.d.Errorf(apos[0], "hdr requires an http header field name.")
			return
		}
		b.Param = param
		for i := 0; i < len(rest); i++ {
			if rest[i] != "use_domain_only" {
				r.d.Errorf(rpos[i], "'balance hdr(%s)' only accepts 'use_domain_only' modifier (got '%s').", param, rest[i])
				return
			}
			b.UseDomainOnly = true
		}
	case "rdp-cookie":
		b.Param = "mstshash"
		if hasParen && param != "" {
			b.Param = param
		}
	case "hash":
		if len(rest) < 1 {
			r.d.Errorf(apos[0], "'balance hash' requires a sample expression.")
			return
		}
		b.Param = rest[0]
	default:
		r.d.Errorf(apos[0], "%s", bad)
		return
	}
	px.Balance = b
}

func (r *haReader) kwHashType(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 1 {
		r.d.Errorf(kpos, "'hash-type' requires 'map-based' or 'consistent'.")
		return
	}
	h := HashType{Pos: kpos, Method: args[0], Function: "sdbm"}
	if h.Method != "map-based" && h.Method != "consistent" {
		r.d.Errorf(apos[0], "'hash-type' requires 'map-based' or 'consistent'.")
		return
	}
	if len(args) > 1 {
		switch args[1] {
		case "sdbm", "djb2", "wt6", "crc32", "none":
			h.Function = args[1]
		default:
			r.d.Errorf(apos[1], "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.")
			return
		}
	}
	if len(args) > 2 {
		if args[2] != "avalanche" {
			r.d.Errorf(apos[2], "'hash-type %s %s' expects 'avalanche' as a modifier.", args[0], args[1])
			return
		}
		h.Avalanche = true
	}
	px.HashType = h
}

// checkOptions are the options that choose the health-check protocol.
var checkOptions = map[string]bool{"httpchk": true, "tcp-check": true, "ssl-hello-chk": true,
	"mysql-check": true, "pgsql-check": true, "redis-check": true, "smtpchk": true,
	"ldap-check": true, "external-check": true, "spop-check": true}

func (r *haReader) kwOption(px *Proxy, name string, enabled bool, args []string, apos []Pos, kpos Pos) {
	if enabled && (name == "httplog" || name == "tcplog" || name == "httpslog") {
		for _, o := range []string{"httplog", "tcplog", "httpslog"} {
			delete(px.Options, o) // one log format at a time
		}
		px.LogFormat = ""
	}
	px.Options[name] = Option{Pos: kpos, Enabled: enabled, Args: args}
	if !enabled {
		if checkOptions[name] && px.Check.Type == name {
			px.Check.Type = ""
		}
		return
	}
	switch name {
	case "httpchk", "tcp-check", "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check", "smtpchk", "ldap-check", "external-check", "spop-check":
		if name == "pgsql-check" && (len(args) < 2 || args[0] != "user") {
			r.d.Errorf(kpos, "'option pgsql-check' expects 'user <username>' as argument.")
			return
		}
		if name == "mysql-check" && len(args) > 0 && (args[0] != "user" || len(args) < 2) {
			r.d.Errorf(kpos, "'option mysql-check' only supports optional values: 'user'.")
			return
		}
		px.Check.Type, px.Check.Pos, px.Check.Args = name, kpos, args
		if name == "httpchk" && len(args) >= 3 && strings.ContainsAny(args[2], "\r\n") {
			r.d.Warnf(kpos, "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.")
			r.d[len(r.d)-1].Form = "colon"
		}
	case "forwardfor":
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "except", "header":
				if i+1 >= len(args) {
					r.d.Errorf(apos[i], "'option forwardfor' '%s' requires an argument.", args[i])
					return
				}
				i++
			case "if-none":
			default:
				r.d.Errorf(apos[i], "'option forwardfor' only supports optional values 'except', 'header' and 'if-none'.")
				return
			}
		}
	case "httplog":
		if len(args) > 0 && args[0] != "clf" {
			r.d.Errorf(apos[0], "keyword 'httplog' only supports option 'clf'.")
		}
	}
}

func (r *haReader) kwLog(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) == 1 && args[0] == "global" {
		px.LogGlobal = true
		px.Logs = append(px.Logs, LogTarget{Pos: kpos, Global: true, globalEmpty: len(r.cfg.Global.Logs) == 0})
		return
	}
	if t, ok := r.parseLogTarget(args, apos, kpos, true); ok {
		px.Logs = append(px.Logs, t)
	}
}

func (r *haReader) kwCookie(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 1 {
		r.d.Errorf(kpos, "'cookie' expects <cookie_name> as argument.")
		return
	}
	c := &Cookie{Pos: kpos, Name: args[0], Mode: "rewrite"}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "insert", "rewrite", "prefix":
			c.Mode = a
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "postonly":
			c.PostOnly = true
		case "preserve":
			c.Preserve = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "dynamic":
			c.Dynamic = true
		case "domain", "maxidle", "maxlife", "attr":
			if i+1 >= len(args) {
				r.d.Errorf(apos[i], "'cookie %s' requires an argument.", a)
				return
			}
			i++
			switch a {
			case "domain":
				c.Domains = append(c.Domains, args[i])
			case "attr":
				c.Attrs = append(c.Attrs, args[i])
			default:
				d, err := parseTime(args[i])
				if err != nil {
					r.d.Errorf(apos[i], "'cookie %s' %s.", a, err)
					return
				}
				if a == "maxidle" {
					c.MaxIdle = d
				} else {
					c.MaxLife = d
				}
			}
		default:
			r.d.Errorf(apos[i], "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.")
			return
		}
	}
	px.Cookie = c
}

func (r *haReader) kwStats(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	st := &px.Stats
	name := key[len("stats "):]
	if st.Pos == (Pos{}) {
		st.Pos = kpos
	}
	switch name {
	case "enable":
		st.Enabled = true
	case "uri", "realm":
		if len(args) < 1 {
			r.d.Errorf(kpos, "'stats %s' needs an argument.", name)
			return
		}
		if name == "uri" {
			st.URI = args[0]
		} else {
			st.Realm = args[0]
		}
		st.Enabled = true
	case "auth":
		if len(args) < 1 || !strings.Contains(args[0], ":") {
			r.d.Errorf(kpos, "'stats auth' needs a user:password account.")
			return
		}
		st.Auths = append(st.Auths, args[0])
		st.Enabled = true
	case "refresh":
		if len(args) < 1 {
			r.d.Errorf(kpos, "'stats refresh' needs a delay.")
			return
		}
		d, err := parseTime(args[0])
		if err != nil {
			r.d.Errorf(apos[0], "'stats refresh' %s", err)
			return
		}
		st.Refresh = d
		st.Enabled = true
	case "hide-version":
		st.HideVersion, st.Enabled = true, true
	case "show-legends":
		st.ShowLegends, st.Enabled = true, true
	case "show-node":
		st.ShowNode, st.Enabled = true, true
	case "show-desc":
		st.ShowDesc, st.Enabled = true, true
	case "scope":
		if len(args) < 1 {
			r.d.Errorf(kpos, "'stats scope' needs a proxy name.")
			return
		}
		st.Scopes = append(st.Scopes, args[0])
	case "admin":
		if px.Kind == "defaults" {
			r.d.Errorf(kpos, "'stats admin' not allowed in 'defaults' section.")
			return
		}
		if len(args) < 2 || (args[0] != "if" && args[0] != "unless") {
			r.d.Errorf(kpos, "'stats admin' requires either 'if' or 'unless' followed by a condition.")
			return
		}
		st.Admin = r.parseCond(px, args, apos, "stats admin")
	default:
		r.notImpl(kpos, key, px.Kind+" '"+px.Name+"'")
		px.Settings = append(px.Settings, Line{Words: append([]string{"stats", name}, args...), Pos: append([]Pos{kpos, kpos}, apos...)})
	}
}

func (r *haReader) kwCheckRule(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	l := Line{Words: append(strings.Fields(key), args...), Pos: append([]Pos{kpos, kpos}, apos...)}
	if strings.HasPrefix(key, "http-check") {
		if key == "http-check disable-on-404" {
			px.Check.DisableOn404 = true
		}
		if key == "http-check send-state" {
			px.Check.SendState = true
		}
		px.Check.HTTPCheck = append(px.Check.HTTPCheck, l)
		return
	}
	px.Check.TCPCheck = append(px.Check.TCPCheck, l)
}

func (r *haReader) kwUseBackend(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 1 {
		r.d.Errorf(kpos, "'%s' expects a backend name.", key)
		return
	}
	u := &UseBackend{Pos: apos[0], Target: args[0]}
	if len(args) > 1 {
		if args[1] != "if" && args[1] != "unless" {
			r.d.Errorf(apos[1], "'%s' requires either 'if' or 'unless' followed by a condition.", key)
			return
		}
		u.Cond = r.parseCond(px, args[1:], apos[1:], key)
	}
	if key == "use-server" {
		px.UseServers = append(px.UseServers, u)
	} else {
		px.UseBackends = append(px.UseBackends, u)
	}
}

func (r *haReader) kwDefaultBackend(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 1 {
		r.d.Errorf(kpos, "'default_backend' expects a backend name.")
		return
	}
	px.DefaultBackend, px.DefaultBackendPos = args[0], apos[0]
}
