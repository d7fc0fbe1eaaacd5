package proxy

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// SRV records at run time (`server-template NAME N _service._proto.name
// resolvers SECTION`): each record of the answer, a target and a port,
// is taken by one server of the template; the target's address comes
// from the answer's additional section, the record's weight becomes the
// server's ((weight+255)/256, as haproxy maps it). A server keeps its
// record while answers hold it (same target and port) and follows its
// address and weight; a record gone puts its server into maintenance
// ("entry removed from SRV record"); a new record goes to a free server,
// one that never had a record first.

// srvRemoved is haproxy's reason for a server whose record left.
const srvRemoved = "entry removed from SRV record"

// applySRV brings the servers of an SRV resolution to an answer's
// records (none: a failure past its hold).
func (s *nameResolution) applySRV(a dnsAnswer, ns int) {
	used := make([]bool, len(a.srv))
	var fresh, again []srvRef // free servers that never had a record, and the others
	for _, u := range s.users {
		st := u.be.servers[u.i].st
		st.mu.Lock()
		target, port, had := st.srvTarget, st.srvPort, st.hmaint
		st.mu.Unlock()
		switch {
		case target == "" && !had:
			fresh = append(fresh, u)
			continue
		case target == "":
			again = append(again, u)
			continue
		}
		k := -1
		for j, rec := range a.srv {
			if !used[j] && rec.target == target && rec.port == port {
				k = j
				break
			}
		}
		if k < 0 {
			st.mu.Lock()
			st.srvTarget, st.srvPort = "", 0
			st.mu.Unlock()
			s.down(u, srvRemoved)
			continue
		}
		used[k] = true
		s.srvAddress(u, a, a.srv[k], ns)
	}
	order := append(fresh, again...) // free servers that never had a record are given one first
	for j, rec := range a.srv {
		if used[j] || len(order) == 0 {
			continue
		}
		u := order[0]
		order = order[1:]
		sv := u.be.servers[u.i]
		sv.st.mu.Lock()
		sv.st.srvTarget, sv.st.srvPort, sv.st.hmaint = rec.target, rec.port, true
		sv.st.mu.Unlock()
		s.srvAddress(u, a, rec, ns) // haproxy says the FQDN change in its traffic log only
	}
}

// srvAddress gives a server with a record the target's address from the
// additional section (the preferred family first) and the record's
// weight; without an address there, the server stays as it is.
func (s *nameResolution) srvAddress(u srvRef, a dnsAnswer, rec srvRecord, ns int) {
	sv := u.be.servers[u.i]
	name := u.be.px.Name + "/" + sv.srv.Name
	s.setWeight(u, (rec.weight+255)/256)
	addrs := a.extra[rec.target]
	if len(addrs) == 0 {
		return
	}
	prefer4 := slices.Equal(sv.srv.Options["resolve-prefer"], []string{"ipv4"})
	ip := addrs[0]
	if k := slices.IndexFunc(addrs, func(x netip.Addr) bool { return x.Is4() == prefer4 }); k >= 0 {
		ip = addrs[k]
	}
	cur, curOK := hostIP(sv.address())
	_, curPort, _ := net.SplitHostPort(sv.address())
	port := strconv.Itoa(rec.port)
	if !curOK || cur != ip.Unmap() || curPort != port {
		from := "(none)"
		if curOK {
			from = cur.String()
		}
		addr := net.JoinHostPort(ip.Unmap().String(), port)
		sv.addrNow.Store(&addr)
		s.set.ctr[ns].update.Add(1)
		if !curOK || cur != ip.Unmap() {
			s.r.opts.Logf("%s changed its IP from %s to %s by DNS additional record.", name, from, ip.Unmap())
		}
	}
	if changed, _, _ := u.be.setResMaint(u.i, false); changed {
		s.r.opts.Logf("Server %s ('%s') is UP/READY (resolves again).", name, rec.target)
	}
}

// setWeight sets a server's weight now, as `set server weight` does,
// without a message (haproxy prints none for an SRV weight).
func (s *nameResolution) setWeight(u srvRef, w int) {
	u.be.mu.Lock()
	defer u.be.mu.Unlock()
	if u.be.servers[u.i].st.uweight != w {
		u.be.setWeight(u.i, w)
	}
}
