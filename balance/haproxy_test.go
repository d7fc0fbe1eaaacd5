package balance

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

// nameServers starts one loopback listener per name that answers every
// connection with its name; it returns their ports.
func nameServers(t *testing.T, names []string) []int {
	var ports []int
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		go func(name string) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintln(c, name)
				c.Close()
			}
		}(n)
	}
	return ports
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startHAProxy runs haproxy in the foreground on cfg; it is stopped by PID
// in cleanup.
func startHAProxy(t *testing.T, cfg string, port int) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	p := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(p, []byte(cfg), 0o644)
	cmd := exec.Command(bin, "-db", "-f", p)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("haproxy did not start listening")
}

// askFrom connects to port from source address src and returns the line
// the chosen server sent.
func askFrom(src netip.Addr, port int) (string, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestSourceHashMatchesHAProxy: for `balance source`, map-based and
// consistent, with unequal weights and with a server down, gohaka picks
// the server haproxy 2.6 picks for every client address tried.
func TestSourceHashMatchesHAProxy(t *testing.T) {
	names := []string{"s1", "s2", "s3", "s4", "s5"}
	weights := []int{1, 2, 3, 5, 10}
	cases := []struct {
		name, hashType string
		down           int // index of a disabled server, -1 for none
	}{
		{"map-based", "map-based", -1},
		{"map-based-one-down", "map-based", 2},
		{"consistent", "consistent", -1},
		{"consistent-one-down", "consistent", 1},
		{"consistent-sdbm", "consistent sdbm", -1},
		{"consistent-djb2-avalanche", "consistent djb2 avalanche", 3},
		{"map-based-avalanche", "map-based sdbm avalanche", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ports := nameServers(t, names)
			port := freePort(t)
			var sb strings.Builder
			fmt.Fprintf(&sb, "global\n    nbthread 1\n\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n")
			fmt.Fprintf(&sb, "listen l\n    bind 127.0.0.1:%d\n    balance source\n    hash-type %s\n", port, c.hashType)
			var srvs []Server
			for i, n := range names {
				dis := ""
				st := Up
				if i == c.down {
					dis, st = " disabled", Maint
				}
				fmt.Fprintf(&sb, "    server %s 127.0.0.1:%d weight %d%s\n", n, ports[i], weights[i], dis)
				srvs = append(srvs, Server{Name: n, Weight: weights[i], State: st})
			}
			startHAProxy(t, sb.String(), port)
			f := strings.Fields(c.hashType)
			spec := Spec{Algo: "source", Consistent: f[0] == "consistent",
				Avalanche: DefaultAvalanche(f[0] == "consistent", len(f) > 1, strings.Contains(c.hashType, "avalanche"))}
			b := New(spec, srvs, nil)
			agree, total := 0, 0
			for x := 0; x < 4; x++ {
				for y := 1; y <= 50; y++ {
					src := netip.AddrFrom4([4]byte{127, byte(x*37 + 1), byte(y * 5), byte(y*3 + x)})
					got, err := askFrom(src, port)
					if err != nil {
						t.Fatalf("from %s: %v", src, err)
					}
					total++
					want := b.srv[b.PickSource(src)].Name
					if got == want {
						agree++
					} else if total-agree <= 5 {
						t.Errorf("source %s: haproxy chose %s, gohaka %s", src, got, want)
					}
				}
			}
			t.Logf("%s: %d/%d clients land on the same server as with haproxy", c.name, agree, total)
		})
	}
}

// httpNameServers answers every HTTP request with the server's name.
func httpNameServers(t *testing.T, names []string) []int {
	var ports []int
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		go func(name string) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						l, err := r.ReadString('\n')
						if err != nil || l == "\r\n" {
							break
						}
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(name), name)
				}()
			}
		}(n)
	}
	return ports
}

func httpGet(port int, uri, host string) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", uri, host)
	r := bufio.NewReader(c)
	body := ""
	inBody := false
	for {
		l, err := r.ReadString('\n')
		if inBody {
			body += l
		}
		if l == "\r\n" {
			inBody = true
		}
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(body), nil
}

// TestURIAndHeaderHashMatchHAProxy: `balance uri` (with depth, len, whole)
// and `balance hdr(host)` with every hash function, map-based and
// consistent: same server as haproxy 2.6 for every request tried.
func TestURIAndHeaderHashMatchHAProxy(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	weights := []int{3, 1, 4, 2}
	cases := []struct{ balance, hashType string }{
		{"uri", "map-based"}, {"uri", "consistent"}, {"uri", "map-based djb2"},
		{"uri", "map-based wt6"}, {"uri", "map-based crc32"}, {"uri", "consistent wt6 avalanche"},
		{"uri depth 2", "map-based"}, {"uri len 6", "consistent sdbm"}, {"uri whole", "map-based"},
		{"hdr(host)", "map-based"}, {"hdr(host)", "consistent djb2"},
	}
	for _, c := range cases {
		t.Run(c.balance+"/"+c.hashType, func(t *testing.T) {
			ports := httpNameServers(t, names)
			port := freePort(t)
			var sb strings.Builder
			fmt.Fprintf(&sb, "global\n    nbthread 1\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n")
			fmt.Fprintf(&sb, "listen l\n    bind 127.0.0.1:%d\n    balance %s\n    hash-type %s\n", port, c.balance, c.hashType)
			var srvs []Server
			for i, n := range names {
				fmt.Fprintf(&sb, "    server %s 127.0.0.1:%d weight %d\n", n, ports[i], weights[i])
				srvs = append(srvs, Server{Name: n, Weight: weights[i]})
			}
			startHAProxy(t, sb.String(), port)
			f := strings.Fields(c.hashType)
			spec := Spec{Consistent: f[0] == "consistent",
				Avalanche: DefaultAvalanche(f[0] == "consistent", len(f) > 1, strings.Contains(c.hashType, "avalanche"))}
			if len(f) > 1 {
				spec.Hash = HashFuncByName(f[1])
			}
			bf := strings.Fields(c.balance)
			spec.Algo = bf[0]
			if bf[0] == "hdr(host)" {
				spec.Algo, spec.Param = "hdr", "host"
			}
			if len(bf) == 3 {
				n := 0
				fmt.Sscan(bf[2], &n)
				if bf[1] == "depth" {
					spec.URIDepth = n
				} else {
					spec.URILen = n
				}
			}
			spec.URIWhole = len(bf) == 2 && bf[1] == "whole"
			b := New(spec, srvs, nil)
			agree, total := 0, 0
			for i := 0; i < 60; i++ {
				uri := fmt.Sprintf("/app%d/dir%d/file%d.html?q=%d", i%7, i, i*13, i)
				host := fmt.Sprintf("www%d.example.com", i)
				got, err := httpGet(port, uri, host)
				if err != nil {
					t.Fatal(err)
				}
				hdr := func(string) (string, bool) { return host, true }
				want := b.srv[b.Pick(&Request{URI: uri, Header: hdr})].Name
				total++
				if got == want {
					agree++
				} else if total-agree <= 3 {
					t.Errorf("%s host %s: haproxy %s, gohaka %s", uri, host, got, want)
				}
			}
			t.Logf("%d/%d requests on the same server as haproxy", agree, total)
		})
	}
}
