package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// Options tunes the runtime.
type Options struct {
	// Logf receives one line per notable event (nil: discard).
	Logf func(format string, args ...any)
	// Inherited holds listening sockets taken over from a previous
	// process (reload), keyed as ListenerFiles keys them; a bind whose
	// address is found reuses that socket instead of binding a new one.
	Inherited map[string]*os.File
	// MaxPipes caps the pooled splice pipes (haproxy's maxpipes); 0 means
	// maxconn/4 as haproxy does, negative disables splicing.
	MaxPipes int
}

// Runtime serves every tcp-mode proxy of a Config.
type Runtime struct {
	opts      Options
	gcfg      *parser.Global
	stats     Stats
	pipes     *pipePool
	frontends []*frontend
	backends  map[string]*backend
	sticks    []*stickInfo // the stick tables, in configuration order (stick.go)
	cfg       *parser.Config
	caches    map[string]*httpCache // cache sections rules name (http_cache.go)
	// keepReqLine: capture.req.* fetches read the request line kept
	// for the log, kept then even when nothing logs
	keepReqLine bool
	// ctrTables are the stick tables of counters track-sc rules and
	// sc_/src_ fetches use (stktable.go), made as rules name them;
	// compilePx is the proxy whose rules are being compiled
	ctrTables map[string]*ctrTable
	compilePx *parser.Proxy
	// readsContent: a condition compiled since it was cleared reads the
	// client's first bytes (inspect.go)
	readsContent bool
	global       *gate // global maxconn slots (max 0: unlimited)
	obs          observability

	// httpErrors are the http-errors sections (name, code, file)
	httpErrors map[string]map[int]string

	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
	stopping atomic.Bool

	loops []*evLoop
	// goServing counts the connections a goroutine serves now (http, the
	// general tcp path): the loops' short waits hold the processor and
	// skip while any runs on a single-processor runtime (loop.go)
	goServing atomic.Int64
	// set-up goroutines waiting for a connection (setupWorker)
	jobs chan setupJob
	quit chan struct{}
	// resolvers are the resolvers sections (resolvers.go), in file order
	// and by name
	resolverList []*resolverSet
	resolvers    map[string]*resolverSet
	idleSetup    atomic.Int32
	quitOnce     sync.Once

	stopChecks func()
	// stopResolutions ends the server name resolutions (resolvers.go)
	stopResolutions func()
	spreadChecks    int
}

type frontend struct {
	px *parser.Proxy
	// connRules, sessRules and rules are the tcp-request connection,
	// session and content rules (an http frontend's content rules are in
	// streamTracks): each list runs until one of its rules accepts
	connRules, sessRules, rules []tcpRule

	routes    []route
	defaultBE *backend
	slots     *gate
	lns       []net.Listener
	lnTLS     []*tls.Config // per listener: the bind's TLS side, or nil
	lnName    []string      // per listener: its name in logs (name option, else its number)
	rawLns    []*rawLn      // listeners of the plain tcp path (fastpath.go)
	http      *httpFE       // mode http
	ctr       counters
	// streamTracks are the tcp-request content rules of an http frontend
	// that track, count or set: they run on each request
	streamTracks []tcpRule
	// inspect: a tcp frontend's rules or routes read the client's first
	// bytes, waited for up to inspectDelay (inspect.go)
	inspect      bool
	inspectDelay time.Duration
}

type tcpRule struct {
	accept  bool
	content bool // tcp-request content
	session bool // tcp-request session (neither: connection)
	cond    *l4Cond
	track   *trackRule // a track-scN rule (neither accepts nor rejects)
	inc     *gpcInc    // an sc-inc-gpc0|1(N) rule (neither either)
	// act holds a set-var, unset-var, set-src, set-dst, set-src-port or
	// set-dst-port rule of an http frontend, run as its http-request
	// twin (with its own condition) on what the phase knows
	act []*httpRule
}

type route struct {
	be   *backend
	cond *l4Cond
	// dyn is a use_backend %[...] name, made per connection (a name that
	// is no tcp backend leaves the default backend)
	dyn *logFmt
	rt  *Runtime
}

type backend struct {
	px       *parser.Proxy
	sessions atomic.Int64 // live sessions, for dynamic maxconn
	fullconn int
	mu       sync.Mutex
	bal      *balance.Balancer
	servers  []*server
	http     *httpBE    // mode http
	connErrs connErrLog // stderr lines of failed connections (connerr.go)
	ctr      counters
	avail    beAvail
	fast     bool // the event loop may connect to its servers (fastpath.go)
}

type server struct {
	srv     *parser.Server
	addr    string
	addrNow atomic.Pointer[string] // set by `set server addr`
	limit   srvLimit
	st      *srvState
	tls     *tls.Config // `ssl` on the server line
	sendsPP bool        // send-proxy or send-proxy-v2
}

// endpoint is what the session books need of either connection; once an
// event loop owns the descriptors, closing is the loop's job.
type endpoint interface {
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	Close() error
}

type session struct {
	client, server endpoint
	srv            *server
	httpIdle       *atomic.Bool // http mode: true while waiting for the next request (the connection's own flag; under mu)
	info           sessInfo
	// kill ends a session an event loop holds (its descriptors are the
	// loop's to close); nil before the hand-over
	kill func()
}

// New builds the runtime for the tcp-mode proxies of cfg. Proxies in http
// mode are refused with their position: gohaka's http mode is not built
// yet.
func New(cfg *parser.Config, opts Options) (*Runtime, error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	r := &Runtime{jobs: make(chan setupJob), quit: make(chan struct{}), opts: opts, gcfg: &cfg.Global, backends: map[string]*backend{}, sessions: map[*session]struct{}{}, spreadChecks: cfg.Global.SpreadChecks,
		cfg: cfg, ctrTables: map[string]*ctrTable{}}
	r.httpErrors = httpErrorSections(cfg)
	r.resolverList, r.resolvers = newResolverSets(cfg)
	maxPipes := opts.MaxPipes
	if maxPipes == 0 {
		maxPipes = max(cfg.Global.Maxconn/4, 64)
		if cfg.Global.Maxpipes > 0 {
			maxPipes = cfg.Global.Maxpipes
		}
	}
	if cfg.Global.NoSplice {
		maxPipes = -1
	}
	r.pipes = &pipePool{max: max(maxPipes, 0), stats: &r.stats}
	r.global = newGate(cfg.Global.Maxconn) // 0: unlimited; `set maxconn global` can change it
	r.obs.init(cfg)
	for _, px := range cfg.Proxies {
		if px.Disabled || r.addPage(px) { // stats-only proxies: statspage.go
			continue
		}
		if px.Mode != "tcp" && px.Mode != "http" {
			return nil, fmt.Errorf("%s: %s '%s' is in mode %s, which gohaka run does not serve yet", px.Pos, px.Kind, px.Name, px.Mode)
		}
		if px.Cap&parser.CapBE != 0 {
			be := newBackend(px)
			for _, sv := range be.servers {
				if sv.srv.SSL {
					c, err := serverTLS(&cfg.Global, sv.srv)
					if err != nil {
						return nil, err
					}
					sv.tls = c
				}
			}
			r.backends[px.Name] = be
			if px.Mode == "http" {
				if err := r.newHTTPBackend(be); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, be := range r.backends {
		be.fullconn = fullconn(cfg, be.px)
		be.fast = be.fastConnect()
	}
	if err := r.setupSticks(cfg); err != nil { // stick.go
		return nil, err
	}
	for _, px := range cfg.Proxies {
		if px.Disabled || px.Cap&parser.CapFE == 0 || r.obs.isPage(px) {
			continue
		}
		fe, err := r.newFrontend(cfg, px)
		if err != nil {
			return nil, err
		}
		r.frontends = append(r.frontends, fe)
	}
	return r, nil
}

func newBackend(px *parser.Proxy) *backend {
	be := &backend{px: px}
	var bs []balance.Server
	for i, s := range px.Servers {
		st := balance.Up
		host, ok := initialHost(s)
		if s.Disabled || !ok {
			st = balance.Maint
		}
		bs = append(bs, balance.Server{Name: s.Name, ID: i + 1, Weight: s.Weight, Backup: s.Backup, State: st, Maxconn: s.Maxconn})
		sv := &server{srv: s, addr: net.JoinHostPort(host, fmt.Sprint(s.Addr.Port)), st: newSrvState(s), sendsPP: s.SendProxy || s.SendProxyV2}
		if !ok { // no address (":port"): in maintenance until resolvers find one
			sv.st.resMaint = true
			sv.st.dropHealth()
		}
		sv.limit = srvLimit{maxconn: s.Maxconn, minconn: s.Minconn, onQueue: func(n int) { sv.st.ctr.noteQueue(n); be.ctr.noteQueue(n) }}
		be.servers = append(be.servers, sv)
	}
	b := px.Balance
	ht := px.HashType
	spec := balance.Spec{Algo: b.Algo, Consistent: ht.Method == "consistent", Hash: balance.HashFuncByName(ht.Function),
		Avalanche:  balance.DefaultAvalanche(ht.Method == "consistent", ht.Pos.IsValid() && ht.Function != "sdbm" || false, ht.Avalanche),
		AllBackups: px.OptionOn("allbackups"), Draws: b.Draws, URIWhole: b.URIWhole, URIPathOnly: b.URIPathOnly,
		URILen: b.URILen, URIDepth: b.URIDepth, Param: b.Param, UseDomainOnly: b.UseDomainOnly}
	be.bal = balance.New(spec, bs, nil)
	return be
}

func (r *Runtime) newFrontend(cfg *parser.Config, px *parser.Proxy) (*frontend, error) {
	fe := &frontend{px: px}
	r.compilePx, r.readsContent = px, false
	defer func() {
		if fe.inspect = r.readsContent && px.Mode == "tcp"; fe.inspect {
			fe.inspectDelay = inspectDelay(px)
		}
	}()
	fe.slots = newGate(px.Maxconn) // 0: unlimited; `set maxconn frontend` can change it
	for _, rule := range px.Rules {
		if !strings.HasPrefix(rule.Keyword, "tcp-request ") {
			continue
		}
		if rule.Keyword == "tcp-request inspect-delay" {
			continue
		}
		track := strings.HasPrefix(rule.Action, "track-sc")
		inc, isInc := gpcAction(rule.Action)
		tr := tcpRule{accept: rule.Action == "accept", content: rule.Keyword == "tcp-request content",
			session: rule.Keyword == "tcp-request session"}
		if px.Mode == "http" && (setsAction(rule.Action) || tr.content && (tr.accept || rule.Action == "reject")) {
			// run as the http-request twin: content accept is allow
			twin := *rule
			if tr.content && tr.accept {
				twin.Action = "allow"
			}
			act, err := r.compileHTTPRule(px, &twin)
			if err != nil {
				return nil, err
			}
			act.content = tr.content
			tr.act = []*httpRule{act}
			fe.addTCPRule(tr)
			continue
		}
		if rule.Action != "accept" && rule.Action != "reject" && !track && !isInc {
			return nil, fmt.Errorf("%s: '%s %s' is not available in gohaka's %s runtime yet (%s are)", rule.Pos, rule.Keyword, rule.Action, px.Mode, tcpActionsDone[px.Mode])
		}
		c, err := r.compileCond(rule.Cond, px.ACLs)
		if err != nil {
			return nil, err
		}
		tr.cond = c
		if isInc {
			tr.inc = &inc
		}
		if track {
			if tr.track, err = r.compileTrack(px, rule); err != nil {
				return nil, err
			}
		}
		fe.addTCPRule(tr)
	}
	for _, u := range px.UseBackends {
		if px.Mode == "http" {
			break // compiled by newHTTPFrontend
		}
		c, err := r.compileCond(u.Cond, px.ACLs)
		if err != nil {
			return nil, err
		}
		if strings.Contains(u.Target, "%[") { // e.g. %[req.ssl_sni,lower,map(sni.map)]
			f, err := compileFmt(u.Target, u.Pos, r)
			if err != nil {
				return nil, err
			}
			for name := range contentFetches {
				if strings.Contains(u.Target, name) {
					r.readsContent = true // the hello is waited for, as for an ACL on it
				}
			}
			fe.routes = append(fe.routes, route{dyn: &f, cond: c, rt: r})
			continue
		}
		be := r.backends[u.Target]
		if be == nil {
			return nil, fmt.Errorf("%s: use_backend '%s' is not a tcp backend", u.Pos, u.Target)
		}
		fe.routes = append(fe.routes, route{be: be, cond: c})
	}
	if px.DefaultBackend != "" {
		fe.defaultBE = r.backends[px.DefaultBackend]
	} else if px.Cap&parser.CapBE != 0 {
		fe.defaultBE = r.backends[px.Name]
	}
	if px.Mode == "http" {
		return fe, r.newHTTPFrontend(cfg, fe)
	}
	return fe, nil
}

// Stats returns the forwarding counters.
func (r *Runtime) Stats() *Stats { return &r.stats }

// Start opens every listener; on error nothing stays open.
func (r *Runtime) Start() error {
	for _, fe := range r.frontends {
		for _, b := range fe.px.Binds {
			var tc *tls.Config
			if b.SSL {
				c, err := bindTLS(r.gcfg, b)
				if err != nil {
					r.closeListeners()
					return err
				}
				tc = c
			}
			lns, err := listen(b, fe.px.OptionOn("clitcpka") || fe.px.OptionOn("tcpka"), r.opts.Inherited)
			if err != nil {
				r.closeListeners()
				return fmt.Errorf("%s: %s '%s': cannot bind %s: %v", b.Pos, fe.px.Kind, fe.px.Name, b.Addr.Raw, err)
			}
			for _, ln := range lns {
				name := strconv.Itoa(len(fe.lns) + 1) // as haproxy names a listener in its logs
				if v := b.Options["name"]; len(v) > 0 && v[0] != "" {
					name = v[0]
				}
				fe.lns = append(fe.lns, ln)
				fe.lnTLS = append(fe.lnTLS, tc)
				fe.lnName = append(fe.lnName, name)
			}
		}
	}
	if err := r.startChecks(); err != nil {
		r.closeListeners()
		return err
	}
	if err := r.startResolutions(); err != nil {
		r.closeListeners()
		return err
	}
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		l, err := newLoop(r.pipes, &r.goServing)
		if err != nil {
			r.closeListeners()
			r.stopLoops()
			return err
		}
		r.loops = append(r.loops, l)
	}
	if err := r.startCLI(); err != nil {
		r.closeListeners()
		r.stopLoops()
		return err
	}
	nraw := 0
	for _, fe := range r.frontends {
		for i, ln := range fe.lns {
			if fd := rawListener(fe, ln, fe.lnTLS[i]); fd >= 0 {
				rl, err := r.startRaw(fe, fd, ln.Addr(), r.loops[nraw%len(r.loops)])
				if err == nil {
					nraw++
					fe.rawLns = append(fe.rawLns, rl)
					continue
				}
				unix.Close(fd)
			}
			r.wg.Add(1)
			go r.acceptLoop(fe, ln, fe.lnTLS[i], fe.lnName[i])
		}
	}
	return nil
}

// Addrs returns the listening addresses of a frontend (tests, logs).
func (r *Runtime) Addrs(name string) []net.Addr {
	var out []net.Addr
	for _, fe := range r.frontends {
		if fe.px.Name == name {
			for _, ln := range fe.lns {
				out = append(out, ln.Addr())
			}
		}
	}
	return out
}

func (r *Runtime) closeListeners() {
	if r.stopChecks != nil {
		r.stopChecks()
	}
	if r.stopResolutions != nil {
		r.stopResolutions()
	}
	r.stopCLI()
	for _, fe := range r.frontends {
		for _, ln := range fe.lns {
			ln.Close()
		}
		for _, rl := range fe.rawLns {
			rl.close()
		}
	}
}

// SoftStop stops listening and returns once every live session has ended
// (haproxy's SIGUSR1).
func (r *Runtime) SoftStop() {
	r.stopping.Store(true)
	r.closeListeners()
	r.closeIdleHTTP()
	r.wg.Wait()
	r.stopLoops()
	r.pipes.closeAll()
	r.obs.logs.close()
}

// stopLoops ends the event loops and any session they still hold.
func (r *Runtime) stopLoops() {
	r.quitOnce.Do(func() { close(r.quit) }) // idle set-up goroutines leave
	for _, l := range r.loops {
		l.stop()
	}
}

// Stop closes the listeners and every live session at once (SIGTERM).
func (r *Runtime) Stop() {
	r.stopping.Store(true)
	r.closeListeners()
	// the loops first: they own the descriptors of the sessions they hold
	r.stopLoops()
	r.mu.Lock()
	for s := range r.sessions {
		if s.kill != nil {
			continue // ended by its loop
		}
		s.client.Close()
		if s.server != nil {
			s.server.Close()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.pipes.closeAll()
	r.obs.logs.close()
}

func (r *Runtime) acceptLoop(fe *frontend, ln net.Listener, tc *tls.Config, lname string) {
	defer r.wg.Done()
	for {
		fe.slots.enter()
		r.global.enter()
		c, err := ln.Accept()
		if err != nil {
			r.release(fe)
			if r.stopping.Load() || strings.Contains(err.Error(), "use of closed") {
				return
			}
			r.opts.Logf("%s '%s': accept: %v", fe.px.Kind, fe.px.Name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r.wg.Add(1)
		j := setupJob{fe: fe, c: c, tc: tc, lname: lname, done: func() {
			r.release(fe)
			r.wg.Done()
		}}
		select {
		case r.jobs <- j: // an idle set-up goroutine takes it
		default:
			go r.setupWorker(j)
		}
	}
}

// setupJob is an accepted connection to set up.
type setupJob struct {
	fe    *frontend
	c     net.Conn
	tc    *tls.Config
	lname string // the listener's name in logs
	done  func()
}

// maxIdleSetup bounds the set-up goroutines kept waiting for work.
const maxIdleSetup = 16

// setupWorker sets connections up (serve) and then waits for the next
// one, so that a busy listener does not pay a goroutine start and stack
// growth per connection; beyond maxIdleSetup idle ones it exits.
func (r *Runtime) setupWorker(j setupJob) {
	for {
		r.serve(j.fe, j.c, j.tc, j.lname, j.done)
		if r.idleSetup.Add(1) > maxIdleSetup {
			r.idleSetup.Add(-1)
			return
		}
		select {
		case j = <-r.jobs:
			r.idleSetup.Add(-1)
		case <-r.quit:
			r.idleSetup.Add(-1)
			return
		}
	}
}

func (r *Runtime) release(fe *frontend) {
	fe.slots.leave()
	r.global.leave()
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

// serve sets one client connection up: PROXY header, TLS, rules, routing
// and the server connection. The established session is then handed to
// an event loop (or, with TLS, to streamPump), which ends it; a session
// that never gets there ends on its way out. done releases the accept
// slots.
func (r *Runtime) serve(fe *frontend, c net.Conn, tc *tls.Config, lname string, done func()) {
	r.goServing.Add(1)
	defer r.goServing.Add(-1)
	s := r.openSession(fe, c)
	handed, started := false, false
	defer func() {
		if !handed {
			// the books close before the client can see the end (and
			// connect again), as in haproxy's single event loop
			if started {
				r.sessionDone(s)
			}
			c.Close()
			r.track(s, false)
			done()
		}
	}()
	ci := connInfo{src: addrPort(c.RemoteAddr()), dst: addrPort(c.LocalAddr())}
	var tracked [3]bool // counters tracked for the session
	if !r.tcpPhase(fe, &ci, fe.connRules, &tracked) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // haproxy resets what its connection rules reject
		}
		return
	}
	ci.fcSrc, ci.fcDst = ci.src, ci.dst // what a PROXY header and later rules leave as they are
	if _, ok := fe.px.Binds[0].Options["accept-proxy"]; ok {
		pp, err := readProxyInfo(c, fe.px.Timeouts.Client)
		if err != nil {
			r.opts.Logf("%s '%s': bad PROXY header from %s: %v", fe.px.Kind, fe.px.Name, ci.src, err)
			fe.ctr.ereq.Add(1)
			return
		}
		if pp.src.IsValid() {
			ci.src, ci.dst = pp.src, pp.dst
		}
		ci.ppAuthority, ci.ppUniqueID = pp.authority, pp.uniqueID
	}
	if tc != nil {
		tlsc, err := handshake(c, tc, fe.px.Timeouts.Client)
		if err != nil {
			r.opts.Logf("%s '%s': %s: SSL handshake failure: %v", fe.px.Kind, fe.px.Name, ci.src, err)
			r.logHandshake(s, lname, c, err)
			return
		}
		c = tlsc
		ci.ssl, ci.sni = true, tlsc.ConnectionState().ServerName
	}
	if fe.inspect && tc == nil {
		size := r.gcfg.TuneBufsize
		if size <= 0 {
			size = 16384 // haproxy's default tune.bufsize
		}
		ci.hello = peekHello(c, fe.inspectDelay, size)
	}
	if !r.admit(fe, s, &ci, &tracked) {
		return
	}
	started = true
	if fe.http != nil {
		r.serveHTTP(fe, s, c, ci)
		return
	}
	be := fe.route(ci)
	if be == nil {
		return
	}
	handed = true
	r.mu.Lock()
	s.info.be = be // show sess reads it
	r.mu.Unlock()
	be.ctr.sessionStart(time.Now())
	r.forward(s, fe, be, c, ci, done, attemptsFrom{})
}

// openSession books a new client connection.
func (r *Runtime) openSession(fe *frontend, c endpoint) *session {
	s := &session{client: c, info: sessInfo{id: r.obs.nextSID.Add(1), fe: fe, start: time.Now()}}
	fe.ctr.connTot.Add(1)
	fe.ctr.connRate.add(s.info.start)
	r.track(s, true)
	return s
}

// admit runs the tcp-request session and content rules on a new
// session whose connection rules passed (tcp_rules.go); admitted, the
// session has started (counted, and logged where haproxy logs a connect).
// tracked are the counters tracked for the session so far.
func (r *Runtime) admit(fe *frontend, s *session, ci *connInfo, tracked *[3]bool) bool {
	if !r.tcpPhase(fe, ci, fe.sessRules, tracked) || !r.tcpPhase(fe, ci, fe.rules, tracked) {
		return false
	}
	for n, ok := range tracked {
		if ok { // the session is counted once its connection is accepted
			ci.sc[n].count(dSessCnt, dSessRate, 1)
		}
	}
	s.info.ci = *ci
	fe.ctr.sessionStart(s.info.start)
	r.logConnect(s)
	return true
}

// route is the backend a tcp session goes to, nil if none.
func (fe *frontend) route(ci connInfo) *backend {
	for _, rt := range fe.routes {
		if !rt.cond.eval(ci) {
			continue
		}
		if rt.dyn != nil {
			q := hreq{ci: &ci, rt: rt.rt, fe: fe}
			q.appendFirst = func(v []byte) bool { q.arena = append(q.arena, v...); return false }
			if be := rt.rt.backends[string(rt.dyn.value(&q))]; be != nil && be.http == nil {
				return be
			}
			break
		}
		return rt.be
	}
	return fe.defaultBE
}

// forward connects an admitted session to a server of be, from the
// attempt `from` says, and hands it to an event loop, or to streamPump
// where TLS is on a side. When that fails it closes the session's books
// itself; done releases the accept slots.
func (r *Runtime) forward(s *session, fe *frontend, be *backend, c net.Conn, ci connInfo, done func(), from attemptsFrom) {
	sc, sv, err := r.connectFrom(be, ci, c, &s.info, from)
	if err != nil {
		r.connErrf(be, "%v", err)
		r.endSession(s, c, done)
		return
	}
	rc := sc.(*releasingConn)
	sv.st.ctr.sessionStart(time.Now())
	be.sessions.Add(1)
	r.mu.Lock()
	s.server, s.srv = sc, sv
	r.mu.Unlock()
	end := r.endFor(s, be, sv, rc.doRelease, done)
	if tlsc, ok := c.(*tls.Conn); ok || sv.tls != nil {
		r.pumpTLS(fe, be, sv, c, rc, ci, tlsc, end)
		return
	}
	cs, ok := c.(sockConn)
	if !ok {
		c.Close()
		sc.Close()
		end(0, 0, nil, false)
		return
	}
	r.pump(s, fe, be, sv, cs, rc, ci, end)
}

// endSession closes the books of a session that reaches no server, then
// lets its client go (client may be nil: already closed).
func (r *Runtime) endSession(s *session, client io.Closer, done func()) {
	r.sessionDone(s)
	if client != nil {
		client.Close()
	}
	r.track(s, false)
	done()
}

// endFor is the end of a session connected to sv: release gives the
// balancer its connection back.
func (r *Runtime) endFor(s *session, be *backend, sv *server, release, done func()) endFunc {
	return func(up, down int64, err error, clientSide bool) {
		s.info.bytesIn.Store(up)
		s.info.bytesOut.Store(down)
		s.info.noteErr(err, clientSide)
		release()
		sv.limit.release()
		be.sessions.Add(-1)
		r.sessionDone(s)
		r.track(s, false)
		done()
	}
}

// endFunc ends a session: the bytes each way, and the error that ended
// it with the side it came from.
type endFunc func(up, down int64, err error, clientSide bool)

func (r *Runtime) track(s *session, add bool) {
	r.mu.Lock()
	if add {
		r.sessions[s] = struct{}{}
	} else {
		delete(r.sessions, s)
	}
	r.mu.Unlock()
}

// connect picks a server and connects to it, retrying as `retries` and
// `option redispatch` say.
func (r *Runtime) connect(be *backend, ci connInfo, client net.Conn, si *sessInfo) (net.Conn, *server, error) {
	return r.connectFrom(be, ci, client, si, attemptsFrom{})
}

// attemptsFrom is where a connect goes on from (the zero value: the
// start). The event loop's connect hands over with it when a server must
// be waited for or its first attempt failed.
type attemptsFrom struct {
	attempt int   // the next attempt
	tried   []int // the servers of the attempts before it
	lastErr error // the last failure
	picked  bool  // pick is the next attempt's server, already counted
	pick    int
}

// connectFrom is connect from a given attempt on.
func (r *Runtime) connectFrom(be *backend, ci connInfo, client net.Conn, si *sessInfo, from attemptsFrom) (net.Conn, *server, error) {
	px := be.px
	tried, lastErr := from.tried, from.lastErr
	for attempt := from.attempt; attempt <= px.Retries; attempt++ {
		var idx int
		lb := true
		if from.picked && attempt == from.attempt {
			idx = from.pick
		} else {
			if attempt > 0 {
				time.Sleep(turnAround(px))
			}
			idx, lb = r.pick(be, ci, attempt, tried)
			if idx < 0 {
				si.connErr = true
				return nil, nil, fmt.Errorf("no server is available")
			}
			r.noteAttempt(be, be.servers[idx], attempt, lb)
			tried = append(tried, idx)
		}
		sv := be.servers[idx]
		c, err := r.dial(be, sv, client, si)
		if err == nil {
			si.retries, si.redispatched = attempt, lb && attempt > 0
			return &releasingConn{TCPConn: c.(*net.TCPConn), release: func() { be.mu.Lock(); be.bal.Release(idx); be.mu.Unlock() }}, sv, nil
		}
		be.mu.Lock()
		be.bal.Release(idx)
		be.mu.Unlock()
		lastErr = err
		if r.attemptFailed(be, sv, err, si, client, attempt) {
			return nil, nil, err
		}
	}
	si.connErr, si.connTimeout, si.retries = true, timedOut(lastErr), px.Retries
	return nil, nil, lastErr
}

// pick chooses the server of a connection attempt and counts it in the
// balancer (-1: none is available): a retry goes back to the server
// tried last, unless `option redispatch` lets the last retry balance
// again; lb tells a balanced pick.
func (r *Runtime) pick(be *backend, ci connInfo, attempt int, tried []int) (idx int, lb bool) {
	px := be.px
	be.mu.Lock()
	defer be.mu.Unlock()
	if attempt > 0 && len(tried) > 0 && !(px.OptionOn("redispatch") && attempt == px.Retries) {
		idx = tried[len(tried)-1]
	} else {
		idx, lb = be.bal.Pick(&balance.Request{Src: ci.src.Addr()}), true
	}
	if idx >= 0 {
		be.bal.Acquire(idx)
	}
	return idx, lb
}

// attemptFailed books a failed connection attempt (its balancer count is
// already given back); true means stop trying: the client has left.
func (r *Runtime) attemptFailed(be *backend, sv *server, err error, si *sessInfo, client net.Conn, attempt int) bool {
	r.noteConnError(be, sv, err)
	si.tried = sv
	if clientClosed(client) { // haproxy stops trying once the client has left ("CC")
		si.connErr, si.cliLeft, si.retries = true, true, attempt
		return true
	}
	return false
}

// dial waits for a server slot (maxconn queue with `timeout queue`) and
// connects with `timeout connect`, sending a PROXY header when asked.
func (r *Runtime) dial(be *backend, sv *server, client net.Conn, si *sessInfo) (net.Conn, error) {
	px := be.px
	wait := px.Timeouts.Queue
	if wait == 0 {
		wait = px.Timeouts.Connect
	}
	var abort <-chan struct{}
	if px.OptionOn("abortonclose") {
		if cs, ok := client.(sockConn); ok {
			gone, stop := clientGone(cs)
			defer stop()
			abort = gone
		}
	}
	si.queueStart = time.Now()
	if err := sv.limit.acquire(func() int { return int(be.sessions.Load()) }, be.fullconn, wait, abort); err != nil {
		return nil, fmt.Errorf("server '%s': %v", sv.srv.Name, err)
	}
	si.connStart = time.Now()
	// no TCP keep-alive unless asked (option srvtcpka/tcpka), as haproxy:
	// it also spares four setsockopt calls per connection
	d := net.Dialer{Timeout: px.Timeouts.Connect, KeepAlive: -1}
	if px.OptionOn("srvtcpka") || px.OptionOn("tcpka") {
		d.KeepAlive = 0
	}
	src := px.Source
	if sv.srv.Source != "" {
		src = sv.srv.Source
	}
	if src != "" { // `source <addr>[:<port>]`: the local address of server connections
		host := strings.Fields(src)[0]
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	ctx := context.Background()
	addr := sv.address()
	if strings.HasPrefix(addr, ":") { // no address (resolution maintenance): never the local host
		sv.limit.release()
		return nil, fmt.Errorf("server '%s': no address", sv.srv.Name)
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		sv.limit.release()
		return nil, fmt.Errorf("server '%s' (%s): %w", sv.srv.Name, addr, err)
	}
	si.connected = time.Now()
	return c, nil
}

// releasingConn gives the balancer its connection count back on Close.
type releasingConn struct {
	*net.TCPConn
	once    sync.Once
	release func()
}

func (c *releasingConn) Close() error {
	c.doRelease()
	return c.TCPConn.Close()
}

// doRelease gives the connection count back, once.
func (c *releasingConn) doRelease() { c.once.Do(c.release) }

// pump sends the PROXY header a server asks for, then hands both sockets
// to an event loop; end runs once the session is over.
func (r *Runtime) pump(s *session, fe *frontend, be *backend, sv *server, cc sockConn, rc *releasingConn, ci connInfo, end endFunc) {
	st := rc.TCPConn
	fail := func(err error) {
		cc.Close()
		st.Close()
		end(0, 0, err, false)
	}
	if sv.srv.SendProxy || sv.srv.SendProxyV2 {
		if _, err := st.Write(proxyHeader(sv.srv.SendProxyV2, ci.src, ci.dst)); err != nil {
			fail(err)
			return
		}
	}
	tn := &tunnel{end: end, to: sessionTimeouts(fe, be)}
	// the loop owns duplicates of the descriptors: the connections (and
	// their netpoller state, a few hundred bytes each) go at once
	cfd, err := detach(cc)
	if err != nil {
		fail(err)
		return
	}
	sfd, err := detach(st)
	if err != nil {
		unix.Close(cfd)
		fail(err)
		return
	}
	cc.Close()
	st.Close()
	tn.fd = [2]int{cfd, sfd}
	l := r.loopFor(cfd)
	if err := l.add(tn); err != nil {
		unix.Close(cfd)
		unix.Close(sfd)
		end(0, 0, err, false)
		return
	}
	r.mu.Lock()
	s.kill = func() { l.kill(tn) }
	r.mu.Unlock()
}

// detach returns a duplicate of a connection's descriptor, for an event
// loop to own once the connection itself is closed.
func detach(c syscall.Conn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd, derr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return nfd, derr
}

// loopFor picks the event loop of a session.
func (r *Runtime) loopFor(fd int) *evLoop {
	return r.loops[fd%len(r.loops)]
}

// turnAround is haproxy's wait before a connection retry, so that a
// restarting server is not hammered: min(timeout connect, 1s).
func turnAround(px *parser.Proxy) time.Duration {
	if d := px.Timeouts.Connect; d > 0 && d < time.Second {
		return d
	}
	return time.Second
}

// fullconn is a backend's `fullconn`, or haproxy's default: 10% of the
// maxconn of the frontends that can route to it.
func fullconn(cfg *parser.Config, be *parser.Proxy) int {
	if be.Fullconn > 0 {
		return be.Fullconn
	}
	sum := 0
	for _, fe := range cfg.Frontends() {
		uses := fe.DefaultBackend == be.Name || fe == be
		for _, u := range fe.UseBackends {
			uses = uses || u.Target == be.Name
		}
		if uses {
			mc := fe.Maxconn
			if mc == 0 {
				mc = cfg.Global.Maxconn
			}
			if mc == 0 {
				mc = defaultMaxconn() // haproxy's computed global maxconn
			}
			sum += mc
		}
	}
	return (sum + 9) / 10 // rounded up, as haproxy
}
