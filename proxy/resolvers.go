package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/parser"
	"golang.org/x/net/dns/dnsmessage"
)

// Runtime name resolution (`server NAME HOST:PORT resolvers SECTION`):
// every `timeout resolve` a server's host name is asked of the section's
// name servers over udp, the address family of resolve-prefer first
// (AAAA, haproxy's default) and the other when that has none. A try
// waits `timeout retry` for an answer, resolve_retries tries make a
// resolution. A valid answer that does not hold the server's address
// moves the server to its first address; while resolutions fail, the
// last valid answer holds for `hold <status>`, then the server goes into
// maintenance (MAINT (resolution)) without an address until a valid
// answer comes. Messages and counters are haproxy's.

// resolverSet is a resolvers section at run time.
type resolverSet struct {
	rs  *parser.Resolvers
	ns  []parser.Nameserver
	ctr []*nsCounters // per name server, for `show resolvers`
}

// nsCounters are the per name server counters `show resolvers` prints.
type nsCounters struct {
	sent, sndError, valid, update, cname, cnameError, anyErr, nx, timeout, refused, other, invalid, tooBig, truncated, outdated atomic.Int64
}

// minDNSWait is the least time between resolutions and for an answer:
// a `timeout resolve 0` must not make a loop of queries.
const minDNSWait = 10 * time.Millisecond

// resolvConf is where parse-resolv-conf reads name servers.
var resolvConf = "/etc/resolv.conf"

// newResolverSets builds the run-time resolvers of cfg; haproxy adds a
// section named "default" (the name servers of resolv.conf) when the
// configuration has none of that name.
func newResolverSets(cfg *parser.Config) ([]*resolverSet, map[string]*resolverSet) {
	var list []*resolverSet
	byName := map[string]*resolverSet{}
	add := func(rs *parser.Resolvers) {
		set := &resolverSet{rs: rs, ns: rs.Nameservers}
		if rs.ResolvConf {
			more, _ := parser.ResolvConfNameservers(resolvConf)
			set.ns = slices.Insert(slices.Clone(set.ns), rs.ResolvConfAt, more...)
		}
		for range set.ns {
			set.ctr = append(set.ctr, &nsCounters{})
		}
		list = append(list, set)
		byName[rs.Name] = set
	}
	for _, rs := range cfg.Resolvers {
		add(rs)
	}
	if byName["default"] == nil {
		add(parser.DefaultResolvers())
	}
	return list, byName
}

// nameResolution resolves one host name (or SRV name) for the servers
// that name it with the same resolvers section and preferred family, for
// as long as the runtime runs (haproxy shares such a resolution too).
type nameResolution struct {
	r         *Runtime
	users     []srvRef // in configuration order
	set       *resolverSet
	host      string
	prefer    dnsmessage.Type // AAAA or A: asked first; SRV: records only
	lastValid time.Time
	conn      *net.UDPConn
	buf       []byte
	ctx       context.Context // done when the runtime stops listening
}

// srvRef is a server that uses a resolution.
type srvRef struct {
	be   *backend
	i    int
	port string
}

// startResolutions starts the resolutions of the servers that name a
// resolvers section.
func (r *Runtime) startResolutions() error {
	ctx, cancel := context.WithCancel(context.Background())
	r.stopResolutions = cancel
	type key struct {
		set    *resolverSet
		host   string
		prefer dnsmessage.Type
	}
	shared := map[key]*nameResolution{}
	var all []*nameResolution
	for _, px := range r.cfg.Proxies {
		be := r.backends[px.Name]
		if be == nil || be.px != px {
			continue
		}
		for i, sv := range be.servers {
			name := sv.srv.ResolversName()
			a := sv.srv.Addr
			if name == "" || !a.IsName() {
				continue
			}
			set := r.resolvers[name]
			if set == nil {
				return fmt.Errorf("%s: server %s/%s: no resolvers section '%s'", sv.srv.Pos, be.px.Name, sv.srv.Name, name)
			}
			k := key{set, strings.ToLower(a.Host), dnsmessage.TypeAAAA}
			if p := sv.srv.Options["resolve-prefer"]; len(p) > 0 && p[0] == "ipv4" {
				k.prefer = dnsmessage.TypeA
			}
			if a.IsSRVName() {
				k.prefer = dnsmessage.TypeSRV
			}
			res := shared[k]
			if res == nil {
				res = &nameResolution{r: r, set: set, host: a.Host, prefer: k.prefer, lastValid: time.Now(), buf: make([]byte, 65536), ctx: ctx}
				shared[k] = res
				all = append(all, res)
			}
			res.users = append(res.users, srvRef{be: be, i: i, port: strconv.Itoa(a.Port)})
		}
	}
	for _, res := range all {
		conn, err := net.ListenUDP("udp", nil)
		if err != nil {
			return err
		}
		res.conn = conn
		r.wg.Add(1)
		go res.run()
	}
	return nil
}

func (s *nameResolution) run() {
	defer s.r.wg.Done()
	defer s.conn.Close()
	stop := context.AfterFunc(s.ctx, func() { s.conn.Close() }) // ends a read under way
	defer stop()
	for {
		status, a, ns, ok := s.resolve()
		if !ok {
			return
		}
		s.apply(status, a, ns)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(max(s.set.rs.Resolve, minDNSWait)):
		}
	}
}

// resolve runs one resolution: status is valid, nx, refused, timeout or
// other; the answer and ns (the name server's index) come with valid. ok
// is false when the runtime stops.
func (s *nameResolution) resolve() (status string, answer dnsAnswer, ns int, ok bool) {
	id := uint16(rand.Uint32())
	other := dnsmessage.TypeA
	if s.prefer == dnsmessage.TypeA {
		other = dnsmessage.TypeAAAA
	}
	tries := max(s.set.rs.Retries, 1)
	for try := 0; try < tries; try++ {
		deadline := time.Now().Add(max(s.set.rs.Retry, minDNSWait))
		typ := s.prefer
		s.send(id, typ)
		status = "timeout"
		failed := 0 // failing answers to typ, one per name server
	wait:
		for {
			s.conn.SetReadDeadline(deadline)
			n, from, err := s.conn.ReadFromUDPAddrPort(s.buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return "", dnsAnswer{}, 0, false
			}
			k := s.nameserver(from)
			if k < 0 {
				continue
			}
			ctr := s.set.ctr[k]
			a, err := parseDNSAnswer(s.buf[:n], s.host)
			if err != nil {
				ctr.invalid.Add(1)
				continue
			}
			if a.id != id || a.typ != typ {
				ctr.outdated.Add(1)
				continue
			}
			if a.truncated {
				ctr.truncated.Add(1)
			}
			if a.cname {
				ctr.cname.Add(1)
			}
			switch {
			case a.rcode == dnsmessage.RCodeSuccess && (len(a.addrs) > 0 || len(a.srv) > 0):
				ctr.valid.Add(1)
				return "valid", a, k, true
			case a.rcode == dnsmessage.RCodeSuccess:
				ctr.anyErr.Add(1)
				status = "other"
			case a.rcode == dnsmessage.RCodeNameError:
				ctr.nx.Add(1)
				status = "nx"
			case a.rcode == dnsmessage.RCodeRefused:
				ctr.refused.Add(1)
				status = "refused"
			default:
				ctr.other.Add(1)
				status = "other"
			}
			if failed++; failed < len(s.set.ns) {
				continue
			}
			if typ == s.prefer && typ != dnsmessage.TypeSRV { // nothing of the preferred family: ask the other
				typ, failed = other, 0
				s.send(id, typ)
				continue
			}
			break wait
		}
		if try+1 < tries {
			select {
			case <-s.ctx.Done():
				return "", dnsAnswer{}, 0, false
			case <-time.After(time.Until(deadline)):
			}
		}
	}
	return status, dnsAnswer{}, 0, true
}

// send asks every name server of the section for the host's records of typ.
func (s *nameResolution) send(id uint16, typ dnsmessage.Type) {
	q, err := dnsQuery(id, s.host, typ, s.set.rs.PayloadSize)
	for k, ns := range s.set.ns {
		s.set.ctr[k].sent.Add(1)
		if err != nil {
			s.set.ctr[k].sndError.Add(1)
			continue
		}
		if _, err := s.conn.WriteToUDPAddrPort(q, ns.Addr); err != nil {
			s.set.ctr[k].sndError.Add(1)
		}
	}
}

// nameserver is the index of the name server an answer came from, -1
// for a stranger.
func (s *nameResolution) nameserver(from netip.AddrPort) int {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	for k, ns := range s.set.ns {
		if ns.Addr == from {
			return k
		}
	}
	return -1
}

// dnsStatusWords are haproxy's words for a failing status.
var dnsStatusWords = map[string]string{"nx": "DNS NX status", "timeout": "DNS timeout status", "refused": "DNS refused status", "other": "unspecified DNS error"}

// apply brings the servers of a resolution to what it found; a failure
// counts once the last valid answer is older than its hold.
func (s *nameResolution) apply(status string, a dnsAnswer, ns int) {
	now := time.Now()
	if status == "valid" {
		s.lastValid = now
	} else if now.Sub(s.lastValid) < s.set.rs.Hold[status] {
		return
	}
	switch {
	case s.prefer == dnsmessage.TypeSRV: // past hold, a failure leaves no record
		s.applySRV(a, ns)
	case status == "valid":
		via := s.set.rs.Name + "/" + s.set.ns[ns].Name
		for _, u := range s.users {
			s.applyValid(u, a.addrs, via, ns)
			via = "DNS cache" // the others take the answer the first one got
		}
	default:
		for _, u := range s.users {
			s.down(u, dnsStatusWords[status])
		}
	}
}

// applyValid gives a server an address of a valid answer: it keeps its
// own if the answer holds it, else it takes the first one no other
// server of its backend with the same name holds (haproxy's default,
// prevent-dup-ip); with none left it goes into maintenance.
func (s *nameResolution) applyValid(u srvRef, addrs []netip.Addr, via string, ns int) {
	sv := u.be.servers[u.i]
	name := u.be.px.Name + "/" + sv.srv.Name
	cur, curOK := hostIP(sv.address())
	if !curOK || !slices.Contains(addrs, cur) {
		held := map[netip.Addr]bool{}
		for j, o := range u.be.servers {
			if ip, ok := hostIP(o.address()); ok && j != u.i && strings.EqualFold(o.srv.Addr.Host, sv.srv.Addr.Host) {
				held[ip] = true
			}
		}
		free := slices.IndexFunc(addrs, func(ip netip.Addr) bool { return !held[ip] })
		if free < 0 {
			s.down(u, "No IP for server ")
			return
		}
		from := "(none)"
		if curOK {
			from = cur.String()
		}
		a := net.JoinHostPort(addrs[free].String(), u.port)
		sv.addrNow.Store(&a)
		s.set.ctr[ns].update.Add(1)
		s.r.opts.Logf("%s changed its IP from %s to %s by %s.", name, from, addrs[free], via)
	}
	if changed, _, _ := u.be.setResMaint(u.i, false); changed {
		s.r.opts.Logf("Server %s ('%s') is UP/READY (resolves again).", name, s.host)
		s.r.opts.Logf("Server %s administratively READY thanks to valid DNS answer.", name)
	}
}

// hostIP is the IP of a host:port address, ok false for none.
func hostIP(addr string) (netip.Addr, bool) {
	host, _, _ := net.SplitHostPort(addr)
	ip, err := netip.ParseAddr(host)
	return ip.Unmap(), err == nil
}

// down puts a server into resolution maintenance without an address,
// with haproxy's message saying why.
func (s *nameResolution) down(u srvRef, why string) {
	sv := u.be.servers[u.i]
	changed, act, bck := u.be.setResMaint(u.i, true)
	if !changed {
		return
	}
	port := u.port
	if s.prefer == dnsmessage.TypeSRV {
		port = "0" // the record gave the port: gone with it
	}
	none := net.JoinHostPort("", port) // no address
	sv.addrNow.Store(&none)
	s.r.opts.Logf("Server %s/%s is going DOWN for maintenance (%s). %d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.",
		u.be.px.Name, sv.srv.Name, why, act, bck, sv.st.ctr.scur.Load())
	if act+bck == 0 {
		kind := u.be.px.Kind
		if kind == "listen" {
			kind = "proxy"
		}
		s.r.opts.Logf("%s '%s' has no server available!", kind, u.be.px.Name)
	}
}

// setResMaint puts server i of be into resolution maintenance or takes
// it out; changed reports whether that changed anything, act and bck
// are the usable servers left (changeAdmin).
func (be *backend) setResMaint(i int, on bool) (changed bool, act, bck int) {
	return be.changeAdmin(i, func(st *srvState) bool {
		if st.resMaint == on {
			return false
		}
		st.resMaint = on
		if on {
			st.dropHealth()
		}
		return true
	})
}

// initialHost is the host a server starts with, as its init-addr
// methods find it (default "last,libc": gohaka keeps no server state
// file, so last finds nothing): libc is the address resolved when the
// configuration was read, an IP is itself, none is no address (the
// server starts in resolution maintenance). ok is false for none, and
// when no method found one.
func initialHost(s *parser.Server) (host string, ok bool) {
	a := s.Addr
	if !a.IsName() {
		return a.Host, true
	}
	methods := []string{"last", "libc"}
	v := s.Options["init-addr"]
	if len(v) > 0 {
		methods = strings.Split(strings.Join(v, ","), ",")
	}
	for _, m := range methods {
		switch m {
		case "libc":
			if len(s.Resolved) > 0 {
				return s.Resolved[0].String(), true
			}
		case "none":
			return "", false
		default:
			if ip, err := netip.ParseAddr(m); err == nil {
				return ip.String(), true
			}
		}
	}
	if len(v) == 0 && s.ResolversName() == "" {
		// gohaka run (not as haproxy) starts with a name it could not
		// resolve, as its warning says: each connection looks it up
		return a.Host, true
	}
	return "", false
}

// showResolvers is `show resolvers [section]`: each name server's counters.
func (r *Runtime) showResolvers(only string) string {
	if only != "" && r.resolvers[only] == nil {
		return "Can't find that resolvers section\n"
	}
	var b strings.Builder
	for _, set := range r.resolverList {
		if only != "" && set.rs.Name != only {
			continue
		}
		fmt.Fprintf(&b, "Resolvers section %s\n", set.rs.Name)
		for k, ns := range set.ns {
			c := set.ctr[k]
			fmt.Fprintf(&b, " nameserver %s:\n", ns.Name)
			for _, v := range []struct {
				name string
				n    *atomic.Int64
			}{{"sent", &c.sent}, {"snd_error", &c.sndError}, {"valid", &c.valid}, {"update", &c.update}, {"cname", &c.cname},
				{"cname_error", &c.cnameError}, {"any_err", &c.anyErr}, {"nx", &c.nx}, {"timeout", &c.timeout}, {"refused", &c.refused},
				{"other", &c.other}, {"invalid", &c.invalid}, {"too_big", &c.tooBig}, {"truncated", &c.truncated}, {"outdated", &c.outdated}} {
				fmt.Fprintf(&b, "  %-13s%d\n", v.name+":", v.n.Load())
			}
		}
	}
	return b.String()
}
