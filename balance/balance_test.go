package balance

import (
	"net/netip"
	"testing"
)

func TestHashVectors(t *testing.T) {
	if HashDJB2(nil) != 5381 || HashSDBM(nil) != 0 {
		t.Errorf("empty-input values wrong")
	}
	if HashCRC32([]byte("123456789")) != 0xcbf43926 {
		t.Errorf("crc32 check value")
	}
	if HashDJB2([]byte("a")) != 5381*33+'a' {
		t.Errorf("djb2 one byte")
	}
	if HashSDBM([]byte("a")) != 'a' {
		t.Errorf("sdbm one byte")
	}
	if HashNone([]byte{1, 2, 3, 4, 5}) != 0x01020304 {
		t.Errorf("none")
	}
	if HashWT6([]byte("x")) == HashWT6([]byte("y")) || Avalanche(1) == Avalanche(2) {
		t.Errorf("hashes do not separate inputs")
	}
}

func servers(ws ...int) []Server {
	var s []Server
	for i, w := range ws {
		s = append(s, Server{Name: string(rune('a' + i)), Weight: w})
	}
	return s
}

func count(b *Balancer, n int, pick func() int) map[int]int {
	m := map[int]int{}
	for i := 0; i < n; i++ {
		m[pick()]++
	}
	return m
}

func TestRoundRobinWeights(t *testing.T) {
	b := New(Spec{Algo: "roundrobin"}, servers(1, 2, 3), nil)
	m := count(b, 600, b.PickRR)
	if m[0] != 100 || m[1] != 200 || m[2] != 300 {
		t.Errorf("rr proportions %v", m)
	}
	b.SetWeight(0, 0)
	if m := count(b, 50, b.PickRR); m[0] != 0 {
		t.Errorf("weight 0 server picked: %v", m)
	}
	b.SetState(1, Drain)
	if m := count(b, 50, b.PickRR); m[1] != 0 || m[2] != 50 {
		t.Errorf("draining server picked: %v", m)
	}
}

func TestStaticRRFollowsMap(t *testing.T) {
	b := New(Spec{Algo: "static-rr"}, servers(1, 1), nil)
	got := []int{b.PickStaticRR(), b.PickStaticRR(), b.PickStaticRR(), b.PickStaticRR()}
	if got[0] == got[1] || got[0] != got[2] {
		t.Errorf("static-rr does not alternate: %v", got)
	}
}

func TestBackups(t *testing.T) {
	s := servers(1, 1, 1, 1)
	s[2].Backup, s[3].Backup = true, true
	s[0].State, s[1].State = Down, Maint
	b := New(Spec{Algo: "roundrobin"}, s, nil)
	if m := count(b, 10, b.PickRR); m[2] != 10 {
		t.Errorf("only the first backup serves without allbackups: %v", m)
	}
	b = New(Spec{Algo: "roundrobin", AllBackups: true}, s, nil)
	if m := count(b, 10, b.PickRR); m[2] != 5 || m[3] != 5 {
		t.Errorf("allbackups: %v", m)
	}
	s[2].State, s[3].State = Down, Down
	b = New(Spec{Algo: "roundrobin"}, s, nil)
	if b.Pick(&Request{}) != -1 {
		t.Errorf("no usable server must give -1")
	}
	s[0].State = Up
	b = New(Spec{Algo: "roundrobin"}, s, nil)
	if m := count(b, 10, b.PickRR); m[0] != 10 {
		t.Errorf("backups serve while an active server is up: %v", m)
	}
}

func TestLeastConnAndFirst(t *testing.T) {
	b := New(Spec{Algo: "leastconn"}, servers(1, 1, 1), nil)
	b.Acquire(0)
	b.Acquire(0)
	b.Acquire(1)
	if got := b.PickLeastConn(); got != 2 {
		t.Errorf("leastconn picked %d", got)
	}
	b.Acquire(2)
	seen := map[int]bool{}
	b.Release(0)
	b.Release(0)
	for i := 0; i < 3; i++ {
		seen[b.PickLeastConn()] = true
	}
	if !seen[0] || len(seen) != 1 {
		t.Errorf("least loaded server must win: %v", seen)
	}
	s := servers(1, 1)
	s[0].Maxconn = 2
	f := New(Spec{Algo: "first"}, s, nil)
	f.Acquire(f.PickFirst())
	f.Acquire(f.PickFirst())
	if f.PickFirst() != 1 {
		t.Errorf("first must move on when server 1 is full")
	}
}

func TestURIKeyOptions(t *testing.T) {
	cases := []struct {
		spec Spec
		uri  string
		want string
	}{
		{Spec{}, "/a/b/c?x=1", "/a/b/c"},
		{Spec{URIWhole: true}, "/a/b/c?x=1", "/a/b/c?x=1"},
		{Spec{URIDepth: 2}, "/a/b/c/d", "/a/b"},
		{Spec{URILen: 4}, "/abcdef", "/abc"},
		{Spec{URIPathOnly: true}, "http://h.example/p/q?z", "/p/q"},
	}
	for _, c := range cases {
		b := New(c.spec, servers(1), nil)
		if got := b.uriKey(c.uri); got != c.want {
			t.Errorf("%+v %q: %q, want %q", c.spec, c.uri, got, c.want)
		}
	}
	if v, ok := urlParam("/p?a=1&user=bob&c", "user"); !ok || v != "bob" {
		t.Errorf("url_param: %q %v", v, ok)
	}
	if domainOnly("www.example.com:8080") != "example" {
		t.Errorf("use_domain_only")
	}
}

func TestFallbackAndConsistentStability(t *testing.T) {
	b := New(Spec{Algo: "url_param", Param: "id"}, servers(1, 1, 1), nil)
	if b.Pick(&Request{URI: "/x"}) < 0 {
		t.Errorf("missing parameter must fall back to round robin")
	}
	// consistent hashing: taking a server out moves only its own clients
	c := New(Spec{Algo: "source", Consistent: true, Avalanche: true}, servers(1, 1, 1, 1), nil)
	before := map[netip.Addr]int{}
	for i := 0; i < 500; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		before[ip] = c.PickSource(ip)
	}
	c.SetState(3, Down)
	moved := 0
	for ip, s := range before {
		if now := c.PickSource(ip); now != s {
			if s != 3 {
				moved++
			}
		}
	}
	if moved != 0 {
		t.Errorf("%d clients of healthy servers moved", moved)
	}
}

func TestRandomDraws(t *testing.T) {
	b := New(Spec{Algo: "random", Draws: 2}, servers(1, 1, 1), nil)
	m := count(b, 300, func() int { i := b.PickRandom(); return i })
	if len(m) != 3 {
		t.Errorf("random did not use every server: %v", m)
	}
}

func BenchmarkPickSourceMap(b *testing.B) {
	bl := New(Spec{Algo: "source"}, servers(1, 2, 3, 5, 10), nil)
	ip := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		bl.PickSource(ip)
	}
}

func BenchmarkPickSourceConsistent(b *testing.B) {
	bl := New(Spec{Algo: "source", Consistent: true, Avalanche: true}, servers(1, 2, 3, 5, 10), nil)
	ip := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		bl.PickSource(ip)
	}
}

func BenchmarkPickRR(b *testing.B) {
	bl := New(Spec{Algo: "roundrobin"}, servers(1, 2, 3, 5, 10), nil)
	b.ReportAllocs()
	for b.Loop() {
		bl.PickRR()
	}
}

func BenchmarkPickURI(b *testing.B) {
	bl := New(Spec{Algo: "uri"}, servers(1, 2, 3), nil)
	r := &Request{URI: "/static/images/logo.png?v=3"}
	b.ReportAllocs()
	for b.Loop() {
		bl.Pick(r)
	}
}

func FuzzRequestKeys(f *testing.F) {
	f.Add("/a/b?c=d&e", "www.example.com:80", 3, 5)
	f.Add("http://x", "", 0, 0)
	f.Fuzz(func(t *testing.T, uri, host string, depth, ln int) {
		b := New(Spec{Algo: "uri", URIDepth: depth & 15, URILen: ln & 63, URIPathOnly: true}, servers(1, 2), nil)
		if b.Pick(&Request{URI: uri}) < 0 {
			t.Fatal("no server picked")
		}
		urlParam(uri, "c")
		domainOnly(host)
	})
}

// FuzzBalancers feeds random server sets, states and weight changes to
// every algorithm: a pick is never a server that cannot take traffic, and
// nothing panics.
func FuzzBalancers(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 0, 1, 9, 200})
	f.Add([]byte{5, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4})
	algos := []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "rdp-cookie", "random", "hash"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		n := int(data[0]%8) + 1
		var srv []Server
		for i := 0; i < n; i++ {
			w := 0
			if 1+i < len(data) {
				w = int(data[1+i]) % 257
			}
			srv = append(srv, Server{Name: string(rune('a' + i)), Weight: w, Backup: i%3 == 2, State: State(int(w) % 4), Maxconn: w % 3})
		}
		for ai, algo := range algos {
			spec := Spec{Algo: algo, Consistent: ai%2 == 0, Avalanche: ai%3 == 0, Param: "p", AllBackups: ai%4 == 0}
			b := New(spec, srv, nil)
			for k, c := range data {
				idx := int(c) % n
				switch k % 4 {
				case 0:
					b.SetWeight(idx, int(c))
				case 1:
					b.SetState(idx, State(int(c)%4))
				}
				ip := netip.AddrFrom4([4]byte{10, c, byte(k), 1})
				got := b.Pick(&Request{Src: ip, URI: "/x?p=" + string(rune('a'+int(c)%26)), RDPCookie: "u", Key: []byte{c},
					Header: func(string) (string, bool) { return "h.example", true }})
				if got >= 0 {
					s := b.Servers()[got]
					if s.State != Up || s.Weight == 0 {
						t.Fatalf("%s picked %+v", algo, s)
					}
					b.Acquire(got)
				}
			}
		}
	})
}
