package proxy

import (
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// statsPage is a proxy that only serves the stats page (`stats enable`
// with no servers, usually `listen stats` in mode http). Until gohaka's
// http mode lands, a small HTTP/1.1 responder (statshttp.go) serves it.
type statsPage struct {
	px          *parser.Proxy
	lns         []net.Listener
	fe, be      counters
	hrsp        [6]atomic.Int64 // 1xx..5xx, other
	intercepted atomic.Int64
	requests    atomic.Int64
	admin       *l4Cond
	adminOK     bool
	slots       *gate
}

// isStatsOnly reports whether a proxy only serves the stats page or the
// Prometheus exporter (`http-request use-service prometheus-exporter`).
func isStatsOnly(px *parser.Proxy) bool {
	return (px.Stats.Enabled || promRule(px) != nil) && len(px.Servers) == 0 && px.DefaultBackend == "" &&
		len(px.UseBackends) == 0 && px.Cap&parser.CapFE != 0
}

// promRule is the proxy's `http-request use-service prometheus-exporter`.
func promRule(px *parser.Proxy) *parser.Rule {
	for _, r := range px.Rules {
		if r.Keyword == "http-request" && r.Action == "use-service" && len(r.Args) > 0 && r.Args[0] == "prometheus-exporter" {
			return r
		}
	}
	return nil
}

// promMatch evaluates the exporter rule's condition on the request path:
// `{ path X }`, `{ path_beg X }` and their negation with unless; no
// condition matches every request.
func promMatch(rule *parser.Rule, path string) bool {
	if rule.Cond == nil {
		return true
	}
	w := rule.Cond.Words
	ok := true
	for i := 0; i+1 < len(w); i++ {
		switch w[i] {
		case "path":
			ok = contains(w[i+1:], path)
		case "path_beg":
			ok = false
			for _, p := range w[i+1:] {
				if p != "}" && strings.HasPrefix(path, p) {
					ok = true
				}
			}
		}
	}
	return ok != rule.Cond.Unless
}

// addPage registers a stats-only proxy; New calls it before refusing
// http mode.
func (r *Runtime) addPage(px *parser.Proxy) bool {
	if !isStatsOnly(px) {
		return false
	}
	p := &statsPage{px: px, slots: newGate(px.Maxconn)}
	if px.Stats.Admin != nil {
		c, err := r.compileCond(px.Stats.Admin, px.ACLs)
		if err != nil {
			r.opts.Logf("%s: stats admin: %v; the page stays read-only", px.Stats.Admin.Pos, err)
		} else {
			p.admin, p.adminOK = c, true
		}
	}
	r.obs.pages = append(r.obs.pages, p)
	return true
}

// isPage reports whether px is served as a stats page.
func (o *observability) isPage(px *parser.Proxy) bool {
	return o.page(px) != nil
}

func (o *observability) page(px *parser.Proxy) *statsPage {
	for _, p := range o.pages {
		if p.px == px {
			return p
		}
	}
	return nil
}

// startPages opens the stats pages' listeners.
func (r *Runtime) startPages() error {
	for _, p := range r.obs.pages {
		for _, b := range p.px.Binds {
			lns, err := listen(b, false, r.opts.Inherited)
			if err != nil {
				return err
			}
			p.lns = append(p.lns, lns...)
			r.obs.cliMu.Lock()
			r.obs.cli = append(r.obs.cli, lns...)
			r.obs.cliMu.Unlock()
			for _, ln := range lns {
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go r.servePage(p, c)
					}
				}()
			}
		}
	}
	return nil
}

// pageRows are the stats rows of a stats-only proxy: its frontend and
// its (serverless) backend, in http mode.
func (r *Runtime) pageRows(p *statsPage, now time.Time) []*statRow {
	iid := ui(r.obs.ids[p.px])
	f := map[string]string{"pxname": p.px.Name, "svname": "FRONTEND", "type": "0", "mode": p.px.Mode, "iid": iid, "sid": "0"}
	commonFields(f, &p.fe, now)
	slim := p.slots.limitNow()
	if slim == 0 {
		slim = r.globalMaxconn()
	}
	f["slim"] = ui(slim)
	f["status"] = "OPEN"
	cr, cmax := p.fe.connRate.get(now)
	f["conn_rate"], f["conn_rate_max"], f["conn_tot"] = ui(int(cr)), ui(int(cmax)), u(p.fe.connTot.Load())
	f["req_rate"], f["req_rate_max"], f["req_tot"] = f["rate"], f["rate_max"], u(p.fe.stot.Load())
	f["intercepted"] = u(p.intercepted.Load())
	names := [...]string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"}
	for i, n := range names {
		f[n] = u(p.hrsp[i].Load())
	}
	f["cache_lookups"], f["cache_hits"] = "0", "0"
	f["h1_open_connections"], f["h1_open_streams"] = u(p.fe.scur.Load()), u(p.fe.scur.Load())
	f["h1_total_connections"], f["h1_total_streams"] = u(p.fe.connTot.Load()), u(p.requests.Load())
	f["h1_bytes_in"], f["h1_bytes_out"] = u(p.fe.bin.Load()), u(p.fe.bout.Load())
	fe := &statRow{typ: rowFrontend, f: f, px: p.px.Name, sv: "FRONTEND", http: true}
	if p.px.Cap&parser.CapBE == 0 {
		return []*statRow{fe}
	}
	b := map[string]string{"pxname": p.px.Name, "svname": "BACKEND", "type": "1", "mode": p.px.Mode, "iid": iid, "sid": "0"}
	commonFields(b, &p.be, now)
	timeFields(b, &p.be)
	b["slim"] = ui(max((slim+9)/10, 1))
	b["status"], b["weight"], b["act"], b["bck"], b["uweight"] = "UP", "0", "0", "0", "0"
	b["chkdown"], b["lastchg"] = "0", secs(now.Sub(r.obs.start))
	for _, n := range names {
		b[n] = "0"
	}
	b["req_tot"], b["cache_lookups"], b["cache_hits"] = "0", "0", "0"
	be := &statRow{typ: rowBackend, f: b, px: p.px.Name, sv: "BACKEND", http: true, noDowntime: true}
	return []*statRow{fe, be}
}

// httpCols are the columns an http-mode frontend or backend adds.
var httpCols = map[string]bool{"hrsp_1xx": true, "hrsp_2xx": true, "hrsp_3xx": true, "hrsp_4xx": true, "hrsp_5xx": true,
	"hrsp_other": true, "intercepted": true, "cache_lookups": true, "cache_hits": true, "req_tot": true}

// pageAuth checks `stats auth` credentials from a Basic authorization.
func pageAuth(px *parser.Proxy, user, pass string, ok bool) bool {
	if len(px.Stats.Auths) == 0 {
		return true
	}
	if !ok {
		return false
	}
	for _, a := range px.Stats.Auths {
		if u, p, _ := strings.Cut(a, ":"); u == user && p == pass {
			return true
		}
	}
	return false
}
