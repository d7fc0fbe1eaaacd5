package vrrp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestSpeakerCountsDrops opens a real speaker socket on one end of a veth
// pair in a namespace the test makes, sends adverts into it from the other
// end (good ones and bad ones of every kind) and checks that each bad one
// is dropped and counted under its reason, and only the good ones reach
// the state machine.
func TestSpeakerCountsDrops(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	// the speaker's host and a peer host, joined by a veth pair
	ns := fmt.Sprintf("gohaka-vrrp-%d", os.Getpid())
	peer := ns + "-peer"
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"netns", "add", peer},
		{"-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", peer},
		{"-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0"},
		{"-n", peer, "addr", "add", "192.0.2.2/24", "dev", "eth1"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", peer, "link", "set", "eth1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
		if args[0] == "netns" {
			t.Cleanup(func() { exec.Command("ip", "netns", "del", args[2]).Run() })
		}
	}
	var sp *Speaker
	var tx int
	var err error
	done := make(chan struct{})
	go func() { // sockets made on a thread inside the namespace stay there
		defer close(done)
		runtime.LockOSThread()
		var h netns.NsHandle
		if h, err = netns.GetFromName(ns); err != nil {
			return
		}
		netns.Set(h)
		h.Close()
		sp, err = NewSpeaker(SpeakerConfig{Config: Config{Name: "VI_1", VRID: 51, Priority: 100, Interval: time.Second, Version: 2},
			Interface: "eth0", AuthType: AuthPass, AuthPass: "s3cret"})
		if err != nil {
			return
		}
		if h, err = netns.GetFromName(peer); err != nil {
			return
		}
		netns.Set(h)
		h.Close()
		if tx, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, Protocol); err != nil {
			return
		}
		unix.SetsockoptString(tx, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "eth1")
		unix.SetsockoptIPMreqn(tx, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: 0, Address: [4]byte{192, 0, 2, 2}})
	}()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tx)
	ctx, cancel := context.WithCancel(context.Background())
	rx := make(chan rxPacket, 16)
	go sp.receive(ctx, rx)
	defer func() { cancel(); time.Sleep(150 * time.Millisecond); sp.Close() }()

	src, grp := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("224.0.0.18")
	advert := func(mod func(a *Advert)) []byte {
		a := &Advert{Version: 2, VRID: 51, Priority: 150, Interval: time.Second, AuthType: AuthPass,
			AuthData: PassData("s3cret"), Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
		if mod != nil {
			mod(a)
		}
		return Encode(a, src, grp)
	}
	send := func(b []byte, ttl int) {
		unix.SetsockoptInt(tx, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl)
		if err := unix.Sendto(tx, b, 0, &unix.SockaddrInet4{Addr: grp.As4()}); err != nil {
			t.Fatal(err)
		}
	}
	badSum := advert(nil)
	badSum[6] ^= 0xff
	send(advert(nil), 255)
	send(advert(nil), 64)
	send(badSum, 255)
	send(advert(func(a *Advert) { a.AuthData = PassData("wrong") }), 255)
	send(advert(func(a *Advert) { a.Interval = 2 * time.Second }), 255)
	send(advert(nil)[:10], 255)
	send(advert(func(a *Advert) { a.VRID = 52 }), 255) // another router: ignored, not counted
	send(advert(nil), 255)

	var got int
	for deadline := time.After(3 * time.Second); got < 2; {
		select {
		case p := <-rx:
			if p.a.Priority != 150 || p.src != src {
				t.Errorf("delivered %+v from %v", p.a, p.src)
			}
			got++
		case <-deadline:
			t.Fatalf("%d good adverts delivered, want 2", got)
		}
	}
	time.Sleep(100 * time.Millisecond)
	st := sp.Stats()
	want := map[DropReason]int{DropTTL: 1, DropChecksum: 1, DropAuth: 1, DropInterval: 1, DropLength: 1}
	for r, n := range want {
		if st.Dropped[r] != n {
			t.Errorf("dropped for %s: %d, want %d (all: %v)", r, st.Dropped[r], n, st.Dropped)
		}
	}
	if st.AdvertsReceived != 2 {
		t.Errorf("received %d, want 2", st.AdvertsReceived)
	}
}
