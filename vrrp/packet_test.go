package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

var (
	src4 = netip.MustParseAddr("192.0.2.11")
	grp4 = netip.MustParseAddr("224.0.0.18")
)

// TestV2ChecksumVector: keepalived's checksum for vrid 51, priority 150,
// PASS "s3cret", VIP 192.0.2.100 is 0x494b (reference §3).
func TestV2ChecksumVector(t *testing.T) {
	a := &Advert{Version: 2, VRID: 51, Priority: 150, Interval: time.Second, AuthType: AuthPass,
		AuthData: PassData("s3cret"), Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b := Encode(a, src4, grp4)
	if a.Checksum != 0x494b {
		t.Errorf("checksum %#04x, want 0x494b", a.Checksum)
	}
	if len(b) != 20 {
		t.Errorf("length %d", len(b))
	}
	got, err := Decode(b, src4, grp4, 255)
	if err != nil || got.VRID != 51 || got.Priority != 150 || got.Interval != time.Second || got.Addrs[0] != a.Addrs[0] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if CheckAuth(got, AuthPass, PassData("s3cret")) != nil || CheckAuth(got, AuthPass, PassData("other")) == nil {
		t.Errorf("auth check")
	}
}

func TestV3RoundTripIPv4AndIPv6(t *testing.T) {
	a := &Advert{Version: 3, VRID: 7, Priority: 100, Interval: 100 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	b := Encode(a, src4, grp4)
	got, err := Decode(b, src4, grp4, 255)
	if err != nil || got.Interval != 100*time.Millisecond || len(got.Addrs) != 2 {
		t.Fatalf("v3 v4: %+v %v", got, err)
	}
	if _, err := Decode(b, netip.MustParseAddr("192.0.2.12"), grp4, 255); !isReason(err, DropChecksum) {
		t.Errorf("v3 checksum must cover the pseudo-header: %v", err)
	}
	s6, g6 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::12")
	a6 := &Advert{Version: 3, VRID: 60, Priority: 120, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::100")}}
	b6 := Encode(a6, s6, g6)
	got6, err := Decode(b6, s6, g6, 255)
	if err != nil || got6.Addrs[0] != a6.Addrs[0] || len(b6) != 24 {
		t.Fatalf("v3 v6: %+v %v (len %d)", got6, err, len(b6))
	}
}

func isReason(err error, r DropReason) bool {
	var de *DecodeError
	return errors.As(err, &de) && de.Reason == r
}

func TestDecodeDrops(t *testing.T) {
	good := Encode(&Advert{Version: 2, VRID: 1, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, src4, grp4)
	cases := []struct {
		name string
		b    []byte
		ttl  int
		want DropReason
	}{
		{"ttl", good, 64, DropTTL},
		{"short", good[:5], 255, DropShort},
		{"version", append([]byte{0x41}, good[1:]...), 255, DropVersion},
		{"type", append([]byte{0x22}, good[1:]...), 255, DropType},
		{"length", good[:len(good)-4], 255, DropLength},
		{"checksum", append(append([]byte{}, good[:8]...), 192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0), 255, DropChecksum},
	}
	for _, c := range cases {
		if _, err := Decode(c.b, src4, grp4, c.ttl); !isReason(err, c.want) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&Advert{Version: 2, VRID: 51, Priority: 150, Interval: time.Second, AuthType: AuthPass, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}, src4, grp4), true)
	f.Add(Encode(&Advert{Version: 3, VRID: 1, Priority: 1, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::12")), false)
	f.Fuzz(func(t *testing.T, b []byte, v4 bool) {
		s, d := src4, grp4
		if !v4 {
			s, d = netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::12")
		}
		a, err := Decode(b, s, d, 255)
		if err == nil && (a.Version < 2 || a.Version > 3) {
			t.Fatal("accepted a bad version")
		}
	})
}
