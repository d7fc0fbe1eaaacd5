package vrrp

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// unsolicitedNA sends, for each IPv6 VIP, neighbour advertisements to all
// nodes (ff02::1) with the Override flag and our link-layer address, so
// that neighbours update their caches at once (RFC 4861 7.2.6), repeated
// like the gratuitous ARPs.
func (s *Speaker) unsolicitedNA() {
	var vips []netip.Addr
	for _, v := range s.cfg.VIPs {
		if v.Prefix.Addr().Is6() {
			vips = append(vips, v.Prefix.Addr())
		}
	}
	if len(vips) == 0 {
		return
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		s.cfg.Logf("(%s) NA socket: %v", s.cfg.Name, err)
		return
	}
	defer unix.Close(fd)
	// neighbour discovery is only accepted with hop limit 255
	if err := sockopts(fd, [3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, s.ifi.Index}); err != nil {
		s.cfg.Logf("(%s) NA socket: %v", s.cfg.Name, err)
		return
	}
	all := &unix.SockaddrInet6{Addr: netip.MustParseAddr("ff02::1").As16(), ZoneId: uint32(s.ifi.Index)}
	for _, ip := range vips {
		// type 136, code 0, checksum (the kernel fills it), flags O, target,
		// option 2 (target link-layer address) of 8 bytes
		m := make([]byte, 24, 32)
		m[0] = 136
		m[4] = 0x20 // Override
		t := ip.As16()
		copy(m[8:24], t[:])
		if len(s.ifi.HardwareAddr) == 6 {
			m = append(m, 2, 1)
			m = append(m, s.ifi.HardwareAddr...)
		}
		for n := 0; n < s.cfg.GarpRepeat; n++ {
			if err := unix.Sendto(fd, m, 0, all); err != nil {
				s.cfg.Logf("(%s) NA for %s: %v", s.cfg.Name, ip, err)
				break
			}
		}
	}
}
