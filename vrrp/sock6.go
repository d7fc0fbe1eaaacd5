package vrrp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

type conn6 struct {
	fd    int
	ifidx int
	src   netip.Addr // the link-local source adverts must come from
	oob   []byte
}

// openConn6 opens the IPv6 socket as keepalived does: the kernel fills and
// checks the checksum (IPV6_CHECKSUM at offset 6), hop limit 255, the hop
// limit and destination of each packet delivered alongside it, membership
// of the group (ff02::12) on ifi.
func openConn6(cfg SpeakerConfig, ifi *net.Interface, src netip.Addr) (conn, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		return nil, fmt.Errorf("raw IPv6 socket: %v", err)
	}
	err = sockopts(fd, [3]int{unix.IPPROTO_IPV6, unix.IPV6_CHECKSUM, 6},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255}, [3]int{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0}, [3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1}, [3]int{unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0})
	if err == nil {
		err = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, cfg.Interface)
	}
	if err == nil {
		mreq := &unix.IPv6Mreq{Multiaddr: cfg.Group.As16(), Interface: uint32(ifi.Index)}
		err = unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq)
	}
	if err == nil {
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("IPv6 socket options: %v", err)
	}
	return &conn6{fd: fd, ifidx: ifi.Index, src: src, oob: make([]byte, 128)}, nil
}

// recv reads one packet; the kernel has already dropped those with a bad
// checksum. Hop limit and destination come from the control messages.
func (c *conn6) recv(buf []byte) ([]byte, netip.Addr, netip.Addr, int, error) {
	n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, c.oob, 0)
	if err != nil {
		return nil, netip.Addr{}, netip.Addr{}, 0, err
	}
	sa, ok := from.(*unix.SockaddrInet6)
	if !ok {
		return nil, netip.Addr{}, netip.Addr{}, 0, nil
	}
	src := netip.AddrFrom16(sa.Addr)
	var dst netip.Addr
	hops := -1
	msgs, _ := unix.ParseSocketControlMessage(c.oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level != unix.IPPROTO_IPV6 {
			continue
		}
		switch {
		case m.Header.Type == unix.IPV6_HOPLIMIT && len(m.Data) >= 4:
			hops = int(binary.NativeEndian.Uint32(m.Data))
		case m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			dst = netip.AddrFrom16([16]byte(m.Data[:16]))
		}
	}
	if !dst.IsValid() {
		return nil, netip.Addr{}, netip.Addr{}, 0, nil
	}
	return buf[:n], src, dst, hops, nil
}

// send sends from the instance's source address (an IPV6_PKTINFO
// control message; binding would filter what the socket receives).
func (c *conn6) send(b []byte, dst netip.Addr) error {
	sa := &unix.SockaddrInet6{Addr: dst.As16()}
	if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
		sa.ZoneId = uint32(c.ifidx)
	}
	var oob []byte
	if c.src.IsValid() {
		oob = make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
		pi.Addr = c.src.As16()
		pi.Ifindex = uint32(c.ifidx)
	}
	return unix.Sendmsg(c.fd, b, oob, sa, 0)
}

func (c *conn6) close() { unix.Close(c.fd) }
