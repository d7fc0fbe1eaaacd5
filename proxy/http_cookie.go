package proxy

import (
	"bytes"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/proxy/h1"
)

// cookieRequest reads the persistence cookie of a request (`cookie` on
// the backend): it picks the server the cookie names when that server can
// take traffic (or `option persist`), and strips or un-prefixes the cookie
// as the mode says.
func (h *hconn) cookieRequest(be *backend) {
	ck := be.px.Cookie
	h.forceIdx = -1
	dated := ck.Mode == "insert" && (ck.MaxIdle > 0 || ck.MaxLife > 0)
	if dated {
		h.ckd = cookieDates{now: time.Now().Unix(), last: -1, first: -1}
	}
	h.ob.ckReq = 'N'
	seen := false
	for i := range h.q.hdrs {
		hd := &h.q.hdrs[i]
		if !h1.EqualFold(hd.Name, "cookie") {
			continue
		}
		changed := false
		var out []byte
		v := hd.Value
		for len(v) > 0 {
			j := bytes.IndexByte(v, ';')
			pair := v
			if j >= 0 {
				pair, v = v[:j], v[j+1:]
			} else {
				v = nil
			}
			pair = bytes.TrimSpace(pair)
			name, val, _ := bytes.Cut(pair, []byte("="))
			if string(name) == ck.Name {
				sval := val
				if ck.Mode == "prefix" {
					if k := bytes.IndexByte(val, '~'); k >= 0 {
						sval = val[:k]
						if idx := h.cookieServer(be, sval); idx >= 0 {
							pair = append(append(append([]byte{}, name...), '='), val[k+1:]...)
							changed = true
						}
					} else {
						sval = nil
					}
				}
				var expired byte
				if dated {
					sval, expired = h.ckd.read(val, ck.MaxIdle, ck.MaxLife)
				}
				if !seen { // the first one counts, as for the server it names
					seen = true
					h.ob.ckReq = cookieState(be, sval, expired)
				}
				if idx := h.cookieServer(be, sval); idx >= 0 && h.forceIdx < 0 && expired == 0 {
					h.forceIdx = idx
				}
				if ck.Mode == "insert" && ck.Indirect {
					changed = true
					continue // the server never sees the persistence cookie
				}
			}
			if len(out) > 0 {
				out = append(out, "; "...)
			}
			out = append(out, pair...)
		}
		if changed {
			hd.Value = out
		}
	}
	if ck.Mode == "insert" && ck.Indirect {
		out := h.q.hdrs[:0]
		for _, hd := range h.q.hdrs {
			if !h1.EqualFold(hd.Name, "cookie") || len(hd.Value) > 0 {
				out = append(out, hd)
			}
		}
		h.q.hdrs = out
	}
}

// cookieState is the request's cookie letter in haproxy's logs: V a
// valid cookie, D one naming a server that is down, I one naming no
// server, E/O one too long idle or too old.
func cookieState(be *backend, v []byte, expired byte) byte {
	if expired != 0 {
		return expired
	}
	state := byte('I')
	cookieServers(be, v, func(_ int, s balance.Server) bool {
		state = 'D'
		if s.State == balance.Up && s.Weight > 0 {
			state = 'V'
		}
		return false // the first server of that cookie
	})
	return state
}

// cookieServers calls f with each server whose cookie value is v and its
// balancer state, until f returns false.
func cookieServers(be *backend, v []byte, f func(i int, s balance.Server) bool) {
	if len(v) == 0 {
		return
	}
	for i, sv := range be.servers {
		if sv.srv.Cookie == "" || sv.srv.Cookie != string(v) {
			continue
		}
		be.mu.Lock()
		s := be.bal.Servers()[i]
		be.mu.Unlock()
		if !f(i, s) {
			return
		}
	}
}

// cookieServer returns the index of the server whose cookie value is v,
// when it may take the request.
func (h *hconn) cookieServer(be *backend, v []byte) int {
	idx := -1
	cookieServers(be, v, func(i int, s balance.Server) bool {
		if s.State == balance.Up && s.Weight > 0 || be.px.OptionOn("persist") && s.State != balance.Maint {
			idx = i
		}
		return idx < 0
	})
	return idx
}

// cookieResponse inserts or rewrites the persistence cookie in a response
// from server sv.
func (h *hconn) cookieResponse(be *backend) {
	ck := be.px.Cookie
	val := h.sv.srv.Cookie
	if ck == nil || val == "" {
		return
	}
	h.ob.ckResp = 'N'
	switch ck.Mode {
	case "insert":
		if ck.PostOnly && string(h.q.method) != "POST" {
			return
		}
		if ck.Preserve && h.respSetsCookie(ck.Name) {
			h.ob.ckResp = 'P' // the server's own, as it is
			return
		}
		chosen := h.forceIdx >= 0 && be.servers[h.forceIdx] == h.sv
		dated := ck.MaxIdle > 0 || ck.MaxLife > 0
		if h.dropSetCookie(ck.Name) { // the server's cookie of that name never reaches the client
			h.ob.ckResp = 'D'
		}
		if chosen && (!dated || !h.ckd.stale(ck.MaxLife > 0)) {
			return // the client's cookie already names this server (and is fresh)
		}
		h.ob.ckResp = 'I'
		if chosen {
			h.ob.ckResp = 'U' // only its dates changed
		}
		b := []byte(ck.Name + "=" + val)
		if dated {
			b = h.ckd.appendDates(b, chosen, ck.MaxLife > 0)
		}
		b = append(b, "; path=/"...)
		for _, d := range ck.Domains {
			b = append(append(b, "; domain="...), d...)
		}
		if ck.HTTPOnly {
			b = append(b, "; HttpOnly"...)
		}
		if ck.Secure {
			b = append(b, "; Secure"...)
		}
		for _, a := range ck.Attrs {
			b = append(append(b, "; "...), a...)
		}
		h.hdrs = append(h.hdrs, h1.Header{Name: []byte("set-cookie"), Value: b})
	case "prefix", "rewrite":
		for i := range h.hdrs {
			hd := &h.hdrs[i]
			if !h1.EqualFold(hd.Name, "set-cookie") {
				continue
			}
			name, rest, ok := bytes.Cut(hd.Value, []byte("="))
			if !ok || string(bytes.TrimSpace(name)) != ck.Name {
				continue
			}
			attrs := []byte{}
			if k := bytes.IndexByte(rest, ';'); k >= 0 {
				rest, attrs = rest[:k], rest[k:]
			}
			nv := append(append([]byte{}, name...), '=')
			h.ob.ckResp = 'R'
			if ck.Mode == "prefix" {
				nv = append(append(append(nv, val...), '~'), rest...)
			} else {
				nv = append(nv, val...)
			}
			hd.Value = append(nv, attrs...)
		}
	}
}

// dropSetCookie removes the response's Set-Cookie headers for name;
// true when there was one.
func (h *hconn) dropSetCookie(name string) bool {
	out, dropped := h.hdrs[:0], false
	for _, hd := range h.hdrs {
		if setsCookie(hd, name) {
			dropped = true
			continue
		}
		out = append(out, hd)
	}
	h.hdrs = out
	return dropped
}

func (h *hconn) respSetsCookie(name string) bool {
	for _, hd := range h.hdrs {
		if setsCookie(hd, name) {
			return true
		}
	}
	return false
}

// setsCookie tells a Set-Cookie header for the cookie name.
func setsCookie(hd h1.Header, name string) bool {
	return h1.EqualFold(hd.Name, "set-cookie") && bytes.HasPrefix(bytes.TrimSpace(hd.Value), []byte(name+"="))
}
