package parser

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// addrFamilies are the address prefixes haproxy 2.6 knows.
var addrFamilies = map[string]string{
	"ipv4": "ipv4", "ipv6": "ipv6", "unix": "unix", "abns": "abns", "fd": "fd",
	"sockpair": "sockpair", "udp": "udp", "udp4": "udp4", "udp6": "udp6",
	"tcp": "tcp", "tcp4": "tcp4", "tcp6": "tcp6", "uxst": "unix", "uxdg": "uxdg",
	"quic4": "quic4", "quic6": "quic6",
}

// addrOpts says what an address may hold where it is used.
type addrOpts struct {
	portRequired bool
	portRange    bool
	portOffset   bool
	// env, when set, expands $NAME and ${NAME} in the address, quoted or
	// not, as haproxy's address parser does (an unset name is empty)
	env func(string) (string, bool)
}

// expandAddrEnv replaces $NAME and ${NAME} in s with the variables'
// values.
func expandAddrEnv(s string, env func(string) (string, bool)) string {
	if env == nil || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		brace := j < len(s) && s[j] == '{'
		if brace {
			j++
		}
		k := j
		for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
			k++
		}
		if k == j || brace && (k >= len(s) || s[k] != '}') {
			b.WriteByte('$') // no name: the dollar stays
			continue
		}
		v, _ := env(s[j:k])
		b.WriteString(v)
		if i = k - 1; brace {
			i = k
		}
	}
	return b.String()
}

// parseAddr reads one haproxy address: [family@]host[:port] or a path.
func parseAddr(s string, o addrOpts) (Addr, error) {
	a := Addr{Raw: s}
	s = expandAddrEnv(s, o.env)
	rest := s
	if i := strings.IndexByte(s, '@'); i > 0 && !strings.ContainsAny(s[:i], "/[:") {
		fam, ok := addrFamilies[s[:i]]
		if !ok {
			return a, fmt.Errorf("invalid address: '%s' in '%s'", s[:i]+hostPartAfter(s), s)
		}
		a.Family, rest = fam, s[i+1:]
		switch fam {
		case "unix", "abns", "uxdg":
			a.Path = rest
			return a, nil
		case "fd", "sockpair":
			a.Path = rest
			return a, nil
		}
	}
	if strings.HasPrefix(rest, "/") {
		a.Family, a.Path = "unix", rest
		return a, nil
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return a, fmt.Errorf("invalid address: '%s'", s)
		}
		host, port = rest[1:end], strings.TrimPrefix(rest[end+1:], ":")
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
	}
	if port == "" && o.portRequired {
		return a, fmt.Errorf("missing port number: '%s'", s)
	}
	if port != "" {
		if err := a.setPort(port, o); err != nil {
			return a, err
		}
	}
	a.Host = host
	switch {
	case host == "" || host == "*":
		if a.Family == "" {
			a.Family = "ipv4"
		}
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			a.IP = ip
			if a.Family == "" || a.Family == "tcp" {
				a.Family = map[bool]string{true: "ipv4", false: "ipv6"}[ip.Is4()]
			}
		}
	}
	return a, nil
}

func hostPartAfter(s string) string {
	i := strings.IndexByte(s, '@')
	rest := s[i+1:]
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j > 0 {
			return "@" + rest[:j+1]
		}
	}
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		return "@" + rest[:j]
	}
	return "@" + rest
}

func (a *Addr) setPort(p string, o addrOpts) error {
	if o.portOffset && (p[0] == '+' || p[0] == '-') {
		n, err := strconv.Atoi(p[1:])
		if err != nil || n > 65535 {
			return fmt.Errorf("invalid port '%s'", p)
		}
		a.PortOffset, a.Port, a.PortEnd = true, n, n
		if p[0] == '-' {
			a.Port, a.PortEnd = -n, -n
		}
		return nil
	}
	lo, hi := p, p
	if i := strings.IndexByte(p, '-'); i > 0 {
		if !o.portRange {
			return fmt.Errorf("port range not permitted here in '%s'", a.Raw)
		}
		lo, hi = p[:i], p[i+1:]
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 0 || h > 65535 || h < l || (o.portRequired && l == 0) {
		return fmt.Errorf("invalid port '%s'", p)
	}
	a.Port, a.PortEnd = l, h
	return nil
}

// validHostname accepts what libc's resolver would try to look up.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	allDigits := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isAlnum(c) || c == '-' || c == '.' || c == '_') {
			return false
		}
		if isAlpha(c) {
			allDigits = false
		}
	}
	return !allDigits
}

// resolvePath applies a base directory (ca-base, crt-base) and the
// reader's working directory to a relative path.
func (r *haReader) resolvePath(base, p string) string {
	if base != "" && !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	if !filepath.IsAbs(p) && r.opts.Dir != "" {
		p = filepath.Join(r.opts.Dir, p)
	}
	return p
}

// fileExists reports whether a file the config names can be opened; with
// Options.Offline it always answers yes.
func (r *haReader) fileExists(p string) bool {
	if r.opts.Offline {
		return true
	}
	_, err := os.Stat(r.resolvePath("", p))
	return err == nil
}

// checkFile reports msg (with %s for the path) when the file is missing.
func (r *haReader) checkFile(p Pos, path, msg string) bool {
	if r.fileExists(path) {
		return true
	}
	r.d.Errorf(p, msg, path)
	r.d[len(r.d)-1].Keyword = "file:" + path
	return false
}

// bindLine reads `bind <addr>[,<addr>...] [options]`; px is nil for the
// binds of peers and log-forward sections.
func (r *haReader) bindLine(px *Proxy, words []string, pos []Pos) {
	if len(words) < 2 {
		r.d.Errorf(pos[0], "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
		return
	}
	where := "frontend"
	if px != nil {
		where = px.Kind
	} else if r.sec != nil {
		where = r.sec.kind
	}
	opts := map[string][]string{}
	var crts []string
	ctx := fmt.Sprintf("'bind %s' in section '%s'", words[1], where)
	for i := 2; i < len(words); i++ {
		o := words[i]
		n, ok := haBindOptionArgs[o]
		if !ok {
			msg := fmt.Sprintf("%s: unknown keyword '%s'.", ctx, o)
			if s := suggest(o, mapKeys(haBindOptionArgs)); s != "" {
				msg = fmt.Sprintf("%s : unknown keyword '%s'; did you mean '%s' maybe ?", ctx, o, s)
			}
			r.d.Errorf(pos[i], "%s", msg)
			return
		}
		if i+n >= len(words) {
			r.d.Errorf(pos[i], "%s : '%s' : missing value.", ctx, o)
			return
		}
		opts[o] = append(opts[o], words[i+1:i+1+n]...)
		if n == 1 {
			v := words[i+1]
			switch o {
			case "crt":
				crts = append(crts, v)
				if !r.fileExists(r.resolvePath(r.cfg.Global.CrtBase, v)) {
					r.d.Errorf(pos[i], "%s : unable to stat SSL certificate from file '%s' : No such file or directory.", ctx, v)
					r.d[len(r.d)-1].Keyword = "file:" + v
					return
				}
			case "crt-list":
				if !r.fileExists(r.resolvePath(r.cfg.Global.CrtBase, v)) {
					r.d.Errorf(pos[i], "%s : 'crt-list' : cannot open file '%s' : No such file or directory", ctx, v)
					r.d[len(r.d)-1].Keyword = "file:" + v
					return
				}
			case "process":
				warn, bad := processOption(v)
				if bad != "" {
					r.d.Errorf(pos[i], "%s : 'process' : %s", ctx, bad)
					return
				}
				r.d.Warnf(pos[i], "%s : %s", ctx, warn)
			case "ca-verify-file":
				if !r.fileExists(r.resolvePath(r.cfg.Global.CaBase, v)) {
					p := v // as haproxy names it: after ca-base, not the config's folder
					if r.cfg.Global.CaBase != "" && !filepath.IsAbs(v) {
						p = filepath.Join(r.cfg.Global.CaBase, v)
					}
					r.d.Errorf(pos[i], "Couldn't open the ca-file '%s' (No such file or directory).", p)
					r.d[len(r.d)-1].Form = "raw"
					r.d.Errorf(pos[i], "%s : 'ca-verify-file' : unable to load %s", ctx, p)
					r.d[len(r.d)-1].Keyword = "file:" + v
					return
				}
			case "ca-file", "crl-file":
				if !r.fileExists(r.resolvePath(r.cfg.Global.CaBase, v)) {
					r.d.Errorf(pos[i], "%s : Couldn't open the %s '%s' (No such file or directory).", ctx, o, v)
					r.d[len(r.d)-1].Keyword = "file:" + v
					return
				}
			}
		}
		i += n
	}
	for _, one := range strings.Split(words[1], ",") {
		a, err := parseAddr(one, addrOpts{portRequired: true, portRange: true, env: r.getenv})
		if err != nil {
			if strings.HasPrefix(err.Error(), "invalid address") {
				r.d.Errorf(pos[1], "'bind' : %s", err)
			} else {
				r.d.Errorf(pos[1], "%s : %s", ctx, err)
			}
			return
		}
		if px != nil {
			_, ssl := opts["ssl"]
			px.Binds = append(px.Binds, &Bind{Pos: pos[0], Addr: a, Options: opts, SSL: ssl, Crts: crts})
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// processOption reads a bind line's `process` value as haproxy 2.6 does
// (one process only): warn is its deprecation notice, bad what is wrong
// with it.
func processOption(v string) (warn, bad string) {
	proc, thr, hasThr := strings.Cut(v, "/")
	switch proc {
	case "all", "odd", "even":
	default:
		lo, hi, isRange := strings.Cut(proc, "-")
		l, err1 := strconv.Atoi(lo)
		h, err2 := l, error(nil)
		if isRange {
			h, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return "", fmt.Sprintf("'%s' is not a valid number/range.", proc)
		}
		if l < 1 || h > 1 || h < l {
			return "", fmt.Sprintf("'%s' is not a valid number/range. It supports numbers from 1 to 1.", proc)
		}
	}
	warn = fmt.Sprintf("'process %s' on 'bind' lines is deprecated and will be removed in 2.7.", v)
	if hasThr {
		warn += fmt.Sprintf(" Please use 'thread %s' instead.", thr)
	}
	return warn, ""
}
