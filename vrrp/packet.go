package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// Auth types of VRRPv2 (keepalived still uses PASS and AH).
const (
	AuthNone = 0
	AuthPass = 1
	AuthAH   = 2
)

// Advert is one VRRP advertisement.
type Advert struct {
	Version  int // 2 or 3
	VRID     uint8
	Priority uint8
	// Interval is the advertisement interval: whole seconds in v2,
	// centiseconds in v3.
	Interval time.Duration
	AuthType uint8   // v2 only
	AuthData [8]byte // v2 only, PASS password padded with zeros
	Addrs    []netip.Addr
	Checksum uint16 // as received (Decode) or computed (Encode)
}

// DropReason says why a received packet was refused.
type DropReason string

// Reasons a packet is dropped, counted per reason.
const (
	DropShort    DropReason = "short"
	DropTTL      DropReason = "ttl"
	DropVersion  DropReason = "version"
	DropType     DropReason = "type"
	DropLength   DropReason = "length"
	DropChecksum DropReason = "checksum"
	DropAuth     DropReason = "auth"
	DropInterval DropReason = "interval"
	DropVRID     DropReason = "vrid"
	DropFamily   DropReason = "family"
)

// DecodeError carries the reason a packet was dropped.
type DecodeError struct{ Reason DropReason }

func (e *DecodeError) Error() string { return "vrrp: dropped: " + string(e.Reason) }

func drop(r DropReason) error { return &DecodeError{Reason: r} }

// Encode builds the VRRP message (without the IP header). For v3 the
// checksum covers the IPv4/IPv6 pseudo-header of src and dst, as
// keepalived computes it.
func Encode(a *Advert, src, dst netip.Addr) []byte {
	alen := 4
	if len(a.Addrs) > 0 && a.Addrs[0].Is6() {
		alen = 16
	}
	n := 8 + alen*len(a.Addrs)
	if a.Version == 2 {
		n += 8
	}
	b := make([]byte, n)
	b[0] = byte(a.Version)<<4 | 1
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = byte(len(a.Addrs))
	if a.Version == 2 {
		b[4] = a.AuthType
		b[5] = byte(a.Interval / time.Second)
	} else {
		cs := uint16(a.Interval / (10 * time.Millisecond))
		binary.BigEndian.PutUint16(b[4:], cs&0x0fff)
	}
	off := 8
	for _, ip := range a.Addrs {
		copy(b[off:], ip.AsSlice())
		off += alen
	}
	if a.Version == 2 {
		copy(b[off:], a.AuthData[:])
	}
	sum := checksum(b, a.Version, src, dst)
	binary.BigEndian.PutUint16(b[6:], sum)
	a.Checksum = sum
	return b
}

// Decode parses and validates a received VRRP message as keepalived does:
// hop limit 255, version, type, length against the address count,
// checksum. Authentication and interval are the instance's to check
// (CheckAuth, and the state machine).
func Decode(b []byte, src, dst netip.Addr, ttl int) (*Advert, error) {
	if len(b) < 8 {
		return nil, drop(DropShort)
	}
	if ttl != 255 {
		return nil, drop(DropTTL)
	}
	a := &Advert{Version: int(b[0] >> 4), VRID: b[1], Priority: b[2]}
	if a.Version != 2 && a.Version != 3 {
		return nil, drop(DropVersion)
	}
	if b[0]&0x0f != 1 {
		return nil, drop(DropType)
	}
	count := int(b[3])
	alen := 4
	if src.Is6() && !src.Is4In6() {
		alen = 16
	}
	want := 8 + alen*count
	if a.Version == 2 {
		want += 8
	}
	// Ethernet pads short frames: a few trailing bytes are tolerated
	if len(b) < want || len(b) > want+32 {
		return nil, drop(DropLength)
	}
	if checksum(b[:want], a.Version, src, dst) != 0 {
		return nil, drop(DropChecksum)
	}
	a.Checksum = binary.BigEndian.Uint16(b[6:])
	if a.Version == 2 {
		a.AuthType = b[4]
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[want-8:want])
	} else {
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * 10 * time.Millisecond
	}
	off := 8
	for i := 0; i < count; i++ {
		ip, _ := netip.AddrFromSlice(b[off : off+alen])
		a.Addrs = append(a.Addrs, ip)
		off += alen
	}
	return a, nil
}

// PassData pads a PASS password to the 8 bytes of the v2 auth field
// (longer passwords are cut, as keepalived does).
func PassData(pass string) [8]byte {
	var d [8]byte
	copy(d[:], pass)
	return d
}

// ErrAuth is returned by CheckAuth for a wrong auth type or password.
var ErrAuth = errors.New("vrrp: authentication mismatch")

// CheckAuth compares a v2 advert's authentication with the instance's.
func CheckAuth(a *Advert, authType uint8, data [8]byte) error {
	if a.Version != 2 {
		return nil
	}
	if a.AuthType != authType || authType == AuthPass && a.AuthData != data {
		return ErrAuth
	}
	return nil
}

// checksum is the Internet checksum over b (v2), or over the pseudo-header
// and b (v3). A correct packet sums to 0.
func checksum(b []byte, version int, src, dst netip.Addr) uint16 {
	var sum uint32
	add := func(p []byte) {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(p[i])<<8 | uint32(p[i+1])
		}
		if len(p)%2 == 1 {
			sum += uint32(p[len(p)-1]) << 8
		}
	}
	if version == 3 && src.IsValid() && dst.IsValid() {
		add(src.AsSlice())
		add(dst.AsSlice())
		if src.Is4() {
			add([]byte{0, Protocol, byte(len(b) >> 8), byte(len(b))})
		} else {
			add([]byte{0, 0, byte(len(b) >> 8), byte(len(b)), 0, 0, 0, Protocol})
		}
	}
	add(b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
