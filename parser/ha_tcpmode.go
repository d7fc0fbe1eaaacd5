package parser

// This file warns, as haproxy -c does after reading the files, about what
// a proxy that is not in http mode has configured for http: ignored.

import "strings"

// httpOptions are the options only http mode uses, in the order haproxy
// lists them, with the sides ('f', 'b') they apply to.
var httpOptions = []struct{ name, sides string }{
	{"checkcache", "b"}, {"http-buffer-request", "fb"}, {"http-ignore-probes", "f"},
	{"idle-close-on-response", "f"}, {"prefer-last-server", "b"},
	{"accept-invalid-http-request", "f"}, {"accept-invalid-http-response", "b"},
	{"http-use-proxy-header", "f"}, {"http-pretend-keepalive", "b"}, {"http-no-delay", "fb"},
	{"disable-h2-upgrade", "f"},
}

// tcpModeProxy says whether px is checked here: a proxy that is not in
// http mode (defaults sections are not).
func tcpModeProxy(px *Proxy) bool { return px.Mode != "http" && px.Kind != "defaults" }

// hasSide tells whether px has the side s ('f' frontend, 'b' backend).
func hasSide(px *Proxy, s byte) bool {
	if s == 'f' {
		return px.Cap&CapFE != 0
	}
	return px.Cap&CapBE != 0
}

// warnTCPModeFirst gives the warnings haproxy gives before the timeouts
// one: monitor-uri, cookie and option httplog in a tcp proxy.
func warnTCPModeFirst(px *Proxy, post func(Pos, Severity, string, ...any)) {
	if !tcpModeProxy(px) {
		return
	}
	for _, l := range px.Settings {
		if l.Words[0] == "monitor-uri" && hasSide(px, 'f') {
			post(l.Pos[0], Warning, "monitor-uri will be ignored for %s '%s' (needs 'mode http').", proxyType(px), px.Name)
			break
		}
	}
	if px.Cookie != nil && hasSide(px, 'b') {
		post(px.Pos, Warning, "cookie will be ignored for %s '%s' (needs 'mode http').", proxyType(px), px.Name)
	}
	o, ok := px.Options["httplog"]
	// a backend does not inherit a defaults section's log options
	own := o.Pos.File == px.Pos.File && o.Pos.Line > px.Pos.Line
	if ok && o.Enabled && o.Pos.File != "" && (hasSide(px, 'f') || own) {
		post(o.Pos, Warning, "parsing [%s:%d] : 'option httplog' not usable with %s '%s' (needs 'mode http'). Falling back to 'option tcplog'.", o.Pos.File, o.Pos.Line, proxyType(px), px.Name)
	}
}

// warnHTTPOnlyInTCP gives the warnings haproxy gives after the log ones:
// the stats page, http rules, http options and server cookies of a tcp
// proxy are ignored.
func warnHTTPOnlyInTCP(px *Proxy, post func(Pos, Severity, string, ...any)) {
	if !tcpModeProxy(px) {
		return
	}
	if px.Stats.Enabled {
		post(px.Pos, Warning, "'stats' statement ignored for %s '%s' as it requires HTTP mode.", proxyType(px), px.Name)
	}
	for _, kw := range []string{"http-request", "http-response", "http-after-response", "redirect"} {
		for _, rule := range px.Rules {
			if rule.Keyword == kw {
				post(rule.Pos, Warning, "'%s' rules ignored for %s '%s' as they require HTTP mode.", kw, proxyType(px), px.Name)
				break
			}
		}
	}
	for _, name := range []string{"forwardfor", "originalto"} {
		if px.OptionOn(name) {
			post(px.Pos, Warning, "'option %s' ignored for %s '%s' as it requires HTTP mode.", name, proxyType(px), px.Name)
		}
	}
	for _, o := range httpOptions {
		if px.OptionOn(o.name) && (hasSide(px, 'f') && strings.Contains(o.sides, "f") || hasSide(px, 'b') && strings.Contains(o.sides, "b")) {
			post(px.Pos, Warning, "'option %s' ignored for %s '%s' as it requires HTTP mode.", o.name, proxyType(px), px.Name)
		}
	}
	for _, s := range px.Servers {
		if s.Cookie != "" {
			post(s.Pos, Warning, "%s '%s' : ignoring cookie for server '%s' as HTTP mode is disabled.", proxyType(px), px.Name, s.Name)
		}
	}
}
