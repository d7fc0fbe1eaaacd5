package parser

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// postChecks runs the checks haproxy makes once every file is read:
// references between proxies, modes, timeouts, listeners.
func (r *haReader) postChecks() {
	cfg := r.cfg
	post := func(p Pos, sev Severity, format string, args ...any) {
		r.d.Add(p, sev, format, args...)
		r.d[len(r.d)-1].Stage, r.d[len(r.d)-1].Form = "post", "raw"
	}
	r.checkErrorfilesRefs(post)
	r.checkCaches(post)
	tables := map[string]bool{}
	for _, px := range cfg.Proxies {
		if px.StickTable != nil {
			tables[px.Name] = true
		}
	}
	for _, o := range cfg.Others {
		if o.Kind == "peers" {
			for _, l := range o.Lines {
				if l.Words[0] == "table" && len(l.Words) > 1 {
					tables[o.Name+"/"+l.Words[1]] = true
				}
			}
		}
	}
	for _, px := range cfg.Proxies {
		if !px.Disabled {
			r.checkStickRefs(px, tables, post)
		}
	}
	for _, d := range cfg.Defaults {
		for _, t := range d.trackRefs {
			if !tables[t.table] {
				post(t.pos, Error, "Proxy '%s': unable to find table '%s' referenced by %s.", d.Name, t.table, t.what)
			}
		}
	}
	for _, px := range cfg.Proxies {
		if px.Disabled {
			continue
		}
		for _, t := range px.trackRefs {
			if !tables[t.table] {
				post(t.pos, Error, "Proxy '%s': unable to find table '%s' referenced by %s.", px.Name, t.table, t.what)
			}
		}
		checkCaptureIDs(px, post)
		for _, u := range px.UseBackends {
			if strings.Contains(u.Target, "%[") { // a name made per request: its map files must open
				if rest, conv, msg := r.missingFormatFile(u.Target); msg != "" {
					post(u.Pos, Error, "Parsing [%s:%d]: failed to parse use_backend rule '%s' : failed to parse sample expression <%s> : invalid args in converter '%s' : %s.",
						u.Pos.File, u.Pos.Line, u.Target, rest, conv, msg)
				}
				continue
			}
			be := cfg.Backend(u.Target)
			if be == nil {
				post(u.Pos, Error, "Proxy '%s': unable to find required use_backend: '%s'.", px.Name, u.Target)
				continue
			}
			r.checkModes(px, be, u.Pos, "use_backend", post)
		}
		warnL6(px, px.UseBackends, post)
		if px.DefaultBackend != "" && px.Cap&CapFE != 0 {
			be := cfg.Backend(px.DefaultBackend)
			if be == nil {
				post(px.DefaultBackendPos, Error, "Proxy '%s': unable to find required default_backend: '%s'.", px.Name, px.DefaultBackend)
			} else {
				r.checkModes(px, be, px.DefaultBackendPos, "default backend", post)
			}
		}
		for _, u := range px.UseServers {
			if !hasServer(px, u.Target) && !strings.Contains(u.Target, "%[") {
				post(u.Pos, Error, "%s '%s' : unable to find server '%s' referenced in a 'use-server' rule.", px.Kind, px.Name, u.Target)
			}
		}
		warnL6(px, px.UseServers, post)
		warnL6Rules(px, post)
		warnTCPModeFirst(px, post)
		for _, s := range px.Servers {
			if s.Track != "" {
				r.checkTrack(px, s, post)
			}
			r.d = append(r.d, s.fileErrs...) // haproxy opens server files once every proxy is read
			r.checkServerVerify(px, s)
		}
		// these http-check flags go unused by a proxy with another kind of
		// check; a frontend takes the defaults' kind but never their http
		// rules; without any check haproxy says nothing
		chk := px.Check.Type
		if px.Kind == "frontend" && px.defaults != nil {
			chk = px.defaults.Check.Type
		}
		unused := chk != "" && (chk != "httpchk" || px.Kind == "frontend")
		if px.Check.DisableOn404 && unused {
			post(px.Pos, Warning, "'disable-on-404' will be ignored for %s '%s' (requires 'option httpchk').", proxyType(px), px.Name)
		}
		if px.Check.SendState && unused {
			post(px.Pos, Warning, "'send-state' will be ignored for %s '%s' (requires 'option httpchk').", proxyType(px), px.Name)
		}
		if (px.Kind == "frontend" || px.Kind == "listen") && len(px.Binds) == 0 {
			post(px.Pos, Warning, "%s '%s' has no 'bind' directive. Please declare it as a backend if this was intended.", proxyType(px), px.Name)
		}
		r.checkTimeouts(px, post)
		r.checkLogAddress(px, post)
		warnHTTPOnlyInTCP(px, post)
	}
	for _, px := range cfg.Proxies { // haproxy sets TLS up once every proxy is checked
		if !px.Disabled {
			checkSSLBindCerts(px, post)
		}
	}
	r.checkDuplicateBinds(post)
	r.checkPeers(post)
	r.checkResolvers(post)
	// haproxy sets server addresses up once the checks above are done:
	// what that stage says comes last
	var addr Diags
	kept := r.d[:0]
	for _, d := range r.d {
		if d.Stage == "addr" {
			addr = append(addr, d)
		} else {
			kept = append(kept, d)
		}
	}
	r.d = append(kept, addr...)
	r.checkServerStateFile()
}

func hasServer(px *Proxy, name string) bool {
	for _, s := range px.Servers {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (r *haReader) checkTrack(px *Proxy, s *Server, post func(Pos, Severity, string, ...any)) {
	bname, sname := px.Name, s.Track
	if i := strings.IndexByte(s.Track, '/'); i >= 0 {
		bname, sname = s.Track[:i], s.Track[i+1:]
	}
	be := r.cfg.Backend(bname)
	if be == nil {
		post(s.Pos, Error, "config : %s '%s', server '%s': unable to find required proxy '%s' for tracking.", px.Kind, px.Name, s.Name, bname)
		return
	}
	if !hasServer(be, sname) {
		post(s.Pos, Error, "config : %s '%s', server '%s': unable to find required server '%s' for tracking.", px.Kind, px.Name, s.Name, sname)
	}
}

// checkModes rejects an http frontend that routes to a tcp backend.
func (r *haReader) checkModes(fe, be *Proxy, p Pos, what string, post func(Pos, Severity, string, ...any)) {
	if fe.Mode == "http" && be.Mode == "tcp" && fe != be {
		post(p, Error, "http %s '%s' (%s:%d) tries to use incompatible tcp backend '%s' (%s:%d) as its %s (see 'mode').",
			fe.Kind, fe.Name, fe.Pos.File, fe.Pos.Line, be.Name, be.Pos.File, be.Pos.Line, what)
	}
}

// checkTimeouts warns as haproxy does when a proxy misses a timeout.
func (r *haReader) checkTimeouts(px *Proxy, post func(Pos, Severity, string, ...any)) {
	t := px.Timeouts
	var missing []string
	if px.Cap&CapFE != 0 && t.Client == 0 {
		missing = append(missing, "client")
	}
	if px.Cap&CapBE != 0 && len(px.Servers) > 0 { // haproxy says nothing of a backend without servers
		if t.Connect == 0 {
			missing = append(missing, "connect")
		}
		if t.Server == 0 {
			missing = append(missing, "server")
		}
	}
	if len(missing) > 0 {
		post(px.Pos, Warning, "missing timeouts for %s '%s'.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.", proxyType(px), px.Name)
		r.d[len(r.d)-1].Keyword = "timeouts:" + strings.Join(missing, ",")
	}
}

// checkDuplicateBinds warns when two listeners share an address and port:
// haproxy accepts it (SO_REUSEPORT spreads connections between them), which
// is rarely what was meant.
func (r *haReader) checkDuplicateBinds(post func(Pos, Severity, string, ...any)) {
	seen := map[string]*Bind{}
	for _, px := range r.cfg.Proxies {
		if px.Disabled {
			continue
		}
		for _, b := range px.Binds {
			key := fmt.Sprintf("%s|%s|%d-%d|%s", b.Addr.Family, b.Addr.Host, b.Addr.Port, b.Addr.PortEnd, b.Addr.Path)
			if o, ok := seen[key]; ok {
				post(b.Pos, Warning, "bind '%s' uses the same address as the bind at %s; both listeners will share connections.", b.Addr.Raw, o.Pos)
				r.d[len(r.d)-1].Own = true // gohaka's remark, not haproxy's
				continue
			}
			seen[key] = b
		}
	}
}

// Listeners counts the listening addresses of enabled proxies and the
// global stats sockets (haproxy's "no listener" test).
func (c *Config) Listeners() int {
	n := len(c.Global.StatsSockets) + c.peerListeners
	for _, px := range c.Proxies {
		if !px.Disabled {
			n += len(px.Binds)
		}
	}
	for _, o := range c.Others {
		if o.Kind == "peers" || o.Kind == "log-forward" {
			for _, l := range o.Lines {
				if l.Words[0] == "bind" || l.Words[0] == "dgram-bind" {
					n++
				}
			}
		}
	}
	return n
}

// checkLogAddress warns when a proxy asks for a log format but logs nowhere.
func (r *haReader) checkLogAddress(px *Proxy, post func(Pos, Severity, string, ...any)) {
	if px.Cap&CapFE == 0 {
		return
	}
	wants := px.LogFormat != ""
	for _, o := range []string{"httplog", "tcplog", "httpslog"} {
		wants = wants || px.OptionOn(o)
	}
	if !wants {
		return
	}
	for _, l := range px.Logs {
		if !l.Global || !l.globalEmpty {
			return
		}
	}
	post(px.Pos, Warning, "log format ignored for %s '%s' since it has no log address.", proxyType(px), px.Name)
}

// checkPeers drops, as haproxy does, a peers section that does not name
// the local peer.
func (r *haReader) checkPeers(post func(Pos, Severity, string, ...any)) {
	local := r.opts.LocalPeer
	for _, l := range r.cfg.Global.Settings {
		if l.Words[0] == "localpeer" && len(l.Words) > 1 { // the config's own name for this host
			local = l.Words[1]
		}
	}
	if local == "" {
		return
	}
	for _, o := range r.cfg.Others {
		if o.Kind != "peers" {
			continue
		}
		found := false
		for _, l := range o.Lines {
			if (l.Words[0] == "peer" || l.Words[0] == "server") && len(l.Words) > 1 && l.Words[1] == local {
				found = true
				if l.Words[0] == "peer" && len(l.Words) > 2 { // this host listens for its peers there
					r.cfg.peerListeners++
				}
			}
		}
		if !found {
			post(o.Pos, Warning, "Removing incomplete section 'peers %s' (no peer named '%s').", o.Name, local)
		}
	}
}

// checkServerVerify: a server with `ssl` verifies its peer unless told
// not to (`verify none` or global `ssl-server-verify none`), and that
// needs a CA file, as haproxy's startup says.
func (r *haReader) checkServerVerify(px *Proxy, s *Server) {
	if !s.SSL || len(s.Options["ca-file"]) > 0 {
		return
	}
	verify := "required"
	for _, l := range r.cfg.Global.Settings {
		if len(l.Words) == 2 && l.Words[0] == "ssl-server-verify" {
			verify = l.Words[1]
		}
	}
	if v := s.Options["verify"]; len(v) > 0 {
		verify = v[len(v)-1]
	}
	if verify == "none" {
		return
	}
	who := fmt.Sprintf("'server %s/%s' : ", px.Name, s.Name)
	form := "bracket"
	if len(s.fileErrs) > 0 { // haproxy named the server once, on the file's error
		who, form = "", "raw"
	}
	r.d.Add(s.Pos, Error, "%sverify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.", who)
	r.d[len(r.d)-1].Stage, r.d[len(r.d)-1].Form = "post", form
}

// checkCaches reports, as haproxy 2.6: a cache section without its size
// or whose max-object-size passes half of it (when the section is read),
// and cache-use or cache-store naming no cache section (once all is read).
func (r *haReader) checkCaches(post func(Pos, Severity, string, ...any)) {
	caches := map[string]bool{}
	for _, o := range r.cfg.Others {
		if o.Kind != "cache" {
			continue
		}
		caches[o.Name] = true
		var size, obj int64 = -1, -1
		for _, l := range o.Lines {
			if len(l.Words) > 1 {
				n, _ := strconv.ParseInt(l.Words[1], 10, 64)
				switch l.Words[0] {
				case "total-max-size":
					size = n
				case "max-object-size":
					obj = n
				}
			}
		}
		if size < 0 {
			post(o.Pos, Error, "Size not specified for cache '%s'", o.Name)
		} else if half := size << 20 / 2; obj > half {
			post(o.Pos, Error, "\"max-object-size\" is limited to an half of \"total-max-size\" => %d", half)
		} else {
			continue
		}
		r.d[len(r.d)-1].Stage = "parse"
	}
	for _, px := range r.cfg.Proxies {
		kind := px.Kind
		if kind == "listen" {
			kind = "proxy"
		}
		for _, rl := range px.Rules {
			if (rl.Action == "cache-use" || rl.Action == "cache-store") && len(rl.Args) > 0 && !caches[rl.Args[0]] {
				post(rl.Pos, Error, "config: %s '%s': unable to find the cache '%s' referenced by the filter 'cache'.", kind, px.Name, rl.Args[0])
			}
		}
	}
}

// checkErrorfilesRefs reports `errorfiles NAME` and `http-error ...
// errorfiles NAME` naming no http-errors section, as haproxy does once
// the whole file is read.
func (r *haReader) checkErrorfilesRefs(post func(Pos, Severity, string, ...any)) {
	sections := map[string]bool{}
	for _, o := range r.cfg.Others {
		if o.Kind == "http-errors" {
			sections[o.Name] = true
		}
	}
	for _, px := range r.cfg.Proxies {
		for _, l := range px.Settings {
			for i, w := range l.Words {
				if w != "errorfiles" || i+1 >= len(l.Words) || i > 0 && l.Words[0] != "http-error" {
					continue
				}
				if name := l.Words[i+1]; !sections[name] {
					post(l.Pos[0], Error, "proxy '%s': unknown http-errors section '%s' (at %s:%d).", px.Name, name, l.Pos[0].File, l.Pos[0].Line)
				}
				break
			}
		}
	}
}

// checkStickRefs reports a `stick` rule whose table (its proxy's own, or
// the one named by `table`) does not exist, as haproxy does.
func (r *haReader) checkStickRefs(px *Proxy, tables map[string]bool, post func(Pos, Severity, string, ...any)) {
	for _, l := range px.Settings {
		if len(l.Words) == 0 || !strings.HasPrefix(l.Words[0], "stick ") {
			continue
		}
		name := px.Name
		for i := 2; i+1 < len(l.Words); i++ {
			if l.Words[i] == "table" {
				name = l.Words[i+1]
			}
		}
		if !tables[name] {
			post(l.Pos[0], Error, "Proxy '%s': unable to find stick-table '%s'.", px.Name, name)
		}
	}
}

// checkCaptureIDs reports `http-request|http-response capture SAMPLE id N`
// rules whose slot N the proxy does not have: each direction numbers its
// captures from 0 (capture ... header lines, declare capture lines and,
// for requests, capture rules with a len).
func checkCaptureIDs(px *Proxy, post func(Pos, Severity, string, ...any)) {
	slots := map[string]int{}
	for _, l := range px.Captures {
		switch {
		case len(l.Words) > 2 && l.Words[0] == "declare":
			slots[l.Words[2]]++ // declare capture request|response len N
		case len(l.Words) > 1 && l.Words[0] == "capture":
			slots[l.Words[1]]++ // capture request|response header NAME len N
		}
	}
	for _, rule := range px.Rules {
		if rule.Keyword == "http-request" && rule.Action == "capture" && len(rule.Args) > 1 && rule.Args[1] == "len" {
			slots["request"]++
		}
	}
	for _, rule := range px.Rules {
		if rule.Action != "capture" || len(rule.Args) < 3 || rule.Args[1] != "id" {
			continue
		}
		dir := "request"
		if rule.Keyword == "http-response" {
			dir = "response"
		}
		if n, err := strconv.Atoi(rule.Args[2]); err == nil && n >= 0 && n < slots[dir] {
			continue
		}
		post(rule.Pos, Error, "Proxy '%s': unable to find capture id '%s' referenced by %s capture rule.", px.Name, rule.Args[2], rule.Keyword)
	}
}

// proxyType is how haproxy names a proxy's kind in its post-parse
// messages: a listen section is a "proxy".
func proxyType(px *Proxy) string {
	if px.Kind == "listen" {
		return "proxy"
	}
	return px.Kind
}

// checkSSLBindCerts reports, once per bind line, an ssl bind without a
// certificate.
func checkSSLBindCerts(px *Proxy, post func(Pos, Severity, string, ...any)) {
	for i := 0; i < len(px.Binds); {
		b, addrs := px.Binds[i], []string{}
		j := i
		for ; j < len(px.Binds) && px.Binds[j].Pos == b.Pos; j++ {
			addrs = append(addrs, px.Binds[j].Addr.Raw)
		}
		_, list := b.Options["crt-list"]
		if b.SSL && len(b.Crts) == 0 && !list {
			post(b.Pos, Error, "Proxy '%s': no SSL certificate specified for bind '%s' at [%s:%d] (use 'crt').", px.Name, strings.Join(addrs, ","), b.Pos.File, b.Pos.Line)
		}
		i = j
	}
}

// checkServerStateFile: haproxy reads the global server-state-file when
// it starts (and with -c) and warns when it cannot; gohaka keeps no
// server state, but says what haproxy says of the file.
func (r *haReader) checkServerStateFile() {
	var file, base string
	var p Pos
	for _, l := range r.cfg.Global.Settings {
		if len(l.Words) > 1 && l.Words[0] == "server-state-file" {
			file, p = l.Words[1], l.Pos[0]
		}
		if len(l.Words) > 1 && l.Words[0] == "server-state-base" {
			base = l.Words[1]
		}
	}
	if file == "" || r.opts.Offline {
		return
	}
	if base != "" && !filepath.IsAbs(file) {
		file = strings.TrimSuffix(base, "/") + "/" + file
	}
	data, err := os.ReadFile(file)
	switch {
	case err != nil:
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error()
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		r.d.Add(p, Warning, "config: Can't open global server state file '%s': %s", file, msg)
	case !strings.HasPrefix(string(data), "1\n"):
		r.d.Add(p, Warning, "config: Can't get version of the global server state file '%s'.", file)
	default:
		return
	}
	r.d[len(r.d)-1].Stage, r.d[len(r.d)-1].Form = "post", "raw"
}
