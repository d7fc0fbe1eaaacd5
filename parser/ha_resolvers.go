package parser

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// newResolvers starts a resolvers section with haproxy 2.6's defaults.
func (r *haReader) newResolvers(name string, p Pos) *Resolvers {
	if o := r.cfg.ResolversNamed(name); o != nil {
		r.d.Add(p, Error, "Parsing [%s:%d]: resolvers '%s' has same name as another resolvers (declared at %s:%d).", p.File, p.Line, name, o.Pos.File, o.Pos.Line)
		r.d[len(r.d)-1].Form = "raw"
		r.d.Errorf(p, "out of memory.") // haproxy's own words, after the one above
		r.abortHere()
		return nil
	}
	rs := DefaultResolvers()
	rs.Pos, rs.Name, rs.ResolvConf = p, name, false
	r.cfg.Resolvers = append(r.cfg.Resolvers, rs)
	return rs
}

// resolversLine reads one line of a resolvers section into rs.
func (r *haReader) resolversLine(rs *Resolvers, words []string, pos []Pos) {
	switch words[0] {
	case "nameserver":
		r.nameserverLine(rs, words, pos)
	case "parse-resolv-conf":
		rs.ResolvConf, rs.ResolvConfAt = true, len(rs.Nameservers)
	case "resolve_retries", "accepted_payload_size":
		if len(words) < 2 {
			r.d.Errorf(pos[0], "'%s' expects <nb> as argument.", words[0])
			return
		}
		n, _ := atoi(words[1])
		if words[0] == "resolve_retries" {
			rs.Retries = n
			return
		}
		if n < 12 || n > 65535 {
			r.d.Errorf(pos[0], "'accepted_payload_size' must be between 12 and 65535 inclusive (was %s).", words[1])
			return
		}
		rs.PayloadSize = n
	case "timeout":
		if len(words) < 2 || words[1] != "retry" && words[1] != "resolve" {
			got := ""
			if len(words) > 1 {
				got = words[1]
			}
			r.d.Errorf(pos[0], "'timeout' expects 'retry' or 'resolve' and <time> as arguments got '%s'.", got)
			return
		}
		if len(words) < 3 {
			r.d.Errorf(pos[0], "'timeout %s' expects <time> as argument.", words[1])
			return
		}
		d, ok := r.resolversTime(words[2], pos[0], "timeout "+words[1])
		if !ok {
			return
		}
		if words[1] == "retry" {
			rs.Retry = d
		} else {
			rs.Resolve = d
		}
	case "hold":
		if len(words) < 3 {
			r.d.Errorf(pos[0], "'hold' expects an <event> and a <time> as arguments.")
			r.d.Add(pos[0], Error, "<event> can be either 'valid', 'nx', 'refused', 'timeout', or 'other'")
			r.d[len(r.d)-1].Form = "raw"
			return
		}
		if _, known := rs.Hold[words[1]]; !known {
			r.d.Errorf(pos[0], "'hold' unknown <event>: '%s', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.", words[1])
			return
		}
		if d, ok := r.resolversTime(words[2], pos[0], "hold"); ok {
			rs.Hold[words[1]] = d
		}
	}
}

// resolversTime reads a time of a resolvers line, with haproxy's message.
func (r *haReader) resolversTime(v string, p Pos, what string) (time.Duration, bool) {
	d, err := parseTime(v)
	if err != nil {
		r.d.Add(p, Error, "%s in argument to <%s>.", err, what)
		r.d[len(r.d)-1].Form = "colon"
		return 0, false
	}
	return d, true
}

// nameserverLine reads `nameserver NAME [udp@|tcp@]ADDR:PORT`.
func (r *haReader) nameserverLine(rs *Resolvers, words []string, pos []Pos) {
	if len(words) < 3 {
		r.d.Errorf(pos[0], "'nameserver' expects <name> and <addr>[:<port>] as arguments.")
		return
	}
	who := fmt.Sprintf("'nameserver %s'", words[1])
	for _, ns := range rs.Nameservers {
		if ns.Name == words[1] {
			r.d.Add(pos[0], Error, "Parsing [%s:%d]: nameserver '%s' has same name as another nameserver (declared at %s:%d).", pos[0].File, pos[0].Line, words[1], ns.Pos.File, ns.Pos.Line)
			r.d[len(r.d)-1].Form = "raw"
			return
		}
	}
	a, err := parseAddr(words[2], addrOpts{env: r.getenv})
	if err == nil && a.Path == "" && a.Port == 0 && !strings.HasSuffix(words[2], ":0") {
		err = fmt.Errorf("missing port specification in '%s'", words[2])
	} else if err == nil && a.Port == 0 {
		err = fmt.Errorf("invalid port '0'")
	}
	if err == nil && a.Path == "" && (a.Host == "" || a.Host == "*") {
		a.IP = netip.IPv4Unspecified() // haproxy's address for no host
	}
	if err == nil && !a.IP.IsValid() {
		err = fmt.Errorf("invalid address: '%s' in '%s'\n", a.Host, words[2])
		if a.Path == "" && r.opts.Resolver != nil {
			if addrs, lerr := r.opts.Resolver.LookupHost(a.Host); lerr == nil && len(addrs) > 0 {
				a.IP, err = addrs[0], nil
			}
		}
	}
	if err != nil {
		r.d.Errorf(pos[0], "%s : %s", who, err)
		return
	}
	ns := Nameserver{Pos: pos[0], Name: words[1], Addr: netip.AddrPortFrom(a.IP.Unmap(), uint16(a.Port)), TCP: a.Family == "tcp" || strings.HasPrefix(words[2], "tcp")}
	if ns.TCP {
		r.d = append(r.d, Diag{Pos: pos[2], Sev: Warning, Keyword: "nameserver", NotImpl: true,
			Msg: fmt.Sprintf("%s : gohaka asks name servers over udp only; '%s' will be asked over udp", who, words[2])})
	}
	rs.Nameservers = append(rs.Nameservers, ns)
}

// ResolvConfNameservers reads the nameserver lines of a resolv.conf
// (parse-resolv-conf), port 53 each, named by their address as haproxy
// names them.
func ResolvConfNameservers(path string) ([]Nameserver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Nameserver
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		out = append(out, Nameserver{Pos: Pos{File: path, Line: i + 1}, Name: ip.String(), Addr: netip.AddrPortFrom(ip.Unmap(), 53)})
	}
	return out, nil
}

// checkResolvers is haproxy's check of resolvers sections once every file
// is read: a section needs a name server, a server's `resolvers` must
// name a section (haproxy makes one called "default", from resolv.conf,
// when none has that name).
func (r *haReader) checkResolvers(post func(Pos, Severity, string, ...any)) {
	for _, rs := range r.cfg.Resolvers {
		if len(rs.Nameservers) == 0 && !rs.ResolvConf {
			post(rs.Pos, Warning, "resolvers '%s' [%s] has no nameservers configured!", rs.Name, fmt.Sprintf("%s:%d", rs.Pos.File, rs.Pos.Line))
		}
		for _, ns := range rs.Nameservers {
			if r.opts.Offline {
				break
			}
			// haproxy connects a udp socket to each name server when it
			// starts (no packet is sent): a name server no route leads to
			// is only a warning
			if c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ns.Addr)); err != nil {
				post(ns.Pos, Warning, "resolvers '%s': can't connect socket for nameserver '%s'.", rs.Name, ns.Name)
			} else {
				c.Close()
			}
		}
	}
	for _, px := range r.cfg.Proxies {
		if px.Disabled {
			continue
		}
		for _, s := range px.Servers {
			if name := s.ResolversName(); name != "" && name != "default" && r.cfg.ResolversNamed(name) == nil {
				post(s.Pos, Error, "%s '%s', server '%s': unable to find required resolvers '%s'", proxyType(px), px.Name, s.Name, name)
			}
		}
	}
}

// ResolversNamed returns the resolvers section called name, or nil.
func (c *Config) ResolversNamed(name string) *Resolvers {
	for _, rs := range c.Resolvers {
		if rs.Name == name {
			return rs
		}
	}
	return nil
}

// ResolversName is the resolvers section a server names, "" for none.
func (s *Server) ResolversName() string {
	if v := s.Options["resolvers"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// DefaultResolvers is the section haproxy makes when the configuration
// names none "default": the name servers of resolv.conf, default timers.
func DefaultResolvers() *Resolvers {
	return &Resolvers{Name: "default", ResolvConf: true, Retries: 3, Resolve: time.Second, Retry: time.Second, PayloadSize: 512,
		Hold: map[string]time.Duration{"valid": 10 * time.Second, "nx": 30 * time.Second, "refused": 30 * time.Second,
			"timeout": 30 * time.Second, "other": 30 * time.Second, "obsolete": 0}}
}
