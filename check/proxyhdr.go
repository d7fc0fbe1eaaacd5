package check

import (
	"net"
	"strconv"
)

// proxyV2Sig is the 12-byte PROXY protocol v2 signature.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ProxyHeader returns the PROXY protocol header haproxy puts before a health
// check: v1 names the check connection's own endpoints ("PROXY TCP4 <local>
// <server> <lport> <sport>"), v2 is a LOCAL command without addresses.
func ProxyHeader(version int, local, remote net.Addr) []byte {
	if version == 2 {
		return append(append([]byte(nil), proxyV2Sig...), 0x20, 0x00, 0x00, 0x00)
	}
	l, ok1 := local.(*net.TCPAddr)
	r, ok2 := remote.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return []byte("PROXY UNKNOWN\r\n")
	}
	fam := "TCP4"
	lip, rip := l.IP, r.IP
	if l4, r4 := lip.To4(), rip.To4(); l4 != nil && r4 != nil {
		lip, rip = l4, r4
	} else {
		fam = "TCP6"
	}
	return []byte("PROXY " + fam + " " + lip.String() + " " + rip.String() + " " +
		strconv.Itoa(l.Port) + " " + strconv.Itoa(r.Port) + "\r\n")
}
