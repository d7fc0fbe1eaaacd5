package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// proxyV2Sig is the PROXY protocol v2 signature.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// proxyHeader builds the PROXY protocol header (v1 text or v2 binary) that
// send-proxy / send-proxy-v2 put before the client's bytes.
func proxyHeader(v2 bool, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if !v2 {
		switch {
		case s.Is4() && d.Is4():
			return fmt.Appendf(nil, "PROXY TCP4 %s %s %d %d\r\n", s, d, src.Port(), dst.Port())
		case s.Is6() && d.Is6():
			return fmt.Appendf(nil, "PROXY TCP6 %s %s %d %d\r\n", s, d, src.Port(), dst.Port())
		}
		return []byte("PROXY UNKNOWN\r\n")
	}
	var b bytes.Buffer
	b.Write(proxyV2Sig)
	switch {
	case s.Is4() && d.Is4():
		b.Write([]byte{0x21, 0x11, 0, 12})
		b.Write(s.AsSlice())
		b.Write(d.AsSlice())
	case s.Is6() && d.Is6():
		b.Write([]byte{0x21, 0x21, 0, 36})
		b.Write(s.AsSlice())
		b.Write(d.AsSlice())
	default:
		b.Write([]byte{0x20, 0x00, 0, 0})
		return b.Bytes()
	}
	binary.Write(&b, binary.BigEndian, src.Port())
	binary.Write(&b, binary.BigEndian, dst.Port())
	return b.Bytes()
}

// ppInfo is what a PROXY header told: the addresses (invalid: none) and,
// from a v2 header's TLVs, the authority and the unique id.
type ppInfo struct {
	src, dst            netip.AddrPort
	authority, uniqueID []byte
}

// readProxyInfo reads a PROXY v1 or v2 header from a new connection
// (accept-proxy) without reading past it.
func readProxyInfo(c net.Conn, timeout time.Duration) (pp ppInfo, err error) {
	pp.src, pp.dst, err = readProxyAddrs(c, timeout, &pp)
	return pp, err
}

// ppTLVs reads the TLVs after a v2 header's address block of the family.
func ppTLVs(body []byte, family byte, pp *ppInfo) {
	skip := map[byte]int{1: 12, 2: 36, 3: 216}[family]
	if skip > len(body) {
		return
	}
	for rest := body[skip:]; len(rest) >= 3; {
		t, l := rest[0], int(binary.BigEndian.Uint16(rest[1:3]))
		if 3+l > len(rest) {
			return
		}
		switch v := rest[3 : 3+l]; t {
		case 0x02: // PP2_TYPE_AUTHORITY
			pp.authority = append([]byte(nil), v...)
		case 0x05: // PP2_TYPE_UNIQUE_ID
			pp.uniqueID = append([]byte(nil), v...)
		}
		rest = rest[3+l:]
	}
}

// readProxyAddrs is readProxyInfo's reading; pp gets the v2 TLVs.
func readProxyAddrs(c net.Conn, timeout time.Duration, pp *ppInfo) (src, dst netip.AddrPort, err error) {
	if timeout > 0 {
		c.SetReadDeadline(time.Now().Add(timeout))
		defer c.SetReadDeadline(time.Time{})
	}
	first := make([]byte, 16)
	if _, err = io.ReadFull(c, first[:5]); err != nil {
		return
	}
	if string(first[:5]) == "PROXY" {
		line := []byte("PROXY")
		one := make([]byte, 1)
		for len(line) < 108 {
			if _, err = c.Read(one); err != nil {
				return
			}
			line = append(line, one[0])
			if one[0] == '\n' {
				break
			}
		}
		f := strings.Fields(strings.TrimSpace(string(line)))
		if len(f) >= 2 && f[1] == "UNKNOWN" {
			return
		}
		if len(f) != 6 {
			return src, dst, errors.New("malformed PROXY v1 line")
		}
		sa, e1 := netip.ParseAddr(f[2])
		da, e2 := netip.ParseAddr(f[3])
		sp, e3 := strconv.Atoi(f[4])
		dp, e4 := strconv.Atoi(f[5])
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil || sp > 65535 || dp > 65535 {
			return src, dst, errors.New("malformed PROXY v1 addresses")
		}
		return netip.AddrPortFrom(sa, uint16(sp)), netip.AddrPortFrom(da, uint16(dp)), nil
	}
	if _, err = io.ReadFull(c, first[5:16]); err != nil {
		return
	}
	if !bytes.Equal(first[:12], proxyV2Sig) || first[12]>>4 != 2 {
		return src, dst, errors.New("not a PROXY header")
	}
	n := int(binary.BigEndian.Uint16(first[14:16]))
	body := make([]byte, n)
	if _, err = io.ReadFull(c, body); err != nil {
		return
	}
	ppTLVs(body, first[13]>>4, pp)
	if first[12]&0x0f == 0 { // LOCAL
		return
	}
	switch first[13] >> 4 {
	case 1:
		if n < 12 {
			return src, dst, errors.New("short PROXY v2 IPv4 block")
		}
		s := netip.AddrFrom4([4]byte(body[0:4]))
		d := netip.AddrFrom4([4]byte(body[4:8]))
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[8:])), netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[10:])), nil
	case 2:
		if n < 36 {
			return src, dst, errors.New("short PROXY v2 IPv6 block")
		}
		s := netip.AddrFrom16([16]byte(body[0:16]))
		d := netip.AddrFrom16([16]byte(body[16:32]))
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[32:])), netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[34:])), nil
	}
	return
}
