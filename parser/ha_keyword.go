package parser

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// kwState is the keyword table, built once from the generated data.
type kwState struct {
	proxy      map[string]string // keyword -> sections (dflb)
	proxyNames []string
	multi      map[string]bool // first words of multi-word proxy keywords
	global     map[string]bool
	globalList []string
	fetch      map[string]bool
	conv       map[string]bool
	actions    map[string]map[string]bool // rule keyword -> actions
	predefACL  map[string]bool
}

var (
	kwOnce  sync.Once
	kwTable *kwState
)

func newKwState() *kwState {
	kwOnce.Do(func() { kwTable = buildKwState() })
	return kwTable
}

func set(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, v := range l {
			m[v] = true
		}
	}
	return m
}

func buildKwState() *kwState {
	k := &kwState{proxy: map[string]string{}, multi: map[string]bool{}}
	for name, s := range haProxyKeywordSections {
		k.proxy[name] = s
	}
	// Keywords the 2.6 manual documents outside the keyword index.
	for name, s := range map[string]string{
		"option http-tunnel": "", "option forceclose": "", "stats bind-process": "",
		"no": "dflb", "default": "dflb", "errorloc": "dflb", "enabled": "dflb",
		"http-error": "dflb", "stick-table": "flb", "server-template": "lb",
		"rate-limit sessions": "dfl", "persist rdp-cookie": "dlb", "stats show-modules": "dflb", // haproxy 2.6 takes it in a frontend without a word
	} {
		if _, ok := k.proxy[name]; !ok && s != "" {
			k.proxy[name] = s
		}
	}
	for name := range k.proxy {
		if i := strings.IndexByte(name, ' '); i > 0 {
			k.multi[name[:i]] = true
		}
		k.proxyNames = append(k.proxyNames, name)
	}
	sort.Strings(k.proxyNames)
	extraGlobal := []string{"master-worker", "nbproc", "stats", "thread-group", "thread-groups",
		"tune.listener.multi-queue", "tune.h2.max-frame-size", "tune.http.cookielen",
		"tune.ssl.ocsp-update.maxdelay", "tune.ssl.ocsp-update.mindelay", "tune.h2.be.initial-window-size",
		"tune.h2.fe.initial-window-size", "tune.fail-alloc", "tune.rcvbuf.frontend", "tune.sndbuf.frontend",
		"tune.rcvbuf.backend", "tune.sndbuf.backend", "tune.memory.hot-size", "debug", "ssl-load-extra-files",
		"ssl-load-extra-del-ext", "tune.lua.log.loggers", "tune.lua.log.stderr", "log-send-hostname",
		"h1-case-adjust", "tune.ssl.keylog", "busy-polling", "noktls", "anonkey", "hard-stop-after",
		"mworker-max-reloads", "cpu-map", "localpeer", "tune.h2.header-table-size", "tune.quic.socket-owner",
		"profiling.memory", "nbthread", "numa-cpu-mapping", "tune.http.maxhdr", "tune.idle-pool.shared",
		"tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio", "ssl-default-server-curves", "tune.ssl.capture-cipherlist-size",
		"tune.bufsize.small", "tune.ring.queues", "httpclient.timeout.connect", "httpclient.retries"}
	k.global = set(haGlobalKeywordList, extraGlobal)
	// Keywords that a later haproxy knows but 2.6 rejects.
	for _, n := range []string{"tune.lua.bool-sample-conversion", "thread-group", "thread-groups", "tune.memory.hot-size",
		"tune.bufsize.small", "tune.ring.queues", "noktls", "tune.fail-alloc", "tune.ssl.ocsp-update.maxdelay",
		"tune.ssl.ocsp-update.mindelay", "tune.quic.socket-owner", "httpclient.timeout.connect", "httpclient.retries",
		"tune.rcvbuf.frontend", "tune.sndbuf.frontend", "tune.rcvbuf.backend", "tune.sndbuf.backend", "tune.lua.log.loggers",
		"tune.lua.log.stderr", "debug", "anonkey", "wurfl-data-file", "wurfl-information-list",
		"wurfl-information-list-separator", "wurfl-cache-size", "51degrees-data-file", "51degrees-property-name-list",
		"51degrees-property-separator", "51degrees-cache-size", "deviceatlas-json-file", "deviceatlas-log-level",
		"deviceatlas-separator", "deviceatlas-properties-cookie"} {
		delete(k.global, n) // not built into the Debian 2.6 binary, or newer
	}
	for n := range k.global {
		k.globalList = append(k.globalList, n)
	}
	sort.Strings(k.globalList)
	k.fetch = set(haFetchList, []string{"req.ssl_sni", "req_ssl_sni", "ssl_fc", "ssl_fc_sni", "src", "dst", "dst_port",
		"src_port", "always_true", "always_false", "nbsrv", "url_param", "urlp", "hdr", "status", "var", "env", "int",
		"str", "bool", "ipv4", "ipv6", "bin", "meth", "http_auth_group", "req_len", "req.len", "req.payload",
		"req.payload_lv", "rdp_cookie", "req.rdp_cookie", "req_rdp_cookie", "wait_end", "payload", "payload_lv",
		"path_beg", "path_end", "path_sub", "path_reg", "path_dir", "path_dom", "path_len", "path_str",
		"url_beg", "url_end", "url_sub", "url_reg", "url_dir", "url_dom", "url_len", "url_str", "url_ip", "url_port",
		"hdr_beg", "hdr_end", "hdr_sub", "hdr_reg", "hdr_dir", "hdr_dom", "hdr_len", "hdr_str", "hdr_cnt", "hdr_ip", "hdr_val",
		"base_beg", "base_end", "base_sub", "base_reg", "base_dir", "base_dom", "base_len", "base_str",
		"cook_beg", "cook_end", "cook_sub", "cook_reg", "cook_dir", "cook_dom", "cook_len", "cook_str", "cook_cnt", "cook_val",
		"urlp_beg", "urlp_end", "urlp_sub", "urlp_reg", "urlp_dir", "urlp_dom", "urlp_len", "urlp_str", "urlp_val",
		"req.ssl_hello_type", "req_ssl_hello_type", "req.ssl_ver", "req_ssl_ver", "res.ssl_hello_type", "rep_ssl_hello_type",
		"sc_http_req_rate", "src_conn_rate", "be_id", "fe_id", "srv_id", "so_id", "ssl_c_used", "ssl_c_verify",
		"method", "path", "query", "url", "base", "unique-id", "uuid", "rand", "date", "now", "hostname", "nbproc", "proc", "thread", "stopping", "txn.id32", "fe_name", "be_name", "cook", "scook", "shdr", "res.hdr", "req.hdr", "capture.req.hdr"})
	k.conv = set(haConverterList, []string{"set-var", "unset-var", "debug", "add_item", "be2dec", "be2hex",
		"concat", "strcmp", "secure_memcmp", "word", "field", "regsub", "sub", "mul", "div", "mod", "neg", "and", "or", "xor", "cpl",
		"length", "lower", "upper", "ltime", "utime", "json", "base64", "b64dec", "ub64enc", "ub64dec", "url_dec", "url_enc"})
	// the map family: map_<match>[_<output>]
	for _, m := range []string{"str", "beg", "sub", "dir", "dom", "end", "reg", "regm", "int", "ip"} {
		k.conv["map_"+m] = true
		for _, o := range []string{"str", "int", "ip"} {
			k.conv["map_"+m+"_"+o] = true
		}
	}
	k.actions = map[string]map[string]bool{
		"http-request":        set(haHTTPRequestActionList, []string{"lua", "use-service", "set-bandwidth-limit"}),
		"http-response":       set(haHTTPResponseActionList, []string{"lua", "set-bandwidth-limit"}),
		"http-after-response": set(haHTTPAfterResponseActionList),
	}
	for _, r := range haTCPRuleList {
		f := strings.Fields(r)
		if len(f) == 3 {
			key := f[0] + " " + f[1]
			if k.actions[key] == nil {
				k.actions[key] = map[string]bool{}
			}
			k.actions[key][f[2]] = true
		}
	}
	for _, key := range []string{"tcp-request connection", "tcp-request session", "tcp-request content", "tcp-response content"} {
		if k.actions[key] == nil {
			k.actions[key] = map[string]bool{}
		}
		for _, a := range []string{"accept", "reject", "lua", "set-var", "unset-var", "track-sc0", "track-sc1", "track-sc2",
			"sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0", "silent-drop", "close", "capture", "switch-mode", "use-service",
			"set-bandwidth-limit", "expect-proxy", "expect-netscaler-cip", "set-log-level", "do-resolve", "set-dst",
			"set-src", "set-var-fmt", "set-mark", "set-tos", "set-nice", "set-priority-class", "set-priority-offset",
			"send-spoe-group", "attach-srv", "sc-add-gpc", "sc-inc-gpc", "sc-set-gpt", "set-fc-mark", "set-fc-tos", "set-dst-port", "set-src-port"} {
			k.actions[key][a] = true
		}
	}
	k.predefACL = set(haPredefinedACLList)
	return k
}

// keyword dispatches one statement to the handler of the current section.
func (r *haReader) keyword(words []string, pos []Pos) {
	switch r.sec.kind {
	case "global":
		r.globalKeyword(words, pos)
	case "defaults", "frontend", "backend", "listen":
		if r.sec.failed {
			r.d.Errorf(pos[0], "'listen' or 'defaults' expected.")
			return
		}
		r.proxyKeyword(words, pos)
	case "userlist":
		r.userlistKeyword(words, pos)
	default:
		r.otherKeyword(words, pos)
	}
}

// removedKeywords are the directives haproxy 2.6 refuses with a message
// naming their replacement.
var removedKeywords = map[string]string{
	"reqrep":   "The 'reqrep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-path', 'http-request replace-uri' or 'http-request replace-header' instead.",
	"reqirep":  "The 'reqirep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-path', 'http-request replace-uri' or 'http-request replace-header' instead.",
	"reqadd":   "The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead.",
	"reqiadd":  "The 'reqiadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead.",
	"rspadd":   "The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead.",
	"rspiadd":  "The 'rspiadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead.",
	"rsprep":   "The 'rsprep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead.",
	"rspirep":  "The 'rspirep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead.",
	"reqdel":   "The 'reqdel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.",
	"reqidel":  "The 'reqidel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.",
	"rspdel":   "The 'rspdel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead.",
	"rspidel":  "The 'rspidel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead.",
	"reqdeny":  "The 'reqdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.",
	"reqideny": "The 'reqideny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.",
	"rspdeny":  "The 'rspdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.",
	"rspideny": "The 'rspideny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.",
	"reqpass":  "The 'reqpass' directive is not supported anymore since HAProxy 2.1.", "reqipass": "The 'reqipass' directive is not supported anymore since HAProxy 2.1.",
	"reqallow":           "The 'reqallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.",
	"reqiallow":          "The 'reqiallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.",
	"reqtarpit":          "The 'reqtarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.",
	"reqitarpit":         "The 'reqitarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.",
	"reqsetbe":           "The 'reqsetbe' directive is not supported anymore since HAProxy 2.1. Use 'use_backend' instead.",
	"reqisetbe":          "The 'reqisetbe' directive is not supported anymore since HAProxy 2.1. Use 'use_backend' instead.",
	"block":              "The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' which uses the exact same syntax.",
	"redispatch":         "The 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.",
	"clitimeout":         "the 'clitimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout client'.",
	"srvtimeout":         "the 'srvtimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout server'.",
	"contimeout":         "the 'contimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout connect'.",
	"monitor-net":        "The 'monitor-net' directive is not supported anymore since HAProxy 2.2. Use 'http-request return status 200 if { src <net> }' instead.",
	"option http-tunnel": "parsing [%s] : option 'http-tunnel' is not supported anymore since HAProxy 2.1. Please remove it.",
	"option forceclose":  "option 'forceclose' is not supported anymore since HAProxy 2.0. Please use 'option httpclose' instead.",
}

// lookupProxyKeyword finds the longest known keyword at the start of words
// (e.g. "capture request header", "timeout client", "bind").
func (k *kwState) lookupProxyKeyword(words []string) (string, int) {
	for n := min(3, len(words)); n >= 1; n-- {
		key := strings.Join(words[:n], " ")
		if i := strings.IndexByte(key, '('); i > 0 && n > 1 {
			key = key[:i] // http-check set-var(check.x)
		}
		if _, ok := k.proxy[key]; ok {
			return key, n
		}
	}
	return "", 0
}

// sectionLetter maps a proxy section kind to its letter in the table.
func sectionLetter(kind string) string {
	return map[string]string{"defaults": "d", "frontend": "f", "listen": "l", "backend": "b"}[kind]
}

// unknownProxyKeyword reports an unknown keyword with a suggestion.
func (r *haReader) unknownProxyKeyword(words []string, pos []Pos) {
	k := r.kw
	name := words[0]
	if name == "option" && len(words) == 1 {
		r.d.Errorf(pos[0], "'option' expects an option name.")
		r.d[len(r.d)-1].Form = "colon"
		return
	}
	if name == "timeout" && len(words) > 1 {
		r.d.Errorf(pos[1], "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '%s')", words[1])
		return
	}
	if k.multi[name] && len(words) > 1 {
		var cands []string
		for _, n := range k.proxyNames {
			if rest, ok := strings.CutPrefix(n, name+" "); ok {
				cands = append(cands, rest)
			}
		}
		if name == "option" {
			msg := fmt.Sprintf("unknown option '%s'", words[1])
			if s := suggest(words[1], cands); s != "" {
				msg += fmt.Sprintf("; did you mean '%s' maybe ?", s)
			}
			r.d.Errorf(pos[1], "%s", msg)
			return
		}
		switch name {
		case "capture":
			r.d.Errorf(pos[1], "'capture' expects 'cookie' or 'request header' or 'response header'.")
			return
		case "stats":
			r.d.Errorf(pos[1], "unknown stats parameter '%s', expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.", words[1])
			r.d[len(r.d)-1].Form = "colon"
			return
		}
		r.d.Errorf(pos[1], "'%s' expects one of %s, but got '%s'.", name, quoteList(cands), words[1])
		return
	}
	var cands []string
	seen := map[string]bool{}
	for _, n := range k.proxyNames {
		// "timeout" of "timeout client" is a keyword too; "no" and
		// "default" of "no option" are prefixes, not keywords
		first, _, _ := strings.Cut(n, " ")
		if !seen[first] && first != "no" && first != "default" {
			seen[first] = true
			cands = append(cands, first)
		}
	}
	msg := fmt.Sprintf("unknown keyword '%s' in '%s' section", name, r.sec.kind)
	if s := suggest(name, cands); s != "" {
		msg += fmt.Sprintf("; did you mean '%s' maybe ?", s)
	}
	r.d.Errorf(pos[0], "%s", msg)
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}

// notImpl records that a known keyword is accepted and stored but gohaka
// does not act on it yet.
func (r *haReader) notImpl(p Pos, kw string, where string) {
	r.d = append(r.d, Diag{Pos: p, Sev: Warning, Keyword: kw, NotImpl: true,
		Msg: fmt.Sprintf("'%s' is a known haproxy keyword that gohaka does not implement yet (in %s); it is ignored", kw, where)})
}
