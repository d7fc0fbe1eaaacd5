package vrrp

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// conn is a raw protocol-112 socket of one family, bound to the instance
// interface and joined to the VRRP group there.
type conn interface {
	// recv reads one packet into buf and returns the VRRP payload, the
	// addresses and the TTL or hop limit; payload is nil for a packet to
	// ignore.
	recv(buf []byte) (payload []byte, src, dst netip.Addr, ttl int, err error)
	send(b []byte, dst netip.Addr) error
	close()
}

// sockopts sets integer options in order and stops at the first error.
func sockopts(fd int, opts ...[3]int) error {
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			return fmt.Errorf("setsockopt %d/%d: %v", o[0], o[1], err)
		}
	}
	return nil
}

type conn4 struct{ fd int }

// openConn4 opens the IPv4 socket: TTL 255, TOS 0xc0 as keepalived sends,
// no loopback of our own multicast, membership of the group on ifi.
func openConn4(cfg SpeakerConfig, ifi *net.Interface) (conn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		return nil, fmt.Errorf("raw socket: %v", err)
	}
	err = sockopts(fd, [3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 255}, [3]int{unix.IPPROTO_IP, unix.IP_TTL, 255},
		[3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0}, [3]int{unix.IPPROTO_IP, unix.IP_TOS, 0xc0},
		[3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0})
	if err == nil {
		err = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, cfg.Interface)
	}
	mreq := &unix.IPMreqn{Multiaddr: cfg.Group.As4(), Ifindex: int32(ifi.Index)}
	if err == nil {
		err = unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq)
	}
	if err == nil {
		err = unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
	}
	if err == nil {
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("socket options: %v", err)
	}
	return &conn4{fd}, nil
}

func (c *conn4) recv(buf []byte) ([]byte, netip.Addr, netip.Addr, int, error) {
	n, _, err := unix.Recvfrom(c.fd, buf, 0)
	if err != nil || n < 20 {
		return nil, netip.Addr{}, netip.Addr{}, 0, err
	}
	ihl := int(buf[0]&0x0f) * 4
	if n < ihl {
		return nil, netip.Addr{}, netip.Addr{}, 0, nil
	}
	src := netip.AddrFrom4([4]byte(buf[12:16]))
	dst := netip.AddrFrom4([4]byte(buf[16:20]))
	return buf[ihl:n], src, dst, int(buf[8]), nil
}

func (c *conn4) send(b []byte, dst netip.Addr) error {
	return unix.Sendto(c.fd, b, 0, &unix.SockaddrInet4{Addr: dst.As4()})
}

func (c *conn4) close() { unix.Close(c.fd) }
