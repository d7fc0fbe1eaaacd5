package balance

import (
	"net/netip"
	"sort"
)

// WeightScale is haproxy's BE_WEIGHT_SCALE: effective weights are user
// weights times this, divided by the weights' greatest common divisor.
const WeightScale = 16

// State is a server's administrative/health state as the balancer sees it.
type State int

// Server states.
const (
	Up State = iota
	Drain
	Down
	Maint
)

// Server is one server of a backend.
type Server struct {
	Name    string
	ID      int // haproxy's server id (puid); 1.. in declaration order by default
	Weight  int // 0..256
	Backup  bool
	State   State
	Maxconn int // for `first`; 0 = unlimited
	// Conns is the number of connections the server holds now (leastconn,
	// first, random); the caller keeps it with Acquire/Release.
	Conns int
}

// Spec is a backend's balance and hash-type settings.
type Spec struct {
	Algo                  string // roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr, rdp-cookie, random, hash
	Consistent            bool   // hash-type consistent (else map-based)
	Hash                  HashFunc
	Avalanche             bool
	AllBackups            bool
	Draws                 int
	URIWhole, URIPathOnly bool
	URILen, URIDepth      int
	Param                 string // url_param / hdr / rdp-cookie name
	UseDomainOnly         bool
}

// Balancer picks servers for one backend. It is not safe for concurrent
// use: the proxy serialises calls per backend.
type Balancer struct {
	spec    Spec
	srv     []Server
	eweight []int
	usable  []int // indexes of servers in the current pool
	tot     int   // total effective weight of the pool
	table   []int // map-based lookup table (len tot)
	ring    []ringNode
	rrIdx   int
	stick   *StickTable // stick on src (stick.go), nil: none
	swrr    []int       // smooth weighted round robin current weights
	rnd     func() uint32
}

type ringNode struct {
	key uint32
	srv int
}

// New builds a balancer; rnd supplies random numbers for `random` (nil
// uses a fixed-seed generator, which keeps tests deterministic).
func New(spec Spec, servers []Server, rnd func() uint32) *Balancer {
	if spec.Hash == nil {
		spec.Hash = HashSDBM
	}
	if spec.Draws == 0 {
		spec.Draws = 2
	}
	if rnd == nil {
		var x uint32 = 2463534242
		rnd = func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	}
	b := &Balancer{spec: spec, srv: append([]Server(nil), servers...), rnd: rnd}
	for i := range b.srv {
		if b.srv[i].ID == 0 {
			b.srv[i].ID = i + 1
		}
	}
	b.rebuild()
	return b
}

// Servers returns the balancer's view of the servers.
func (b *Balancer) Servers() []Server { return b.srv }

// SetWeight changes a server's weight (runtime API, agent checks).
func (b *Balancer) SetWeight(i, w int) { b.srv[i].Weight = w; b.rebuild() }

// SetState changes a server's state (health checks, admin).
func (b *Balancer) SetState(i int, s State) { b.srv[i].State = s; b.rebuild() }

// Acquire and Release count a server's connections.
func (b *Balancer) Acquire(i int) { b.srv[i].Conns++ }

// Release ends a connection counted with Acquire.
func (b *Balancer) Release(i int) {
	if b.srv[i].Conns > 0 {
		b.srv[i].Conns--
	}
}

func gcd(a, c int) int {
	for c != 0 {
		a, c = c, a%c
	}
	return a
}

// rebuild recomputes the pool, effective weights, the map and the ring.
func (b *Balancer) rebuild() {
	g := 0
	for _, s := range b.srv {
		if s.Weight > 0 {
			g = gcd(s.Weight, g)
		}
	}
	if g == 0 {
		g = 1
	}
	b.eweight = make([]int, len(b.srv))
	for i, s := range b.srv {
		b.eweight[i] = (s.Weight*WeightScale + g - 1) / g
	}
	usable := func(i int) bool { s := b.srv[i]; return s.State == Up && s.Weight > 0 }
	b.usable = b.usable[:0]
	for i, s := range b.srv {
		if !s.Backup && usable(i) {
			b.usable = append(b.usable, i)
		}
	}
	if len(b.usable) == 0 {
		for i, s := range b.srv {
			if s.Backup && usable(i) {
				b.usable = append(b.usable, i)
				if !b.spec.AllBackups {
					break
				}
			}
		}
	}
	b.tot = 0
	for _, i := range b.usable {
		b.tot += b.eweight[i]
	}
	b.buildMap()
	b.buildRing()
	b.swrr = make([]int, len(b.srv))
}

// buildMap fills the map-based table: each slot goes to the server whose
// accumulated weight share is the largest, declaration order breaking ties,
// so that weights spread evenly over the table.
func (b *Balancer) buildMap() {
	b.table = make([]int, b.tot)
	score := make([]int, len(b.srv))
	for o := 0; o < b.tot; o++ {
		best, max := -1, 0
		for _, i := range b.usable {
			if b.tot == 1 {
				best = i
				break
			}
			score[i] += b.eweight[i]
			v := (score[i] + b.tot) / b.tot
			if best < 0 || v > max {
				max, best = v, i
			}
		}
		b.table[o] = best
		if best >= 0 {
			score[best] -= b.tot
		}
	}
}

// srvEweightRange is haproxy's SRV_EWGHT_RANGE: node keys are spaced by it
// per server id.
const srvEweightRange = 256 * WeightScale

// buildRing places each usable server on the consistent-hash ring as many
// times as its effective weight.
func (b *Balancer) buildRing() {
	b.ring = b.ring[:0]
	for _, i := range b.usable {
		for n := 0; n < b.eweight[i]; n++ {
			key := Avalanche(uint32(b.srv[i].ID*srvEweightRange + n))
			b.ring = append(b.ring, ringNode{key: key, srv: i})
		}
	}
	sort.Slice(b.ring, func(x, y int) bool {
		if b.ring[x].key != b.ring[y].key {
			return b.ring[x].key < b.ring[y].key
		}
		return b.ring[x].srv < b.ring[y].srv
	})
}

// PickHash returns the server for a hash value, through the map or the
// consistent ring; -1 when no server is usable.
func (b *Balancer) PickHash(h uint32) int {
	if len(b.usable) == 0 {
		return -1
	}
	if b.spec.Consistent {
		return b.ringLookup(h)
	}
	return b.table[h%uint32(b.tot)]
}

func (b *Balancer) ringLookup(h uint32) int {
	n := len(b.ring)
	if n == 0 {
		return -1
	}
	j := sort.Search(n, func(k int) bool { return b.ring[k].key >= h })
	next := j % n
	prev := (j - 1 + n) % n
	dp := h - b.ring[prev].key
	dn := b.ring[next].key - h
	if dp <= dn {
		return b.ring[prev].srv
	}
	return b.ring[next].srv
}

// SourceHash is the hash `balance source` uses: the address's 32-bit
// words XORed together (avalanche applied when configured).
func (b *Balancer) SourceHash(ip netip.Addr) uint32 {
	var h uint32
	raw := ip.Unmap().AsSlice()
	for i := 0; i+4 <= len(raw); i += 4 {
		h ^= uint32(raw[i])<<24 | uint32(raw[i+1])<<16 | uint32(raw[i+2])<<8 | uint32(raw[i+3])
	}
	if b.spec.Avalanche {
		h = Avalanche(h)
	}
	return h
}

// PickSource is `balance source`.
func (b *Balancer) PickSource(ip netip.Addr) int {
	if len(b.usable) == 1 {
		return b.usable[0]
	}
	return b.PickHash(b.SourceHash(ip))
}
