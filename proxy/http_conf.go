package proxy

// This file holds the http side of proxies, compiled from the config (http mode).

import (
	"fmt"
	"strings"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// httpFE is the http side of a frontend (mode http).
type httpFE struct {
	reqRules   []*httpRule
	respRules  []*httpRule
	afterRules []*httpRule // http-after-response
	routes     []hroute
	userlists  []*parser.Userlist
	limit      int
	forwardFor *forwardFor
	originalTo *forwardFor
	errs       map[int]errAnswer
	comp       *compSpec // compression lines (http_comp.go), nil: none
}

type hroute struct {
	be   *backend
	dyn  *logFmt // use_backend %[...]: the name is computed per request
	cond *hcond
}

// httpBE is the http side of a backend.
type httpBE struct {
	reqRules, respRules []*httpRule
	afterRules          []*httpRule
	forwardFor          *forwardFor
	originalTo          *forwardFor
	errs                map[int]errAnswer
	comp                *compSpec
	useServers          []useServer
	pool                *srvPool // http-reuse
}

// forwardFor is `option forwardfor [except net] [header name] [if-none]`
// or `option originalto [except net] [header name]` (dst set).
type forwardFor struct {
	header string
	except *l4Matcher
	ifNone bool
	dst    bool
}

func newForwardFor(px *parser.Proxy) (*forwardFor, error) {
	return newAddrHeader(px, "forwardfor", "x-forwarded-for")
}

// newAddrHeader reads `option forwardfor` or `option originalto`.
func newAddrHeader(px *parser.Proxy, option, header string) (*forwardFor, error) {
	o, ok := px.Options[option]
	if !ok || !o.Enabled {
		return nil, nil
	}
	ff := &forwardFor{header: header, dst: option == "originalto"}
	for i := 0; i < len(o.Args); i++ {
		switch o.Args[i] {
		case "header":
			if i+1 < len(o.Args) {
				ff.header = o.Args[i+1]
				i++
			}
		case "except":
			if i+1 < len(o.Args) {
				fetch := "src"
				if ff.dst {
					fetch = "dst"
				}
				m, err := compileL4(fetch, nil, []string{o.Args[i+1]}, o.Pos)
				if err != nil {
					return nil, err
				}
				ff.except = m
				i++
			}
		case "if-none":
			ff.ifNone = true
		}
	}
	return ff, nil
}

// newHTTPFrontend compiles the http rules and routes of a frontend.
func (r *Runtime) newHTTPFrontend(cfg *parser.Config, fe *frontend) error {
	px := fe.px
	h := &httpFE{userlists: cfg.Userlists, limit: h1.Limit(cfg.Global.TuneBufsize, cfg.Global.TuneMaxrewrite)}
	var err error
	if h.reqRules, err = r.compileHTTPRules(px, "http-request"); err != nil {
		return err
	}
	if h.respRules, err = r.compileHTTPRules(px, "http-response"); err != nil {
		return err
	}
	if h.afterRules, err = r.compileHTTPRules(px, "http-after-response"); err != nil {
		return err
	}
	for _, u := range px.UseBackends {
		c, err := r.compileHTTPCond(u.Cond, px.ACLs)
		if err != nil {
			return err
		}
		if strings.Contains(u.Target, "%[") {
			f, err := compileFmt(u.Target, u.Pos, r)
			if err != nil {
				return err
			}
			h.routes = append(h.routes, hroute{dyn: &f, cond: c})
			continue
		}
		be := r.backends[u.Target]
		if be == nil {
			return fmt.Errorf("%s: use_backend '%s' is not a backend gohaka runs", u.Pos, u.Target)
		}
		h.routes = append(h.routes, hroute{be: be, cond: c})
	}
	if h.forwardFor, err = newForwardFor(px); err != nil {
		return err
	}
	if h.originalTo, err = newAddrHeader(px, "originalto", "x-original-to"); err != nil {
		return err
	}
	if h.errs, err = r.loadErrorfiles(px); err != nil {
		return err
	}
	h.comp = newCompSpec(px)
	fe.http = h
	return nil
}

// newHTTPBackend compiles the http rules of a backend.
func (r *Runtime) newHTTPBackend(be *backend) error {
	r.compilePx = be.px
	h := &httpBE{}
	var err error
	if h.errs, err = r.loadErrorfiles(be.px); err != nil {
		return err
	}
	h.comp = newCompSpec(be.px)
	be.http = h
	h.pool = newSrvPool(be.px.HTTPReuse, len(be.servers))
	if h.useServers, err = r.compileUseServers(be); err != nil {
		return err
	}
	if be.px.Cap&parser.CapFE == 0 { // a listen's rules run once, as frontend rules
		if h.reqRules, err = r.compileHTTPRules(be.px, "http-request"); err != nil {
			return err
		}
		if h.respRules, err = r.compileHTTPRules(be.px, "http-response"); err != nil {
			return err
		}
		if h.afterRules, err = r.compileHTTPRules(be.px, "http-after-response"); err != nil {
			return err
		}
		if h.forwardFor, err = newForwardFor(be.px); err != nil {
			return err
		}
		if h.originalTo, err = newAddrHeader(be.px, "originalto", "x-original-to"); err != nil {
			return err
		}
	}
	return nil
}
