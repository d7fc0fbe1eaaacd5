package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nameBackends starts listeners that answer each connection with a name.
func nameBackends(t *testing.T, n int) []int {
	var ports []int
	for i := 0; i < n; i++ {
		ln := listenLocal(t)
		name := fmt.Sprintf("s%d", i+1)
		ports = append(ports, port(ln.Addr()))
		go serveLine(ln, name)
	}
	return ports
}

func runHAProxy(t *testing.T, cfg string, fp int) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	p := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(p, []byte("global\n    nbthread 1\n"+cfg), 0o644)
	cmd := exec.Command(bin, "-db", "-f", p)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp)); err == nil {
			c.Close()
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatal("haproxy did not listen")
}

func nameFrom(src netip.Addr, fp int) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(l), err
}

// TestSameServerAsHAProxy sends 1,000 client addresses through real
// haproxy and through gohaka with the same config (balance source,
// weights 1,2,3, map-based and consistent, then with a server disabled):
// every client must reach the same server through both.
func TestSameServerAsHAProxy(t *testing.T) {
	cases := []struct{ name, hashType, s2 string }{
		{"map-based", "map-based", ""},
		{"consistent", "consistent", ""},
		{"map-based-s2-down", "map-based", " disabled"},
		{"consistent-s2-down", "consistent", " disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ports := nameBackends(t, 3)
			servers := fmt.Sprintf("    balance source\n    hash-type %s\n    server s1 127.0.0.1:%d weight 1\n    server s2 127.0.0.1:%d weight 2%s\n    server s3 127.0.0.1:%d weight 3\n",
				c.hashType, ports[0], ports[1], c.s2, ports[2])
			hp, gp := freePort(t), freePort(t)
			runHAProxy(t, tcpConfig(hp, servers, ""), hp)
			startRuntime(t, tcpConfig(gp, servers, ""))
			same := 0
			for i := 0; i < 1000; i++ {
				src := netip.AddrFrom4([4]byte{127, byte(1 + i/250), byte(i % 250), byte(1 + i%7)})
				want, err := nameFrom(src, hp)
				if err != nil {
					t.Fatalf("haproxy from %s: %v", src, err)
				}
				got, err := nameFrom(src, gp)
				if err != nil {
					t.Fatalf("gohaka from %s: %v", src, err)
				}
				if got == want {
					same++
				} else if i-same < 5 {
					t.Errorf("client %s: haproxy %s, gohaka %s", src, want, got)
				}
			}
			t.Logf("%s: %d/1000 clients reach the same server through gohaka and haproxy", c.name, same)
		})
	}
}

// TestRoundRobinCyclesAsHAProxy: with weights 1,2,3, every cycle of six
// connections gives each server the same count through gohaka as through
// haproxy, for roundrobin and static-rr.
func TestRoundRobinCyclesAsHAProxy(t *testing.T) {
	for _, algo := range []string{"roundrobin", "static-rr"} {
		t.Run(algo, func(t *testing.T) {
			ports := nameBackends(t, 3)
			servers := fmt.Sprintf("    balance %s\n    server s1 127.0.0.1:%d weight 1\n    server s2 127.0.0.1:%d weight 2\n    server s3 127.0.0.1:%d weight 3\n", algo, ports[0], ports[1], ports[2])
			hp, gp := freePort(t), freePort(t)
			runHAProxy(t, tcpConfig(hp, servers, ""), hp)
			startRuntime(t, tcpConfig(gp, servers, ""))
			for cycle := 0; cycle < 5; cycle++ {
				hc, gc := map[string]int{}, map[string]int{}
				for i := 0; i < 6; i++ {
					h, err1 := nameFrom(netip.Addr{}, hp)
					g, err2 := nameFrom(netip.Addr{}, gp)
					if err1 != nil || err2 != nil {
						t.Fatal(err1, err2)
					}
					hc[h]++
					gc[g]++
				}
				for _, name := range []string{"s1", "s2", "s3"} {
					if hc[name] != gc[name] {
						t.Errorf("cycle %d: %s got %d connections through haproxy, %d through gohaka", cycle, name, hc[name], gc[name])
					}
				}
			}
		})
	}
}

// TestLeastConnSpreadAsHAProxy: 30 long-lived connections over servers of
// weights 1,2,3 spread the same way through gohaka as through haproxy.
func TestLeastConnSpreadAsHAProxy(t *testing.T) {
	var ports []int
	for i := 0; i < 3; i++ {
		ln := listenLocal(t)
		name := fmt.Sprintf("s%d", i+1)
		ports = append(ports, port(ln.Addr()))
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintln(c, name) // then keep the connection open
				go func() { buf := make([]byte, 1); c.Read(buf); c.Close() }()
			}
		}()
	}
	servers := fmt.Sprintf("    balance leastconn\n    server s1 127.0.0.1:%d weight 1\n    server s2 127.0.0.1:%d weight 2\n    server s3 127.0.0.1:%d weight 3\n", ports[0], ports[1], ports[2])
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, tcpConfig(hp, servers, ""), hp)
	startRuntime(t, tcpConfig(gp, servers, ""))
	spread := func(fp int) map[string]int {
		m := map[string]int{}
		for i := 0; i < 30; i++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			l, _ := bufio.NewReader(c).ReadString('\n')
			m[strings.TrimSpace(l)]++
		}
		return m
	}
	h, g := spread(hp), spread(gp)
	t.Logf("haproxy %v, gohaka %v", h, g)
	for _, n := range []string{"s1", "s2", "s3"} {
		if h[n] != g[n] {
			t.Errorf("%s: %d connections through haproxy, %d through gohaka", n, h[n], g[n])
		}
	}
}

func netipZero() netip.Addr { return netip.Addr{} }
