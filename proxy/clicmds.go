package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/check"
)

// cliHelp lists the runtime API commands gohaka answers, in haproxy's
// words and layout.
var cliHelp = [][2]string{
	{"clear table <table> [<filter>]*", "remove an entry from a table (filter: data/key)"},
	{"disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)"},
	{"enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)"},
	{"get weight <bk>/<srv>", "report a server's current weight"},
	{"set maxconn frontend <frontend> <value>", "change a frontend's maxconn setting"},
	{"set maxconn global <value>", "change the per-process maxconn setting"},
	{"set maxconn server <bk>/<srv>", "change a server's maxconn setting"},
	{"set server <bk>/<srv> [opts]", "change a server's state, weight, address or ssl"},
	{"set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)"},
	{"show backend", "list backends in the current running config"},
	{"show cli level", "display the level of the current CLI session"},
	{"show info [desc|json|typed|float]*", "report information about the running process"},
	{"show resolvers [id]", "dumps counters from all resolvers section and associated name servers"},
	{"show servers state [<backend>]", "dump volatile server information (all or for a single backend)"},
	{"show sess [id]", "report the list of current sessions or dump this exact session"},
	{"show stat [desc|json|no-maint|typed|up]*", "report counters for each proxy and server"},
	{"show table <table> [<filter>]*", "report table usage stats or dump this table's contents (filter: data/key)"},
	{"show cache", "show cache status"},
	{"show version", "show version of the current process"},
	{"help [<command>]", "list matching or all commands"},
	{"prompt", "toggle interactive mode with prompt"},
	{"quit", "disconnect"},
}

func helpLine(e [2]string) string { return fmt.Sprintf("  %-40s: %s\n", e[0], e[1]) }

func helpText() string {
	var b strings.Builder
	b.WriteString("The following commands are valid at this level:\n")
	for _, e := range cliHelp {
		b.WriteString(helpLine(e))
	}
	return b.String()
}

// unknownCommand suggests the commands that start like the input.
func unknownCommand(words []string) string {
	var b strings.Builder
	b.WriteString("Unknown command, but maybe one of the following ones is a better match:\n")
	for n := min(len(words), 2); n > 0; n-- {
		prefix := strings.Join(words[:n], " ")
		found := false
		for _, e := range cliHelp[:len(cliHelp)-3] {
			if strings.HasPrefix(e[0], prefix+" ") || e[0] == prefix {
				b.WriteString(helpLine(e))
				found = true
			}
		}
		if found {
			break
		}
	}
	for _, e := range cliHelp[len(cliHelp)-3:] {
		b.WriteString(helpLine(e))
	}
	return b.String()
}

const permissionDenied = "Permission denied\n"

// execCLI runs one command and returns its output; the blank line that
// ends every answer is added by the caller.
func (r *Runtime) execCLI(sess *cliSession, line string) string {
	w := strings.Fields(line)
	if len(w) == 0 {
		return ""
	}
	arg := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	admin := sess.level >= levelAdmin
	switch {
	case w[0] == "_getsocks":
		// haproxy -x: a new process asks for the listening sockets. gohaka
		// hands them over on its own socket (cmd/gohaka handover.go); this
		// answer names the process to ask.
		if !sess.exposeFD || !admin {
			return "Permission denied\n"
		}
		return fmt.Sprintf("gohaka-listeners %d\n", os.Getpid())
	case w[0] == "help":
		return helpText()
	case w[0] == "prompt":
		sess.prompt = !sess.prompt
		return ""
	case w[0] == "show" && arg(1) == "version":
		return Version + "\n"
	case w[0] == "show" && arg(1) == "cli" && arg(2) == "level":
		return levelNames[sess.level] + "\n"
	case w[0] == "show" && arg(1) == "info":
		return r.showInfo()
	case w[0] == "show" && arg(1) == "stat":
		return r.showStat(w[2:], sess.level >= levelOperator) // addresses: not for level user
	case w[0] == "show" && arg(1) == "backend":
		var b strings.Builder
		b.WriteString("# name\n")
		for _, px := range r.obs.proxies {
			if be := r.backends[px.Name]; be != nil && be.px == px {
				b.WriteString(px.Name + "\n")
			}
		}
		return b.String()
	case w[0] == "show" && arg(1) == "servers" && arg(2) == "state":
		return r.showServersState(arg(3))
	case w[0] == "show" && arg(1) == "sess":
		return r.showSess()
	case w[0] == "show" && arg(1) == "resolvers":
		return r.showResolvers(arg(2)) // resolvers.go
	case w[0] == "show" && arg(1) == "table":
		return r.showTable(arg(2)) // stick.go
	case w[0] == "show" && arg(1) == "cache":
		return r.showCache() // http_cache_show.go
	case w[0] == "clear" && arg(1) == "table" && len(w) == 3:
		if !admin {
			return permissionDenied
		}
		t := r.ctrTables[arg(2)]
		if t == nil {
			if r.stickNamed(arg(2)) == nil {
				return "No such table\n"
			}
			return ""
		}
		t.clear()
		return ""
	case w[0] == "get" && arg(1) == "weight":
		be, i, msg := r.findServer(arg(2))
		if msg != "" {
			return msg
		}
		be.mu.Lock()
		cur := be.bal.Servers()[i].Weight
		be.mu.Unlock()
		return fmt.Sprintf("%d (initial %d)\n", cur, be.servers[i].st.iweight)
	case w[0] == "disable" && arg(1) == "server", w[0] == "enable" && arg(1) == "server":
		if !admin {
			return permissionDenied
		}
		be, i, msg := r.findServer(arg(2))
		if msg != "" {
			return msg
		}
		r.setAdmin(be, i, map[bool]string{true: "maint", false: "ready"}[w[0] == "disable"])
		return ""
	case w[0] == "set" && arg(1) == "weight":
		if !admin {
			return permissionDenied
		}
		return r.setWeight(arg(2), arg(3))
	case w[0] == "set" && arg(1) == "server":
		if !admin {
			return permissionDenied
		}
		return r.setServer(w[2:])
	case w[0] == "set" && arg(1) == "maxconn" && (arg(2) == "server" || arg(2) == "frontend" || arg(2) == "global"):
		if !admin {
			return permissionDenied
		}
		return r.setMaxconn(w[2:])
	}
	return unknownCommand(w)
}

// Version is what `show version` and `show info` report.
const Version = "2.6.12-gohaka"

// findServer resolves "backend/server" as haproxy's runtime API does.
func (r *Runtime) findServer(name string) (*backend, int, string) {
	bname, sname, ok := strings.Cut(name, "/")
	if !ok || sname == "" {
		return nil, -1, "Require 'backend/server'.\n"
	}
	be := r.backends[bname]
	if be == nil {
		return nil, -1, "No such backend.\n"
	}
	i := be.serverIndex(sname)
	if i < 0 {
		return nil, -1, "No such server.\n"
	}
	return be, i, ""
}

// setAdmin applies ready, drain or maint to a server and moves the
// balancer at once.
func (r *Runtime) setAdmin(be *backend, i int, state string) {
	st := be.servers[i].st
	_, act, bck := be.changeAdmin(i, func(st *srvState) bool {
		switch state {
		case "ready":
			st.maint, st.drain = false, false
		case "drain":
			st.drain = true
			st.maint = false
		case "maint":
			st.maint, st.drain = true, false
			st.dropHealth()
		}
		return true
	})
	name := be.px.Name + "/" + be.servers[i].srv.Name
	switch state {
	case "maint":
		r.opts.Logf("Server %s is going DOWN for maintenance. %d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.", name, act, bck, st.ctr.scur.Load())
	case "drain":
		r.opts.Logf("Server %s enters drain state. %d active and %d backup servers online. 0 sessions requeued, 0 total in queue.", name, act, bck)
	default:
		r.opts.Logf("Server %s is UP/READY (leaving forced maintenance).", name)
	}
	if act+bck == 0 {
		r.opts.Logf("backend '%s' has no server available!", be.px.Name)
	}
}

// setWeight is `set weight` and `set server B/S weight`.
func (r *Runtime) setWeight(name, val string) string {
	be, i, msg := r.findServer(name)
	if msg != "" {
		return msg
	}
	if val == "" {
		return "Require <weight> or <weight%>.\n"
	}
	st := be.servers[i].st
	rel := strings.HasSuffix(val, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(val, "%"))
	if err != nil {
		return "Empty weight string empty or preceded by garbage"
	}
	w := n
	if rel {
		if n < 0 {
			return "Relative weight must be positive.\n"
		}
		w = min((st.iweight*n+50)/100, 256)
	} else if n < 0 || n > 256 {
		return "Absolute weight can only be between 0 and 256 inclusive.\n"
	}
	be.mu.Lock()
	be.setWeight(i, w)
	be.mu.Unlock()
	return ""
}

const setServerUsage = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"

// setServer is `set server B/S state|weight|addr ...`.
func (r *Runtime) setServer(w []string) string {
	if len(w) == 0 {
		return "Require 'backend/server'.\n"
	}
	be, i, msg := r.findServer(w[0])
	if msg != "" {
		return msg
	}
	arg := func(k int) string {
		if k < len(w) {
			return w[k]
		}
		return ""
	}
	switch arg(1) {
	case "state":
		switch arg(2) {
		case "ready", "drain", "maint":
			r.setAdmin(be, i, arg(2))
			return ""
		}
		return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
	case "weight":
		return r.setWeight(w[0], arg(2))
	case "addr":
		return r.setAddr(be.servers[i], arg(2), arg(3), arg(4))
	}
	return setServerUsage
}

// setAddr moves a server to a new address and/or port; new connections
// go there at once.
func (r *Runtime) setAddr(sv *server, addr, portKw, port string) string {
	if addr == "" {
		return "set server <b>/<s> addr requires an address and optionally a port.\n"
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Sprintf("Invalid addr '%s' by 'stats socket command'\n", addr)
	}
	oldHost, oldPort, _ := net.SplitHostPort(sv.address())
	var parts []string
	newHost := ip.String()
	if newHost == oldHost {
		parts = append(parts, "no need to change the addr")
	} else {
		parts = append(parts, fmt.Sprintf("IP changed from '%s' to '%s'", oldHost, newHost))
	}
	newPort := oldPort
	if portKw == "port" && port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			parts = append(parts, fmt.Sprintf("problem converting port '%s' to an int", port))
		} else if port != oldPort {
			parts = append(parts, fmt.Sprintf("port changed from '%s' to '%s'", oldPort, port))
			newPort = port
		} else {
			parts = append(parts, "no need to change the port")
		}
	}
	a := net.JoinHostPort(newHost, newPort)
	sv.addrNow.Store(&a)
	sv.st.mu.Lock()
	sv.st.addrChg++
	sv.st.mu.Unlock()
	return strings.Join(parts, ", ") + " by 'stats socket command'\n"
}

// setMaxconn is `set maxconn server|frontend|global`.
func (r *Runtime) setMaxconn(w []string) string {
	arg := func(k int) string {
		if k < len(w) {
			return w[k]
		}
		return ""
	}
	switch w[0] {
	case "server":
		be, i, msg := r.findServer(arg(1))
		if msg != "" {
			return msg
		}
		if arg(2) == "" {
			return "Require <maxconn>.\n"
		}
		n, err := strconv.Atoi(arg(2))
		if err != nil || n < 0 {
			return "maxconn string empty or preceded by garbage"
		}
		be.servers[i].limit.setMax(n)
		return ""
	case "frontend":
		var fe *frontend
		for _, f := range r.frontends {
			if f.px.Name == arg(1) {
				fe = f
			}
		}
		if arg(1) == "" {
			return "A frontend name is expected.\n"
		}
		if fe == nil {
			return "No such frontend.\n"
		}
		if arg(2) == "" {
			return "Integer value expected.\n"
		}
		n, _ := strconv.Atoi(arg(2)) // haproxy reads it with atoi
		fe.slots.setMax(max(n, 0))
		return ""
	default: // global
		if arg(1) == "" {
			return "Expects an integer value.\n"
		}
		n, _ := strconv.Atoi(arg(1))
		if n > r.obs.hardMaxconn() {
			return "Value out of range.\n"
		}
		r.global.setMax(max(n, 0))
		return ""
	}
}

// hardMaxconn is the ceiling of `set maxconn global`: the maxconn the
// process started with.
func (o *observability) hardMaxconn() int {
	if o.cfg != nil && o.cfg.Global.Maxconn > 0 {
		return o.cfg.Global.Maxconn
	}
	return defaultMaxconn()
}

// checkStatusCode is haproxy's numeric check status (HCHK_STATUS_*) for
// `show servers state`.
func checkStatusCode(s check.Status) int {
	switch s {
	case check.StatusUnknown:
		return 0
	case check.StatusInit:
		return 1
	}
	return int(s) + 1 // haproxy has HCHK_STATUS_START between INI and CHECKED
}

// checkResultCode is haproxy's CHK_RES_* for `show servers state`.
func checkResultCode(st *srvState) int {
	if !st.checked {
		return 0
	}
	switch st.result.Status.Outcome() {
	case check.OutcomePassed:
		return 3
	case check.OutcomeCondPass:
		return 4
	case check.OutcomeNeutral:
		return 1
	case check.OutcomeFailed:
		return 2
	}
	return 0
}

// showServersState prints haproxy's server-state-file format (version 1).
func (r *Runtime) showServersState(only string) string {
	var b strings.Builder
	if only != "" {
		if be := r.backends[only]; be == nil {
			return "Can't find backend.\n"
		}
	}
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	now := time.Now()
	for _, px := range r.obs.proxies {
		be := r.backends[px.Name]
		if be == nil || be.px != px || only != "" && only != px.Name {
			continue
		}
		for i, sv := range be.servers {
			st := sv.st
			st.mu.Lock()
			op := 2
			if !st.running() {
				op = 0
			}
			adm := 0
			if st.maint {
				adm |= 0x01
			}
			if st.cfgMaint {
				adm |= 0x04
			}
			if st.drain {
				adm |= 0x08
			}
			if st.resMaint {
				adm |= 0x20
			}
			if st.hmaint {
				adm |= 0x40
			}
			cs, cst := 1, 0
			if st.hasCheck {
				cst = 6 // configured and enabled
				if st.checked {
					cs = checkStatusCode(st.result.Status)
				}
			}
			host, port, _ := net.SplitHostPort(sv.address())
			if host == "" {
				host = "-"
			}
			fqdn, srvrec := "-", "-"
			if a := sv.srv.Addr; a.IsName() {
				fqdn = a.Host
				if a.IsSRVName() { // an SRV record's server: its target
					fqdn, srvrec = st.srvTarget, a.Host
					if fqdn == "" {
						fqdn = "-"
					}
				}
			}
			forced := 0
			if len(sv.srv.Options["id"]) > 0 {
				forced = 1
			}
			bforced := 0
			if px.ID > 0 {
				bforced = 1
			}
			ssl := 0
			if sv.srv.SSL {
				ssl = 1
			}
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d 0 %d %d %s %s %s %d %d - - 0\n",
				r.obs.ids[px], px.Name, r.obs.srvID(be, i), sv.srv.Name, host, op, adm, st.uweight, st.iweight,
				int(now.Sub(st.lastChgOr(r.obs.start))/time.Second), cs, checkResultCode(st), st.health, cst,
				bforced, forced, fqdn, port, srvrec, ssl, sv.srv.CheckPort)
			st.mu.Unlock()
		}
	}
	return b.String()
}

// humanTime prints a duration as haproxy's human_time: 3s, 1m5s, 2h3m, 1d2h.
func humanTime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, (s%3600)/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, (s%86400)/3600)
}

// showSess lists the live sessions, one line each, with the first fields
// of haproxy's `show sess` line.
func (r *Runtime) showSess() string {
	r.mu.Lock()
	var list []*session
	for s := range r.sessions {
		list = append(list, s)
	}
	r.mu.Unlock()
	sort.Slice(list, func(a, b int) bool { return list[a].info.id < list[b].info.id })
	var b strings.Builder
	now := time.Now()
	for _, s := range list {
		be, srv := "<NONE>", "<none>"
		r.mu.Lock()
		if s.info.be != nil {
			be = s.info.be.px.Name
		}
		if s.srv != nil {
			srv = s.srv.srv.Name
		}
		r.mu.Unlock()
		proto := "tcpv4"
		src := s.client.RemoteAddr().String()
		if ap, err := netip.ParseAddrPort(src); err == nil && ap.Addr().Is6() && !ap.Addr().Is4In6() {
			proto = "tcpv6"
		}
		if _, ok := s.client.RemoteAddr().(*net.UnixAddr); ok {
			proto, src = "unix_stream", "unix:1"
		}
		fmt.Fprintf(&b, "0x%08x: proto=%s src=%s fe=%s be=%s srv=%s ts=00 epoch=0 age=%s calls=0 rate=0 cpu=0 lat=0\n",
			s.info.id, proto, src, s.info.fe.px.Name, be, srv, humanTime(now.Sub(s.info.start)))
	}
	return b.String()
}

// showInfo prints `show info` in haproxy's field order.
func (r *Runtime) showInfo() string {
	now := time.Now()
	up := now.Sub(r.obs.start)
	var cur, cum int64
	r.mu.Lock()
	cur = int64(len(r.sessions))
	r.mu.Unlock()
	var rate, rmax uint32
	for _, fe := range r.frontends {
		cum += fe.ctr.connTot.Load()
		c, m := fe.ctr.connRate.get(now)
		rate += c
		rmax = max(rmax, m)
	}
	var bout int64
	for _, be := range r.backends {
		bout += be.ctr.bout.Load()
	}
	host, _ := os.Hostname()
	var rlim int
	if n := defaultMaxconn(); n > 0 {
		rlim = n*2 + 31
	}
	stopping := 0
	if r.stopping.Load() {
		stopping = 1
	}
	kv := [][2]any{
		{"Name", "gohaka"}, {"Version", Version}, {"Release_date", "2026/12/01"}, {"Nbthread", 1}, {"Nbproc", 1},
		{"Process_num", 1}, {"Pid", os.Getpid()},
		{"Uptime", fmt.Sprintf("%dd %dh%02dm%02ds", int(up.Hours())/24, int(up.Hours())%24, int(up.Minutes())%60, int(up.Seconds())%60)},
		{"Uptime_sec", int(up.Seconds())}, {"Memmax_MB", 0}, {"PoolAlloc_MB", 0}, {"PoolUsed_MB", 0}, {"PoolFailed", 0},
		{"Ulimit-n", rlim}, {"Maxsock", rlim}, {"Maxconn", r.globalMaxconn()}, {"Hard_maxconn", r.obs.hardMaxconn()},
		{"CurrConns", cur}, {"CumConns", cum}, {"CumReq", r.obs.cumReq.Load()}, {"MaxSslConns", 0}, {"CurrSslConns", 0}, {"CumSslConns", 0},
		{"Maxpipes", r.pipes.max}, {"PipesUsed", r.stats.PipesInUse.Load()}, {"PipesFree", 0},
		{"ConnRate", rate}, {"ConnRateLimit", 0}, {"MaxConnRate", rmax}, {"SessRate", rate}, {"SessRateLimit", 0}, {"MaxSessRate", rmax},
		{"SslRate", 0}, {"SslRateLimit", 0}, {"MaxSslRate", 0}, {"SslFrontendKeyRate", 0}, {"SslFrontendMaxKeyRate", 0},
		{"SslFrontendSessionReuse_pct", 0}, {"SslBackendKeyRate", 0}, {"SslBackendMaxKeyRate", 0}, {"SslCacheLookups", 0},
		{"SslCacheMisses", 0}, {"CompressBpsIn", 0}, {"CompressBpsOut", 0}, {"CompressBpsRateLim", 0}, {"Tasks", 0},
		{"Run_queue", 0}, {"Idle_pct", 100}, {"node", host}, {"Stopping", stopping}, {"Jobs", cur}, {"Unstoppable Jobs", 0},
		{"Listeners", r.listenerCount()}, {"ActivePeers", 0}, {"ConnectedPeers", 0}, {"DroppedLogs", 0}, {"BusyPolling", 0},
		{"FailedResolutions", 0}, {"TotalBytesOut", bout}, {"TotalSplicdedBytesOut", r.stats.SpliceBytes.Load()},
		{"BytesOutRate", 0}, {"DebugCommandsIssued", 0}, {"CumRecvLogs", 0}, {"Build info", Version},
		{"Memmax_bytes", 0}, {"PoolAlloc_bytes", 0}, {"PoolUsed_bytes", 0}, {"Start_time_sec", r.obs.start.Unix()}, {"Tainted", 0},
	}
	var b strings.Builder
	for _, e := range kv {
		fmt.Fprintf(&b, "%s: %v\n", e[0], e[1])
	}
	return b.String()
}

func (r *Runtime) listenerCount() int {
	n := 0
	for _, fe := range r.frontends {
		n += len(fe.lns)
	}
	r.obs.cliMu.Lock()
	n += len(r.obs.cli)
	r.obs.cliMu.Unlock()
	return n
}

// showStat is `show stat [typed|json|up|no-maint]`.
func (r *Runtime) showStat(args []string, admin bool) string {
	typed, js, upOnly, noMaint := false, false, false, false
	// optional filter: {<iid>|<proxy>} <type> <sid>, type a bit field
	// (1 frontends, 2 backends, 4 servers), -1 for all
	fIID, fType, fSID := "-1", -1, "-1"
	if len(args) >= 3 {
		if n, err := strconv.Atoi(args[1]); err == nil {
			fIID, fType, fSID = args[0], n, args[2]
			args = args[3:]
		}
	}
	for _, a := range args {
		switch a {
		case "typed":
			typed = true
		case "json":
			js = true
		case "up":
			upOnly = true
		case "no-maint":
			noMaint = true
		}
	}
	var rows []*statRow
	all := r.statRows(admin)
	if upOnly || noMaint {
		// with servers hidden, haproxy shows how many are up next to a
		// backend's status: "UP (2/2)"
		up, total := map[string]int{}, map[string]int{}
		for _, row := range all {
			if row.typ == rowServer {
				total[row.px]++
				if row.bal == 0 {
					up[row.px]++
				}
			}
		}
		for _, row := range all {
			if row.typ == rowBackend && total[row.px] > 0 {
				row.f["status"] = fmt.Sprintf("%s (%d/%d)", row.f["status"], up[row.px], total[row.px])
			}
		}
	}
	for _, row := range all {
		if row.typ == rowServer && (upOnly && row.bal != 0 || noMaint && row.f["status"] == "MAINT") {
			continue
		}
		if fIID != "-1" && fIID != row.f["iid"] && fIID != row.px ||
			fType != -1 && fType&(1<<row.typ) == 0 ||
			fSID != "-1" && row.typ == rowServer && fSID != row.f["sid"] {
			continue
		}
		rows = append(rows, row)
	}
	switch {
	case js:
		return statJSON(rows)
	case typed:
		return statTyped(rows)
	}
	var b strings.Builder
	b.WriteString(statHeader())
	for _, row := range rows {
		b.WriteString(strings.Join(row.fields(), ","))
		b.WriteString(",\n")
	}
	return b.String()
}
