package vrrp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIP is an address the speaker adds while master.
type VIP struct {
	Prefix netip.Prefix
	Dev    string // "" = the instance interface
	Label  string
	Scope  int        // netlink scope (0 = global)
	Brd    netip.Addr // broadcast address, IPv4
	// NoPrefixRoute adds no route for the prefix (noprefixroute).
	NoPrefixRoute bool
	// Excluded (virtual_ipaddress_excluded) is added and removed with the
	// others but not listed in adverts; it may be of either family.
	Excluded bool
}

// Route is a virtual_routes entry, present while master.
type Route struct {
	Dst    netip.Prefix
	Gw     netip.Addr
	Src    netip.Addr
	Dev    string // "" = the instance interface
	Table  int
	Metric int
}

// SpeakerConfig is one instance with its I/O settings.
type SpeakerConfig struct {
	Config
	Interface    string
	Group        netip.Addr   // multicast group (224.0.0.18 when unset)
	UnicastSrc   netip.Addr   // unicast_src_ip
	UnicastPeers []netip.Addr // unicast_peer: adverts go to these
	VIPs         []VIP
	Routes       []Route
	AuthType     uint8
	AuthPass     string
	GarpRepeat   int
	GarpDelay    time.Duration
	GarpRefresh  time.Duration // garp_master_refresh: announce again this often while master
	// Logf receives state changes in keepalived's words.
	Logf func(format string, args ...any)
	// OnState is called after each transition (notify scripts, sync
	// groups); synced says the sync group caused it.
	OnState func(name string, s State, prio int, synced bool)
}

// Speaker runs one VRRP instance over a raw IPv4 socket (protocol 112).
type Speaker struct {
	cfg     SpeakerConfig
	tracked chan tracked
	syncs   chan State
	inst    *Instance
	conn    conn
	v6      bool
	ifi     *net.Interface
	src     netip.Addr
	auth    [8]byte
	statsMu sync.Mutex
	stats   Counters
	entered bool // a state has been logged: keepalived marks the first "(init)"
}

// tracked is the latest effective priority and fault from the trackers.
type tracked struct {
	prio  int
	fault bool
}

// SetTracked passes the trackers' verdict (effective priority, FAULT) to
// the running speaker; only the latest one matters.
func (s *Speaker) SetTracked(prio int, fault bool) {
	for {
		select {
		case s.tracked <- tracked{prio, fault}:
			return
		default:
			select {
			case <-s.tracked: // drop the stale one
			default:
			}
		}
	}
}

// Sync pulls the instance to the state its sync group entered; it never
// blocks the caller (another member's speaker).
func (s *Speaker) Sync(st State) {
	select {
	case s.syncs <- st:
	default:
		s.cfg.Logf("(%s) sync queue full, dropping %s", s.cfg.Name, st)
	}
}

// Counters are what the speaker saw and did.
type Counters struct {
	AdvertsSent, AdvertsReceived, Transitions int
	Dropped                                   map[DropReason]int
	// State and Priority are the instance's current state and effective
	// priority, as last changed.
	State    State
	Priority int
}

// count updates the counters under their lock.
func (s *Speaker) count(f func(c *Counters)) {
	s.statsMu.Lock()
	f(&s.stats)
	s.statsMu.Unlock()
}

// Stats returns a copy of the counters; safe while the speaker runs.
func (s *Speaker) Stats() Counters {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	c := s.stats
	c.Dropped = map[DropReason]int{}
	for k, v := range s.stats.Dropped {
		c.Dropped[k] = v
	}
	return c
}

// NewSpeaker opens the socket on the instance interface and joins the
// VRRP multicast group there.
func NewSpeaker(cfg SpeakerConfig) (*Speaker, error) {
	if !cfg.Group.IsValid() {
		cfg.Group = netip.MustParseAddr("224.0.0.18")
	}
	var err error
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.GarpRepeat == 0 {
		cfg.GarpRepeat = 5
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("(%s) interface %s: %v", cfg.Name, cfg.Interface, err)
	}
	s := &Speaker{cfg: cfg, ifi: ifi, auth: PassData(cfg.AuthPass), tracked: make(chan tracked, 1), syncs: make(chan State, 4), stats: Counters{Dropped: map[DropReason]int{}}}
	s.v6 = len(cfg.VIPs) > 0 && cfg.VIPs[0].Prefix.Addr().Is6()
	if s.v6 {
		if !cfg.Group.Is6() {
			s.cfg.Group = netip.MustParseAddr("ff02::12")
		}
		s.cfg.Config.Version = 3 // VRRP over IPv6 is v3 only
	}
	s.src = cfg.UnicastSrc
	if !s.src.IsValid() {
		// IPv4: the interface's first address; IPv6: its link-local one
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() != s.v6 && (!s.v6 || p.Addr().IsLinkLocalUnicast()) {
				s.src = p.Addr()
				break
			}
		}
	}
	if !cfg.Config.Primary.IsValid() {
		s.cfg.Config.Primary = s.src
	}
	if s.v6 {
		s.conn, err = openConn6(s.cfg, ifi, s.src)
	} else {
		s.conn, err = openConn4(s.cfg, ifi)
	}
	if err != nil {
		return nil, fmt.Errorf("(%s) %v", cfg.Name, err)
	}
	s.inst = NewInstance(s.cfg.Config)
	s.stats.Priority = s.cfg.Priority
	return s, nil
}

// Name, Interface and VRID identify the speaker's instance.
func (s *Speaker) Name() string { return s.cfg.Name }

// Interface is the instance's interface.
func (s *Speaker) Interface() string { return s.cfg.Interface }

// VRID is the instance's virtual router id.
func (s *Speaker) VRID() uint8 { return s.cfg.VRID }

// Close releases the socket of a speaker that will not Run.
func (s *Speaker) Close() { s.conn.close() }

// Instance exposes the state machine (state, priority).
func (s *Speaker) Instance() *Instance { return s.inst }

type rxPacket struct {
	a   *Advert
	src netip.Addr
}

// Run speaks VRRP until ctx ends, then shuts the instance down (priority 0
// advert, VIPs removed) and closes the socket.
func (s *Speaker) Run(ctx context.Context) error {
	defer s.conn.close()
	s.removeStaleVIPs()
	rx := make(chan rxPacket, 16)
	go s.receive(ctx, rx)
	select { // trackers' first verdict: a fault starts the instance in FAULT
	case u := <-s.tracked:
		s.inst.SetPriority(u.prio)
		s.inst.SetFault(u.fault, time.Now())
	default:
	}
	if s.inst.State() == Init {
		s.inst.Start(time.Now())
	}
	s.apply()
	var refresh <-chan time.Time
	if s.cfg.GarpRefresh > 0 {
		tk := time.NewTicker(s.cfg.GarpRefresh)
		defer tk.Stop()
		refresh = tk.C
	}
	for {
		wait := time.Until(s.inst.Deadline())
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.inst.Shutdown(time.Now())
			s.apply()
			return nil
		case p := <-rx:
			t.Stop()
			s.inst.Step(p.a, p.src, time.Now())
		case u := <-s.tracked:
			t.Stop()
			if u.prio != s.inst.Priority() {
				s.cfg.Logf("(%s) Changing effective priority from %d to %d", s.cfg.Name, s.inst.Priority(), u.prio)
			}
			s.inst.SetPriority(u.prio)
			s.count(func(c *Counters) { c.Priority = u.prio })
			s.inst.SetFault(u.fault, time.Now())
		case <-refresh:
			t.Stop()
			if s.inst.State() == Master {
				s.announce()
			}
		case st := <-s.syncs:
			t.Stop()
			s.inst.Sync(st, time.Now())
		case <-t.C:
		}
		s.inst.Tick(time.Now())
		s.apply()
	}
}

// receive reads adverts for this VRID and validates them.
func (s *Speaker) receive(ctx context.Context, rx chan<- rxPacket) {
	buf := make([]byte, 2048)
	for ctx.Err() == nil {
		payload, src, dst, ttl, err := s.conn.recv(buf)
		if err != nil || payload == nil || src == s.src {
			continue
		}
		if !dst.IsMulticast() {
			ttl = 255 // unicast adverts: keepalived checks no TTL
		}
		a, err := Decode(payload, src, dst, ttl)
		if err != nil {
			if de, ok := err.(*DecodeError); ok {
				s.count(func(c *Counters) { c.Dropped[de.Reason]++ })
			}
			continue
		}
		if a.VRID != s.cfg.VRID {
			continue
		}
		if a.Version != s.cfg.Version {
			s.count(func(c *Counters) { c.Dropped[DropVersion]++ })
			continue
		}
		if CheckAuth(a, s.cfg.AuthType, s.auth) != nil {
			s.count(func(c *Counters) { c.Dropped[DropAuth]++ })
			s.cfg.Logf("(%s) received an invalid passwd!", s.cfg.Name)
			continue
		}
		if a.Version == 2 && a.Interval != s.cfg.Interval {
			s.count(func(c *Counters) { c.Dropped[DropInterval]++ })
			continue
		}
		s.count(func(c *Counters) { c.AdvertsReceived++ })
		select {
		case rx <- rxPacket{a: a, src: src}:
		case <-ctx.Done():
			return
		}
	}
}

// apply carries out the state machine's actions in order.
func (s *Speaker) apply() {
	for _, a := range s.inst.Ready() {
		switch a.Kind {
		case SendAdvert:
			s.send(a.Priority)
		case AddVIPs:
			s.vips(true)
			s.routes(true)
		case DelVIPs:
			s.routes(false)
			s.vips(false)
		case SendGARP:
			s.announce()
			if s.cfg.GarpDelay > 0 {
				time.AfterFunc(s.cfg.GarpDelay, func() {
					if s.inst.State() == Master {
						s.announce()
					}
				})
			}
		case Notify:
			s.count(func(c *Counters) { c.Transitions++; c.State = a.State })
			switch {
			case a.State == Init: // keepalived says nothing when an instance stops
			case !s.entered && a.State == Backup:
				s.cfg.Logf("(%s) Entering BACKUP STATE (init)", s.cfg.Name)
			default:
				s.cfg.Logf("(%s) Entering %s STATE", s.cfg.Name, a.State)
			}
			s.entered = true
			if s.cfg.OnState != nil {
				s.cfg.OnState(s.cfg.Name, a.State, s.inst.Priority(), a.Synced)
			}
		}
	}
}

func (s *Speaker) send(prio uint8) {
	var addrs []netip.Addr
	for _, v := range s.cfg.VIPs {
		if v.Prefix.Addr().Is6() == s.v6 && !v.Excluded {
			addrs = append(addrs, v.Prefix.Addr())
		}
	}
	dsts := s.cfg.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{s.cfg.Group}
	}
	for _, dst := range dsts {
		a := &Advert{Version: s.cfg.Version, VRID: s.cfg.VRID, Priority: prio, Interval: s.cfg.Interval,
			AuthType: s.cfg.AuthType, AuthData: s.auth, Addrs: addrs}
		if a.Version == 3 {
			a.AuthType, a.AuthData = 0, [8]byte{}
		}
		b := Encode(a, s.src, dst)
		if err := s.conn.send(b, dst); err != nil {
			s.cfg.Logf("(%s) send advert: %v", s.cfg.Name, err)
			continue
		}
		s.count(func(c *Counters) { c.AdvertsSent++ })
	}
}

// vips adds or removes the instance's addresses with netlink.
func (s *Speaker) vips(add bool) {
	for _, v := range s.cfg.VIPs {
		dev := v.Dev
		if dev == "" {
			dev = s.cfg.Interface
		}
		link, err := netlink.LinkByName(dev)
		if err != nil {
			s.cfg.Logf("(%s) VIP %s: %v", s.cfg.Name, v.Prefix, err)
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: v.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())}, Label: v.Label}
		addr.Scope = v.Scope
		if v.Brd.IsValid() {
			addr.Broadcast = v.Brd.AsSlice()
		}
		if v.NoPrefixRoute {
			addr.Flags |= unix.IFA_F_NOPREFIXROUTE
		}
		if v.Prefix.Addr().Is6() {
			addr.Label = ""                // labels are IPv4 only
			addr.Flags |= unix.IFA_F_NODAD // usable at once, as keepalived adds them
		}
		if add {
			err = netlink.AddrReplace(link, addr)
		} else {
			err = netlink.AddrDel(link, addr)
		}
		if err != nil && !(add == false && err == unix.EADDRNOTAVAIL) {
			s.cfg.Logf("(%s) VIP %s: %v", s.cfg.Name, v.Prefix, err)
		}
	}
}

// routes adds or removes the virtual_routes (after the VIPs they may use
// as source or gateway are in place, before those are removed).
func (s *Speaker) routes(add bool) {
	for _, r := range s.cfg.Routes {
		dev := r.Dev
		if dev == "" {
			dev = s.cfg.Interface
		}
		link, err := netlink.LinkByName(dev)
		if err != nil {
			s.cfg.Logf("(%s) route %s: %v", s.cfg.Name, r.Dst, err)
			continue
		}
		nr := &netlink.Route{LinkIndex: link.Attrs().Index, Table: r.Table, Priority: r.Metric,
			Dst: &net.IPNet{IP: r.Dst.Addr().AsSlice(), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())}}
		if r.Gw.IsValid() {
			nr.Gw = r.Gw.AsSlice()
		}
		if r.Src.IsValid() {
			nr.Src = r.Src.AsSlice()
		}
		if add {
			err = netlink.RouteReplace(nr)
		} else {
			err = netlink.RouteDel(nr)
		}
		if err != nil && (add || err != unix.ESRCH) {
			s.cfg.Logf("(%s) route %s: %v", s.cfg.Name, r.Dst, err)
		}
	}
}

// removeStaleVIPs deletes VIPs a previous run may have left behind.
func (s *Speaker) removeStaleVIPs() { s.vips(false) }

// announce tells the segment where the VIPs now are: gratuitous ARP for
// IPv4 VIPs, unsolicited neighbour advertisements for IPv6 ones.
func (s *Speaker) announce() {
	s.garp()
	s.unsolicitedNA()
}

// garp sends gratuitous ARP requests for each IPv4 VIP: broadcast, sender
// and target the VIP, target MAC ff:ff:ff:ff:ff:ff, as keepalived does.
func (s *Speaker) garp() {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		s.cfg.Logf("(%s) GARP socket: %v", s.cfg.Name, err)
		return
	}
	defer unix.Close(fd)
	bcast := [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, v := range s.cfg.VIPs {
		if !v.Prefix.Addr().Is4() {
			continue
		}
		ip := v.Prefix.Addr().As4()
		f := make([]byte, 42)
		copy(f[0:6], bcast[:6])
		copy(f[6:12], s.ifi.HardwareAddr)
		binary.BigEndian.PutUint16(f[12:], unix.ETH_P_ARP)
		binary.BigEndian.PutUint16(f[14:], 1)      // ethernet
		binary.BigEndian.PutUint16(f[16:], 0x0800) // IPv4
		f[18], f[19] = 6, 4
		binary.BigEndian.PutUint16(f[20:], 1) // request
		copy(f[22:28], s.ifi.HardwareAddr)
		copy(f[28:32], ip[:])
		copy(f[32:38], bcast[:6])
		copy(f[38:42], ip[:])
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: s.ifi.Index, Halen: 6, Addr: bcast}
		for n := 0; n < s.cfg.GarpRepeat; n++ {
			unix.Sendto(fd, f, 0, sa)
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
