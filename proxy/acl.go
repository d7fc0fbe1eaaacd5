package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
)

// connInfo is what layer-4 ACLs look at.
type connInfo struct {
	src, dst netip.AddrPort
	ssl      bool      // the client connection is TLS (ssl_fc)
	sni      string    // the server name the TLS client asked for (ssl_fc_sni)
	sc       *trackSet // the session's sticky counters (nil: none tracked)
	hello    []byte    // what the client sent first, for content rules (inspect.go)
	// from a PROXY v2 header's TLVs (fc_pp_authority, fc_pp_unique_id)
	ppAuthority, ppUniqueID []byte
	// fcSrc, fcDst are the connection's own addresses (fc_src, fc_dst):
	// the socket's, or what tcp-request connection rules made them; src
	// and dst may then come from a PROXY header or later rules
	fcSrc, fcDst netip.AddrPort
	// vars are the session's variables (sess.*) set before its first
	// request, by tcp-request connection and session rules
	vars []hvar
}

// fcAddr is fc_dst (dst) or fc_src: the socket's address where none was
// recorded.
func (ci *connInfo) fcAddr(dst bool) netip.AddrPort {
	if dst {
		if ci.fcDst.IsValid() {
			return ci.fcDst
		}
		return ci.dst
	}
	if ci.fcSrc.IsValid() {
		return ci.fcSrc
	}
	return ci.src
}

// l4Matcher is one compiled layer-4 ACL: a fetch and its patterns.
type l4Matcher struct {
	fetch    string
	prefixes []netip.Prefix
	ints     [][2]int
	strs     []string
	nocase   bool
	always   int // 1 true, -1 false, 0 use patterns
	// hm matches a stick-counter fetch (compileL4 of Runtime)
	hm *httpMatcher
	rt *Runtime
}

// compileL4 compiles the fetch and values of an ACL for tcp mode.
func compileL4(fetch string, flags, values []string, pos parser.Pos) (*l4Matcher, error) {
	m := &l4Matcher{fetch: fetch}
	switch fetch {
	case "always_true", "TRUE":
		m.always = 1
		return m, nil
	case "always_false", "FALSE":
		m.always = -1
		return m, nil
	case "src", "dst":
		for _, v := range values {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, err2 := netip.ParseAddr(v)
				if err2 != nil {
					return nil, fmt.Errorf("%s: '%s' is not an address or network", pos, v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			m.prefixes = append(m.prefixes, p)
		}
	case "dst_port", "src_port":
		for _, v := range values {
			lo, hi, ok := strings.Cut(v, ":")
			a, err := strconv.Atoi(lo)
			if err != nil {
				return nil, fmt.Errorf("%s: '%s' is not a port or range", pos, v)
			}
			b := a
			if ok {
				if b, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("%s: '%s' is not a port or range", pos, v)
				}
			}
			m.ints = append(m.ints, [2]int{a, b})
		}
	case "ssl_fc":
	case "ssl_fc_sni":
		for _, f := range flags {
			m.nocase = m.nocase || f == "-i"
		}
		m.strs = values
	default:
		return nil, fmt.Errorf("%s: fetch '%s' is not available in gohaka's tcp runtime yet (src, dst, src_port, dst_port, ssl_fc, ssl_fc_sni, always_true, always_false are)", pos, fetch)
	}
	return m, nil
}

// connFetches are the fetches of the connection's own addresses, matched
// in tcp rules as in http mode.
var connFetches = map[string]bool{"fc_src": true, "fc_dst": true, "fc_src_port": true, "fc_dst_port": true}

// compileL4 compiles a layer-4 ACL, where the stick-counter fetches
// (sc_*, src_*) and those of the client's first bytes (req.ssl_sni...)
// are matched as in http mode.
func (r *Runtime) compileL4(fetch string, flags, values []string, pos parser.Pos) (*l4Matcher, error) {
	name, arg, _ := strings.Cut(strings.TrimSuffix(fetch, ")"), "(")
	if contentFetches[name] {
		r.readsContent = true
	}
	if _, _, ok, _ := stkFetch(name, arg, nil); ok || contentFetches[name] || connFetches[name] {
		hm, err := compileHTTP(fetch, flags, values, pos, r)
		if err != nil {
			return nil, err
		}
		return &l4Matcher{fetch: fetch, hm: hm, rt: r}, nil
	}
	return compileL4(fetch, flags, values, pos)
}

func (m *l4Matcher) match(ci connInfo) bool {
	if m.hm != nil {
		q := hreq{ci: &ci, rt: m.rt}
		return m.hm.match(&q)
	}
	switch m.always {
	case 1:
		return true
	case -1:
		return false
	}
	switch m.fetch {
	case "src", "dst":
		a := ci.src.Addr()
		if m.fetch == "dst" {
			a = ci.dst.Addr()
		}
		a = a.Unmap()
		for _, p := range m.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	case "ssl_fc":
		return ci.ssl
	case "ssl_fc_sni":
		for _, v := range m.strs {
			if v == ci.sni || m.nocase && strings.EqualFold(v, ci.sni) {
				return ci.ssl
			}
		}
	case "dst_port", "src_port":
		port := int(ci.src.Port())
		if m.fetch == "dst_port" {
			port = int(ci.dst.Port())
		}
		for _, r := range m.ints {
			if port >= r[0] && port <= r[1] {
				return true
			}
		}
	}
	return false
}

// l4Cond is a compiled condition: terms ORed, factors ANDed.
type l4Cond struct {
	unless bool
	terms  [][]l4Factor
}

// l4Factor is one factor of a layer-4 condition.
type l4Factor = condFactor[*l4Matcher]

// compileCond compiles a parsed condition against a proxy's ACLs.
func (r *Runtime) compileCond(c *parser.Cond, acls []*parser.ACL) (*l4Cond, error) {
	if c == nil || c.Expr == nil {
		return nil, nil
	}
	out := &l4Cond{unless: c.Unless}
	for _, t := range c.Expr.Terms {
		var fs []l4Factor
		for _, f := range t.Factors {
			lf := l4Factor{not: f.Not}
			if f.Anon != nil {
				flags, vals := splitFlags(f.Anon[1:])
				m, err := r.compileL4(f.Anon[0], flags, vals, c.Pos)
				if err != nil {
					return nil, err
				}
				lf.ms = append(lf.ms, m)
			} else {
				if f.Name == "TRUE" || f.Name == "FALSE" {
					m, _ := compileL4(f.Name, nil, nil, c.Pos)
					lf.ms = append(lf.ms, m)
				}
				if f.Name == "LOCALHOST" { // haproxy's predefined ACL: src 127.0.0.1/8
					m, err := compileL4("src", nil, []string{"127.0.0.1/8"}, c.Pos)
					if err != nil {
						return nil, err
					}
					lf.ms = append(lf.ms, m)
				}
				for _, a := range acls {
					if a.Name != f.Name {
						continue
					}
					m, err := r.compileL4(a.Fetch, a.Flags, a.Values, a.Pos)
					if err != nil {
						return nil, err
					}
					lf.ms = append(lf.ms, m)
				}
				if len(lf.ms) == 0 {
					return nil, fmt.Errorf("%s: ACL '%s' is not available in gohaka's tcp runtime yet", c.Pos, f.Name)
				}
			}
			fs = append(fs, lf)
		}
		out.terms = append(out.terms, fs)
	}
	return out, nil
}

func splitFlags(ws []string) (flags, values []string) {
	i := 0
	for i < len(ws) && strings.HasPrefix(ws[i], "-") {
		flags = append(flags, ws[i])
		if ws[i] == "-m" || ws[i] == "-f" || ws[i] == "-M" {
			i++
			if i < len(ws) {
				flags = append(flags, ws[i])
			}
		}
		i++
	}
	return flags, ws[min(i, len(ws)):]
}

// eval evaluates the condition; a nil condition is true.
func (c *l4Cond) eval(ci connInfo) bool {
	return c == nil || evalTerms(c.terms, c.unless, ci)
}

// condFactor is one factor of a compiled condition: a matcher per line of
// the ACL it names (ORed), negated with '!'.
type condFactor[M any] struct {
	not bool
	ms  []M
}

// evalTerms evaluates a compiled condition, tcp or http: terms ORed,
// factors ANDed, `unless` inverting the result.
func evalTerms[T any, M interface{ match(T) bool }](terms [][]condFactor[M], unless bool, x T) bool {
	res := false
	for _, t := range terms {
		all := true
		for _, f := range t {
			any := false
			for _, m := range f.ms {
				if m.match(x) {
					any = true
					break
				}
			}
			if any == f.not {
				all = false
				break
			}
		}
		if all {
			res = true
			break
		}
	}
	return res != unless
}
