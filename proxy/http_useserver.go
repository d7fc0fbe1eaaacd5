package proxy

import (
	"fmt"

	"github.com/gohaka/gohaka/balance"
)

// useServer is a compiled `use-server NAME if COND` line.
type useServer struct {
	idx  int
	cond *hcond
}

// compileUseServers reads a backend's use-server lines.
func (r *Runtime) compileUseServers(be *backend) ([]useServer, error) {
	var out []useServer
	for _, u := range be.px.UseServers {
		idx := -1
		for i, sv := range be.servers {
			if sv.srv.Name == u.Target {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%s: use-server: no server '%s' in backend '%s'", u.Pos, u.Target, be.px.Name)
		}
		c, err := r.compileHTTPCond(u.Cond, be.px.ACLs)
		if err != nil {
			return nil, err
		}
		out = append(out, useServer{idx: idx, cond: c})
	}
	return out, nil
}

// pickUseServer returns the server the first matching use-server rule
// names, or -1. As in haproxy, a rule naming a server that is down is
// passed over (unless option persist) and the next rule is tried; the
// rules come before persistence cookies and balancing.
func pickUseServer(be *backend, q *hreq) int {
	if be.http == nil {
		return -1
	}
	for _, u := range be.http.useServers {
		if !u.cond.eval(q) {
			continue
		}
		be.mu.Lock()
		s := be.bal.Servers()[u.idx]
		be.mu.Unlock()
		if s.State == balance.Up || be.px.OptionOn("persist") && s.State != balance.Maint {
			return u.idx
		}
	}
	return -1
}
