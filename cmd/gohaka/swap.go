package main

import (
	"sync"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy"
)

// proxySet is the serving proxy runtime plus the ones replaced by an
// in-process reload that are still finishing their connections.
type proxySet struct {
	mu   sync.Mutex
	cur  *proxy.Runtime
	old  map[*proxy.Runtime]bool
	done sync.WaitGroup
}

func (p *proxySet) current() *proxy.Runtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// swap starts a runtime for cfg on the current one's listening sockets
// (same sockets, so no connection is refused or dropped), then lets the
// current one finish its live connections. On error nothing changes.
func (p *proxySet) swap(cfg *parser.Config, logf func(string, ...any)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	files := p.cur.ListenerFiles()
	rt, err := proxy.New(cfg, proxy.Options{Logf: logf, Inherited: files})
	if err == nil {
		err = rt.Start()
	}
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return err
	}
	old := p.cur
	p.cur = rt
	if p.old == nil {
		p.old = map[*proxy.Runtime]bool{}
	}
	p.old[old] = true
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		old.SoftStop()
		p.mu.Lock()
		delete(p.old, old)
		p.mu.Unlock()
	}()
	return nil
}

// softStop stops listening and waits for every live connection, old
// runtimes' included.
func (p *proxySet) softStop() {
	p.current().SoftStop()
	p.done.Wait()
}

// stop ends every runtime and connection at once.
func (p *proxySet) stop() {
	p.mu.Lock()
	all := []*proxy.Runtime{p.cur}
	for rt := range p.old {
		all = append(all, rt)
	}
	p.mu.Unlock()
	for _, rt := range all {
		rt.Stop()
	}
	p.done.Wait()
}

// reloadHAProxy re-reads haproxy.cfg (gohaka run, SIGHUP): a config with
// errors changes nothing and says why; otherwise the proxies are swapped
// in-process on the same listening sockets.
func reloadHAProxy(o runOpts, ps *proxySet, logf func(string, ...any)) {
	cfg, ds := parser.Load(loadOptions(o.files, nil, false))
	if ds.HasErrors() {
		for _, d := range ds {
			if d.Sev == parser.Error {
				logf("reload: %s", d)
			}
		}
		logf("reload: haproxy.cfg has errors; keeping the running configuration")
		return
	}
	if err := ps.swap(cfg, logf); err != nil {
		logf("reload: %v; keeping the running configuration", err)
		return
	}
	logf("reload: haproxy.cfg applied")
}
