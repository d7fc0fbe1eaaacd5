package parser

import (
	"net/netip"
	"strings"
	"time"
)

// Config is the shared model: everything gohaka read from haproxy.cfg and
// keepalived.conf, with defaults inheritance already resolved. Runtime
// packages read it and never the files.
type Config struct {
	// HAProxyFiles lists the haproxy files read, in order.
	HAProxyFiles []string
	Global       Global
	// Defaults holds every defaults section in file order (named and
	// anonymous). Proxies already carry their inherited values.
	Defaults []*Proxy
	// Proxies holds frontends, backends and listens in file order.
	Proxies   []*Proxy
	Userlists []*Userlist
	// Resolvers holds the resolvers sections in file order.
	Resolvers []*Resolvers
	// Others holds the sections gohaka stores without interpreting
	// (peers, resolvers, cache, mailers, ring, ...).
	Others []*Section
	// peerListeners counts the peer lines naming this host: haproxy
	// listens there for its peers (Listeners)
	peerListeners int
	// Keepalived is the keepalived.conf part, nil when none was read.
	Keepalived *Keepalived
}

// Frontends returns the proxies that accept connections (frontend, listen).
func (c *Config) Frontends() []*Proxy {
	return c.filter(func(p *Proxy) bool { return p.Cap&CapFE != 0 })
}

// Backends returns the proxies that hold servers (backend, listen).
func (c *Config) Backends() []*Proxy {
	return c.filter(func(p *Proxy) bool { return p.Cap&CapBE != 0 })
}

// Backend returns the backend or listen proxy of that name, or nil.
func (c *Config) Backend(name string) *Proxy {
	for _, p := range c.Proxies {
		if p.Name == name && p.Cap&CapBE != 0 {
			return p
		}
	}
	return nil
}

func (c *Config) filter(keep func(*Proxy) bool) []*Proxy {
	var out []*Proxy
	for _, p := range c.Proxies {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// Section is a section stored as its lines (for the sections gohaka does not
// interpret yet).
type Section struct {
	Kind  string
	Name  string
	Pos   Pos
	Lines []Line
}

// Line is one logical config line: its words and where each came from.
type Line struct {
	Words []string
	Pos   []Pos
}

// Global is the global section.
type Global struct {
	Pos            Pos
	Daemon         bool
	MasterWorker   bool
	Maxconn        int
	Nbthread       int
	User           string
	Group          string
	UID, GID       int
	Chroot         string
	Pidfile        string
	UlimitN        int
	HardStopAfter  time.Duration
	SpreadChecks   int
	Logs           []LogTarget
	StatsSockets   []StatsSocket
	StatsTimeout   time.Duration
	TuneBufsize    int
	TuneMaxrewrite int
	Maxpipes       int
	NoSplice       bool
	Env            map[string]string
	CaBase         string
	CrtBase        string
	// Settings keeps every other global keyword as read.
	Settings []Line
}

// StatsSocket is a `stats socket` line of the global section.
type StatsSocket struct {
	Pos      Pos
	Addr     Addr
	Mode     uint32
	Level    string
	ExposeFD bool
	Options  []string
}

// ProxyCap says what a proxy does.
type ProxyCap int

// Proxy capabilities.
const (
	CapFE ProxyCap = 1 << iota
	CapBE
	CapDefaults
)

// Proxy is a frontend, backend, listen or defaults section with its
// effective values (defaults applied).
type Proxy struct {
	Kind string // "frontend", "backend", "listen", "defaults"
	Name string
	Pos  Pos
	Cap  ProxyCap
	From string // defaults section it inherits from ("" = last anonymous)

	Mode        string // "tcp" or "http"
	Disabled    bool
	Description string
	ID          int

	Binds         []*Bind
	Servers       []*Server
	DefaultServer *Server

	ACLs              []*ACL
	UseBackends       []*UseBackend
	DefaultBackend    string
	DefaultBackendPos Pos
	UseServers        []*UseBackend
	Rules             []*Rule // tcp-request, http-request, http-response, redirect, ...

	Timeouts  Timeouts
	Maxconn   int
	Fullconn  int
	Retries   int
	Balance   Balance
	HashType  HashType
	Cookie    *Cookie
	Check     HealthCheck
	Stats     Stats
	Logs      []LogTarget
	LogGlobal bool
	LogFormat string
	// UniqueIDFormat and UniqueIDHeader are unique-id-format (a log
	// format) and unique-id-header.
	UniqueIDFormat, UniqueIDHeader string
	Options                        map[string]Option
	Errorfiles                     map[int]string
	HTTPReuse                      string
	Source                         string
	Captures                       []Line
	// StickTable is the stick-table line, when there is one.
	StickTable *Line
	// Settings keeps every other keyword line as read, in order.
	Settings []Line

	defaults  *Proxy          // defaults section this proxy was built from
	hasRules  ruleKinds       // for defaults: which rule families it defines
	ruleSeen  map[string]bool // rule kinds it has so far (ha_misplaced.go)
	usedBy    ProxyCap        // for defaults with rules: which sides inherit it
	trackRefs []tableRef      // stick tables the rules refer to
}

// tableRef is a reference from a rule to a stick table.
type tableRef struct {
	pos   Pos
	table string
	what  string
}

// DefaultsSection returns the defaults section the proxy inherited from.
func (p *Proxy) DefaultsSection() *Proxy { return p.defaults }

// ruleKinds records which rule families a defaults section defines.
type ruleKinds struct {
	http, tcpConnSess, tcpContent, tcpResponse bool
}

func (k ruleKinds) any() bool { return k.http || k.tcpConnSess || k.tcpContent || k.tcpResponse }

// Option is the state of one `option X` line.
type Option struct {
	Pos     Pos
	Enabled bool // false for `no option X`
	Args    []string
}

// OptionOn reports whether `option name` is in force for the proxy.
func (p *Proxy) OptionOn(name string) bool {
	o, ok := p.Options[name]
	return ok && o.Enabled
}

// Timeouts are the proxy timeouts; zero means unset.
type Timeouts struct {
	Client, Server, Connect, Queue, Tunnel           time.Duration
	ClientFin, ServerFin, HTTPRequest, HTTPKeepAlive time.Duration
	Check, Tarpit                                    time.Duration
}

// Addr is a listening or server address as written, with the parsed form.
type Addr struct {
	Raw        string
	Family     string // "ipv4", "ipv6", "unix", "abns", "fd", "" (hostname)
	Host       string // address or hostname as written (no brackets)
	IP         netip.Addr
	Port       int    // 0 when absent
	PortEnd    int    // for ranges, else equal to Port
	PortOffset bool   // "+N"/"-N" relative ports (servers)
	Path       string // unix socket path
}

// IsName reports whether the address is a host name to resolve (not an
// IP, a socket path, "*" or nothing).
func (a Addr) IsName() bool {
	return !a.IP.IsValid() && a.Path == "" && a.Host != "" && a.Host != "*"
}

// IsSRVName reports whether the address is an SRV record's name
// (_service._proto.name), which resolvers ask for at run time.
func (a Addr) IsSRVName() bool { return a.IsName() && strings.HasPrefix(a.Host, "_") }

// Bind is one address of a bind line (a bind line with several addresses
// gives several Binds sharing the options).
type Bind struct {
	Pos     Pos
	Addr    Addr
	Options map[string][]string
	SSL     bool
	Crts    []string
}

// Server is a server or default-server line with its effective options.
type Server struct {
	Pos  Pos
	Name string
	// fileErrs are its missing crt files, reported once
	// every proxy is read, as haproxy opens them then
	fileErrs Diags
	Addr     Addr
	// Resolved holds the addresses the resolver returned for a hostname.
	Resolved                    []netip.Addr
	Weight                      int
	Backup                      bool
	Disabled                    bool
	Check                       bool
	Inter, FastInter, DownInter time.Duration
	Rise, Fall                  int
	CheckPort                   int
	CheckAddr                   string
	Maxconn, Minconn, Maxqueue  int
	Slowstart                   time.Duration
	Cookie                      string
	SendProxy, SendProxyV2      bool
	SSL                         bool
	AgentCheck                  bool
	AgentPort                   int
	AgentInter                  time.Duration
	AgentSend                   string
	OnMarkedDown                string
	Track                       string
	Source                      string
	// Options keeps every option as read, keyword to arguments.
	Options map[string][]string
}

// ACL is a named acl line.
type ACL struct {
	Pos    Pos
	Name   string
	Fetch  string   // fetch with converters, as written
	Flags  []string // -i, -m str, -f file, ...
	Values []string
}

// Cond is an `if`/`unless` condition as written, with its parsed form.
type Cond struct {
	Pos    Pos
	Unless bool
	Words  []string
	Expr   *CondExpr
}

// UseBackend is a use_backend or use-server rule.
type UseBackend struct {
	Pos    Pos
	Target string
	Cond   *Cond
}

// Rule is an action rule: tcp-request, http-request, http-response,
// http-after-response, redirect, tcp-response, stick ...
type Rule struct {
	Pos     Pos
	Keyword string // "http-request", "tcp-request connection", ...
	Action  string
	Args    []string
	Cond    *Cond
}

// Balance is a `balance` line.
type Balance struct {
	Pos                   Pos
	Algo                  string // roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr, rdp-cookie, random, hash
	Param                 string // url_param name, hdr name, rdp-cookie name, hash expression
	Draws                 int    // random(draws)
	URIWhole, URIPathOnly bool
	URILen, URIDepth      int
	CheckPost             bool
	UseDomainOnly         bool
}

// HashType is a `hash-type` line.
type HashType struct {
	Pos       Pos
	Method    string // map-based (default) or consistent
	Function  string // sdbm (default), djb2, wt6, crc32, none
	Avalanche bool
}

// Cookie is a `cookie` line.
type Cookie struct {
	Pos                                                              Pos
	Name                                                             string
	Mode                                                             string // insert, rewrite, prefix
	Indirect, NoCache, PostOnly, Preserve, HTTPOnly, Secure, Dynamic bool
	Domains                                                          []string
	MaxIdle, MaxLife                                                 time.Duration
	Attrs                                                            []string
}

// HealthCheck is the check configuration of a backend.
type HealthCheck struct {
	Type         string // "", "httpchk", "tcp-check", "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check", "smtpchk", "ldap-check", "external-check"
	Pos          Pos
	Args         []string
	HTTPCheck    []Line // http-check rules
	TCPCheck     []Line // tcp-check rules
	DisableOn404 bool
	// SendState is `http-check send-state`; unlike the rest it passes
	// from defaults to frontends too, as in haproxy
	SendState bool
}

// Stats is the stats page configuration of a proxy.
type Stats struct {
	Enabled                                      bool
	URI                                          string
	Realm                                        string
	Auths                                        []string
	Refresh                                      time.Duration
	HideVersion, ShowLegends, ShowNode, ShowDesc bool
	Admin                                        *Cond
	Scopes                                       []string
	Pos                                          Pos
}

// LogTarget is a `log` line.
type LogTarget struct {
	Pos      Pos
	Global   bool // `log global`
	Addr     string
	Len      int
	Format   string
	Facility string
	Level    string
	MinLevel string

	globalEmpty bool // `log global` seen while global had no log line yet
}

// Userlist is a userlist section.
type Userlist struct {
	Pos    Pos
	Name   string
	Users  []User
	Groups map[string][]string
}

// User is one user of a userlist.
type User struct {
	Pos      Pos
	Name     string
	Password string
	Insecure bool
	Groups   []string
}

// Resolvers is a resolvers section: the name servers gohaka asks for the
// addresses of servers that name it (`server ... resolvers NAME`), and
// its timers, haproxy's defaults filled in.
type Resolvers struct {
	Pos         Pos
	Name        string
	Nameservers []Nameserver
	// ResolvConf is set by parse-resolv-conf: the name servers of
	// /etc/resolv.conf are added when gohaka starts, before the
	// ResolvConfAt-th of Nameservers (where the line was).
	ResolvConf   bool
	ResolvConfAt int
	// Retries is resolve_retries: queries sent before a resolution fails.
	Retries int
	// Resolve is `timeout resolve`, the time between resolutions; Retry
	// is `timeout retry`, how long a query waits for its answer.
	Resolve, Retry time.Duration
	// Hold holds `hold <status> <time>` for valid, nx, refused, timeout,
	// other and obsolete: how long the last valid answer stays in use
	// while resolutions end in that status.
	Hold map[string]time.Duration
	// PayloadSize is accepted_payload_size, announced with EDNS.
	PayloadSize int
}

// Nameserver is one `nameserver NAME ADDR:PORT` line.
type Nameserver struct {
	Pos  Pos
	Name string
	Addr netip.AddrPort
	TCP  bool // tcp@ADDR (gohaka asks over udp only, and says so)
}
