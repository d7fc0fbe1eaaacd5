package balance

import (
	"net/netip"
	"strings"
)

// Request carries what the hash-based algorithms look at. Fields an
// algorithm does not use may stay empty.
type Request struct {
	Src netip.Addr
	// URI is the request target as received (origin or absolute form).
	URI string
	// Header returns the first value of a request header.
	Header func(name string) (string, bool)
	// Body is the request body seen so far (url_param check_post).
	Body []byte
	// RDPCookie is the value of the RDP cookie (rdp-cookie).
	RDPCookie string
	// Key is the value of the `balance hash <expr>` expression.
	Key []byte
}

// Pick chooses a server for a request with the backend's algorithm; it
// returns -1 when no server is usable. Hash algorithms whose input is
// missing fall back to round robin, as haproxy does.
func (b *Balancer) Pick(r *Request) int {
	if len(b.usable) == 0 {
		return -1
	}
	if b.stick != nil && r.Src.IsValid() {
		src := r.Src.Unmap()
		if i := b.sticky(src); i >= 0 {
			return i
		}
		i := b.pick(r)
		if i >= 0 {
			b.stick.Put(src, b.srv[i].Name, b.srv[i].ID)
		}
		return i
	}
	return b.pick(r)
}

// pick is Pick by the algorithm alone.
func (b *Balancer) pick(r *Request) int {
	switch b.spec.Algo {
	case "source":
		return b.PickSource(r.Src)
	case "uri":
		return b.pickKey([]byte(b.uriKey(r.URI)))
	case "url_param":
		if v, ok := urlParam(r.URI, b.spec.Param); ok {
			return b.pickKey([]byte(v))
		}
		if v, ok := urlParam("?"+string(r.Body), b.spec.Param); ok && r.Body != nil {
			return b.pickKey([]byte(v))
		}
	case "hdr":
		if r.Header != nil {
			if v, ok := r.Header(b.spec.Param); ok && v != "" {
				if b.spec.UseDomainOnly {
					v = domainOnly(v)
				}
				return b.pickKey([]byte(v))
			}
		}
	case "rdp-cookie":
		if r.RDPCookie != "" {
			return b.pickKey([]byte(r.RDPCookie))
		}
	case "hash":
		if r.Key != nil {
			return b.pickKey(r.Key)
		}
	case "static-rr":
		return b.PickStaticRR()
	case "leastconn":
		return b.PickLeastConn()
	case "first":
		return b.PickFirst()
	case "random":
		return b.PickRandom()
	}
	return b.PickRR()
}

// pickKey hashes a key with the configured function (and avalanche).
func (b *Balancer) pickKey(k []byte) int {
	if len(b.usable) == 1 {
		return b.usable[0]
	}
	h := b.spec.Hash(k)
	if b.spec.Avalanche {
		h = Avalanche(h)
	}
	return b.PickHash(h)
}

// uriKey applies `balance uri` options: the query is dropped unless
// `whole`, `len` caps the length, `depth` caps the directory depth, and
// `path-only` drops scheme and authority of an absolute URI.
func (b *Balancer) uriKey(uri string) string {
	if b.spec.URIPathOnly {
		if i := strings.Index(uri, "://"); i >= 0 {
			rest := uri[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				uri = rest[j:]
			} else {
				uri = "/"
			}
		}
	}
	n := len(uri)
	if b.spec.URILen > 0 && b.spec.URILen < n {
		n = b.spec.URILen
	}
	slashes := 0
	for i := 0; i < n; i++ {
		switch uri[i] {
		case '/':
			slashes++
			if b.spec.URIDepth > 0 && slashes == b.spec.URIDepth+1 {
				return uri[:i]
			}
		case '?':
			if !b.spec.URIWhole {
				return uri[:i]
			}
		}
	}
	return uri[:n]
}

// urlParam finds a query parameter's value.
func urlParam(uri, name string) (string, bool) {
	q := strings.IndexByte(uri, '?')
	if q < 0 {
		return "", false
	}
	for _, kv := range strings.FieldsFunc(uri[q+1:], func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// domainOnly keeps the label before the top-level domain of a host name
// (`use_domain_only`): "www.example.com:80" -> "example".
func domainOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	labels := strings.Split(h, ".")
	if len(labels) >= 2 {
		return labels[len(labels)-2]
	}
	return h
}

// PickRR is weighted round robin (smooth: each pick adds every server's
// weight to its credit and takes the server with the most credit).
func (b *Balancer) PickRR() int {
	if len(b.usable) == 0 {
		return -1
	}
	best := -1
	for _, i := range b.usable {
		b.swrr[i] += b.eweight[i]
		if best < 0 || b.swrr[i] > b.swrr[best] {
			best = i
		}
	}
	b.swrr[best] -= b.tot
	return best
}

// PickStaticRR walks the map-based table in order (static-rr).
func (b *Balancer) PickStaticRR() int {
	if b.tot == 0 {
		return -1
	}
	i := b.table[b.rrIdx%b.tot]
	b.rrIdx++
	return i
}

// PickLeastConn takes the server with the fewest connections per unit of
// weight; equals are served in turn.
func (b *Balancer) PickLeastConn() int {
	best, n := -1, len(b.usable)
	for k := 0; k < n; k++ {
		i := b.usable[(b.rrIdx+k)%n]
		if best < 0 || b.srv[i].Conns*b.eweight[best] < b.srv[best].Conns*b.eweight[i] {
			best = i
		}
	}
	b.rrIdx++
	return best
}

// PickFirst takes the first server (by id) that has a free slot.
func (b *Balancer) PickFirst() int {
	best := -1
	for _, i := range b.usable {
		s := b.srv[i]
		if s.Maxconn > 0 && s.Conns >= s.Maxconn {
			continue
		}
		if best < 0 || s.ID < b.srv[best].ID {
			best = i
		}
	}
	return best
}

// PickRandom draws Draws servers on the consistent ring and keeps the least
// loaded one (power of N choices).
func (b *Balancer) PickRandom() int {
	best := -1
	for d := 0; d < b.spec.Draws; d++ {
		i := b.ringLookup(b.rnd())
		if i < 0 {
			continue
		}
		if best < 0 || b.srv[i].Conns*b.eweight[best] < b.srv[best].Conns*b.eweight[i] {
			best = i
		}
	}
	return best
}
