package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// srvPool keeps idle server connections of a backend that any client
// connection may take again (`http-reuse`): per server, newest last.
type srvPool struct {
	mode  string // never, safe, aggressive, always
	mu    sync.Mutex
	idle  [][]*idleConn
	purge time.Duration
}

// idleConn is a parked server connection; its balancer and maxconn slots
// were given back when it was parked.
type idleConn struct {
	c     net.Conn // *releasingConn, or *tls.Conn over rc
	rc    *releasingConn
	sp    *peeker
	timer *time.Timer
	idx   int // the server's index in its backend
	be    *backend
	reuse bool // it has been taken again at least once
	pp    ppKey
}

// ppKey is what a server connection's PROXY header told its server: the
// client's source and destination (zero: no header). Such a connection
// serves only requests with the same addresses, as in haproxy, or the
// server would see another client's.
type ppKey [2]netip.AddrPort

// ppKeyFor is the PROXY header a request to sv needs from src and dst.
func ppKeyFor(sv *server, src, dst netip.AddrPort) ppKey {
	if sv.sendsPP {
		return ppKey{src, dst}
	}
	return ppKey{}
}

// close ends an idle connection as haproxy does: a plain one with a reset
// (SO_LINGER 0), which leaves no TIME_WAIT behind on either side; the
// exchange on it was complete, so nothing is lost.
func (ic *idleConn) close() {
	closeIdle(ic.c, ic.rc)
}

func closeIdle(c net.Conn, rc *releasingConn) {
	if rc != nil && c == net.Conn(rc) {
		rc.SetLinger(0)
	}
	c.Close()
}

// maxSessionConns is haproxy's max-session-srv-conns default: the idle
// connections a client connection keeps for itself with http-reuse never.
const maxSessionConns = 10

// maxIdlePerServer bounds the parked connections of one server.
const maxIdlePerServer = 256

func newSrvPool(mode string, servers int) *srvPool {
	if mode == "" {
		mode = "safe"
	}
	// haproxy's pool-purge-delay default
	return &srvPool{mode: mode, idle: make([][]*idleConn, servers), purge: 5 * time.Second}
}

// mayTake tells whether a request may use another client's idle
// connection: never with `never`, not for the first request of a client
// connection with `safe`.
func (p *srvPool) mayTake(firstRequest bool) bool {
	return p.mode != "never" && !(p.mode == "safe" && firstRequest)
}

// closeOwn closes the idle connections a client connection kept.
func (h *hconn) closeOwn() {
	for _, ic := range h.own {
		ic.close()
	}
	h.own = nil
}

// put parks a connection; it is closed once it stays unused for the
// purge delay.
func (p *srvPool) put(idx int, ic *idleConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[idx]) >= maxIdlePerServer {
		ic.close()
		return
	}
	p.idle[idx] = append(p.idle[idx], ic)
	ic.timer = time.AfterFunc(p.purge, func() {
		p.mu.Lock()
		l := p.idle[idx]
		for i, x := range l {
			if x == ic {
				p.idle[idx] = append(l[:i], l[i+1:]...)
				p.mu.Unlock()
				ic.close()
				return
			}
		}
		p.mu.Unlock()
	})
}

// take returns a parked connection to server idx still open and idle, or
// nil; proven asks for one that was already taken again once (aggressive
// mode, first requests).
func (p *srvPool) take(idx int, proven bool, pp ppKey) *idleConn {
	for {
		p.mu.Lock()
		l := p.idle[idx]
		k := len(l) - 1
		for k >= 0 && (proven && !l[k].reuse || l[k].pp != pp) {
			k--
		}
		if k < 0 {
			p.mu.Unlock()
			return nil
		}
		ic := l[k]
		p.idle[idx] = append(l[:k], l[k+1:]...)
		p.mu.Unlock()
		if !ic.timer.Stop() {
			continue // the purge has it
		}
		if ic.sp.idleOpen() {
			return ic
		}
		ic.close()
	}
}

// parkServer gives the held server connection to the backend's pool
// instead of closing it; false when it cannot be reused.
func (h *hconn) parkServer() bool {
	be := h.be
	if !h.srvIdle || h.sn != 0 || be.http == nil || be.http.pool == nil || h.rc == nil {
		return false
	}
	idx := -1
	for i, sv := range be.servers {
		if sv == h.sv {
			idx = i
		}
	}
	if idx < 0 {
		return false
	}
	h.rc.once.Do(h.rc.release)
	h.sv.limit.release()
	be.sessions.Add(-1)
	ic := &idleConn{c: h.sc, rc: h.rc, sp: h.sp, idx: idx, be: be, reuse: h.srvReused, pp: h.scPP}
	if be.http.pool.mode == "never" { // kept for this client connection only
		if len(h.own) >= maxSessionConns {
			h.own[0].c.Close()
			h.own = h.own[1:]
		}
		h.own = append(h.own, ic)
	} else {
		be.http.pool.put(idx, ic)
	}
	h.r.mu.Lock()
	h.s.server, h.s.srv = nil, nil
	h.r.mu.Unlock()
	h.sc, h.sv, h.be, h.rc, h.srvIdle = nil, nil, nil, nil, false
	h.sdl.forget()
	return true
}

// takeIdle takes a parked connection to server idx of be, with a server
// slot; nil when there is none (or no slot).
func (h *hconn) takeIdle(be *backend, idx int) (*idleConn, error) {
	if be.http == nil || be.http.pool == nil {
		return nil, nil
	}
	pp := ppKeyFor(be.servers[idx], h.ci.src, h.ci.dst)
	var ic *idleConn
	if be.http.pool.mode == "never" {
		for i := len(h.own) - 1; i >= 0 && ic == nil; i-- {
			if x := h.own[i]; x.be == be && x.idx == idx && x.pp == pp {
				h.own = append(h.own[:i], h.own[i+1:]...)
				if x.sp.idleOpen() {
					ic = x
				} else {
					x.close()
				}
			}
		}
	} else if be.http.pool.mayTake(h.reqs == 0) {
		ic = be.http.pool.take(idx, be.http.pool.mode == "aggressive" && h.reqs == 0, pp)
	}
	if ic == nil {
		return nil, nil
	}
	sv := be.servers[idx]
	wait := be.px.Timeouts.Queue
	if wait == 0 {
		wait = be.px.Timeouts.Connect
	}
	if err := sv.limit.acquire(func() int { return int(be.sessions.Load()) }, be.fullconn, wait, nil); err != nil {
		ic.close()
		return nil, fmt.Errorf("server '%s': %v", sv.srv.Name, err)
	}
	ic.rc.once = sync.Once{}
	ic.rc.release = func() { be.mu.Lock(); be.bal.Release(idx); be.mu.Unlock() }
	return ic, nil
}
