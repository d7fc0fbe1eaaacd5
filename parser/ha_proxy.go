package parser

import (
	"fmt"
	"strings"
	"time"
)

// proxyHandler fills the model from one proxy keyword line; args and apos
// are the words after the keyword.
type proxyHandler func(r *haReader, px *Proxy, key string, args []string, apos []Pos, kpos Pos)

var proxyHandlers map[string]proxyHandler

func init() {
	proxyHandlers = map[string]proxyHandler{
		"mode": (*haReader).kwMode,
		"bind": func(r *haReader, px *Proxy, _ string, a []string, p []Pos, k Pos) {
			r.bindLine(px, append([]string{"bind"}, a...), append([]Pos{k}, p...))
		},
		"server":                     (*haReader).kwServer,
		"default-server":             (*haReader).kwServer,
		"server-template":            (*haReader).kwServer,
		"balance":                    (*haReader).kwBalance,
		"hash-type":                  (*haReader).kwHashType,
		"acl":                        (*haReader).kwACL,
		"use_backend":                (*haReader).kwUseBackend,
		"use-server":                 (*haReader).kwUseBackend,
		"default_backend":            (*haReader).kwDefaultBackend,
		"maxconn":                    (*haReader).kwInt,
		"fullconn":                   (*haReader).kwInt,
		"retries":                    (*haReader).kwInt,
		"backlog":                    (*haReader).kwInt,
		"log":                        (*haReader).kwLog,
		"log-format":                 (*haReader).kwString,
		"description":                (*haReader).kwString,
		"disabled":                   (*haReader).kwFlag,
		"enabled":                    (*haReader).kwFlag,
		"id":                         (*haReader).kwInt,
		"cookie":                     (*haReader).kwCookie,
		"errorfile":                  (*haReader).kwErrorfile,
		"http-reuse":                 (*haReader).kwString,
		"source":                     (*haReader).kwString,
		"stick-table":                (*haReader).kwStickTable,
		"redirect":                   (*haReader).kwRule,
		"http-request":               (*haReader).kwRule,
		"http-response":              (*haReader).kwRule,
		"http-after-response":        (*haReader).kwRule,
		"tcp-request connection":     (*haReader).kwRule,
		"tcp-request session":        (*haReader).kwRule,
		"tcp-request content":        (*haReader).kwRule,
		"tcp-response content":       (*haReader).kwRule,
		"tcp-request inspect-delay":  (*haReader).kwInspectDelay,
		"tcp-response inspect-delay": (*haReader).kwInspectDelay,
		"capture request header":     (*haReader).kwCapture,
		"capture response header":    (*haReader).kwCapture,
		"capture cookie":             (*haReader).kwCapture,
		"declare capture":            (*haReader).kwCapture,
		"filter":                     (*haReader).kwFilter,
		"errorfiles":                 (*haReader).kwString,
		"http-error":                 (*haReader).kwHTTPError,
		"compression":                (*haReader).kwCompression,
		"stick on":                   (*haReader).kwStick,
		"stick match":                (*haReader).kwStick,
		"stick store-request":        (*haReader).kwStick,
		"monitor-uri":                (*haReader).kwString,
		"unique-id-format":           (*haReader).kwString,
		"unique-id-header":           (*haReader).kwString,
	}
	for _, t := range haTimeoutList {
		proxyHandlers["timeout "+t] = (*haReader).kwTimeout
	}
	for _, s := range haStatsList {
		proxyHandlers["stats "+s] = (*haReader).kwStats
	}
	for _, h := range haHTTPCheckList {
		proxyHandlers["http-check "+h] = (*haReader).kwCheckRule
	}
	for _, h := range haTCPCheckList {
		proxyHandlers["tcp-check "+h] = (*haReader).kwCheckRule
	}
}

// proxyKeyword handles one line of a defaults/frontend/backend/listen.
func (r *haReader) proxyKeyword(words []string, pos []Pos) {
	px := r.sec.px
	if px == nil {
		return
	}
	if msg, ok := removedKeywords[words[0]]; ok {
		r.d.Errorf(pos[0], "%s", msg)
		return
	}
	if words[0] == "option" && len(words) > 1 {
		if msg, ok := removedKeywords["option "+words[1]]; ok {
			r.d.Errorf(pos[1], "%s", strings.Replace(msg, "parsing [%s] : ", "", 1))
			return
		}
	}
	enabled := true
	if (words[0] == "no" || words[0] == "default") && len(words) > 1 {
		if words[1] != "option" && words[1] != "log" {
			r.d.Errorf(pos[0], "'%s' only supported in front of 'option' or 'log'.", words[0])
			return
		}
		enabled = words[0] == "default"
		if words[1] == "log" {
			px.Logs, px.LogGlobal = nil, false
			return
		}
		words, pos = words[1:], pos[1:]
	}
	key, n := r.kw.lookupProxyKeyword(words)
	if key == "" {
		r.unknownProxyKeyword(words, pos)
		return
	}
	kind := r.sec.kind
	switch key {
	case "option httplog", "option tcplog", "option httpslog":
		if kind == "backend" {
			r.d.Warnf(pos[0], "%s '%s' : '%s' directive is ignored in backends.", kind, px.Name, key)
			if key == "option httplog" { // still set: the post-parse checks see it
				r.kwOption(px, key[7:], enabled, words[n:], pos[n:], pos[0])
			}
			return
		}
	}
	if !strings.Contains(r.kw.proxy[key], sectionLetter(kind)) {
		if kind == "defaults" {
			r.d.Errorf(pos[0], "'%s' not allowed in 'defaults' section.", key)
			if key == "server" || key == "server-template" {
				r.d[len(r.d)-1].Form = "bracket"
			}
			return
		}
		capName := "frontend"
		if !strings.Contains(r.kw.proxy[key], "f") {
			capName = "backend"
		}
		switch key {
		case "server", "default-server", "server-template": // haproxy's server parser refuses them
			r.d.Errorf(pos[0], "'%s' not allowed because %s '%s' has no %s capability.", key, kind, px.Name, capName)
			r.d[len(r.d)-1].Form = "double"
		case "tcp-response content":
			r.d.Errorf(pos[0], "tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name")
		case "maxconn":
			r.d.Warnf(pos[0], "'maxconn' ignored because %s '%s' has no frontend capability. Maybe you want 'fullconn' instead ?", kind, px.Name)
		default:
			if strings.HasPrefix(key, "timeout ") {
				if len(words) > n+1 { // the extra word is the error haproxy reports
					r.kwTimeout(px, key, words[n:], pos[n:], pos[0])
					return
				}
				r.d.Warnf(pos[0], "'%s' will be ignored because %s '%s' has no %s capability", key, kind, px.Name, capName)
				return
			}
			r.d.Warnf(pos[0], "'%s' ignored because %s '%s' has no %s capability.", strings.TrimPrefix(key, "option "), kind, px.Name, capName)
		}
		return
	}
	args, apos := words[n:], pos[n:]
	if r.tooManyArgs(proxyMaxArgs, key, args, apos) {
		return
	}
	if strings.HasPrefix(key, "option ") {
		r.kwOption(px, key[7:], enabled, args, apos, pos[0])
		return
	}
	r.warnMisplaced(px, key, pos[0])
	nd := len(r.d)
	defer func() {
		if !r.d[nd:].HasErrors() {
			px.noteRule(key)
		}
	}()
	if h := proxyHandlers[key]; h != nil {
		h(r, px, key, args, apos, pos[0])
		return
	}
	r.notImpl(pos[0], key, fmt.Sprintf("%s '%s'", kind, px.Name))
	px.Settings = append(px.Settings, Line{Words: words, Pos: pos})
}

func (r *haReader) needArgs(key string, args []string, n int, kpos Pos, what string) bool {
	if len(args) < n {
		r.d.Errorf(kpos, "'%s' expects %s.", key, what)
		return false
	}
	return true
}

func (r *haReader) kwMode(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) == 0 {
		r.d.Errorf(kpos, "unknown proxy mode ''.")
		return
	}
	switch args[0] {
	case "tcp", "http":
		px.Mode = args[0]
	case "health":
		r.d.Errorf(apos[0], "'mode health' doesn't exist anymore. Please use 'http-request return' or 'tcp-request connection reject' instead.")
	default:
		r.d.Errorf(apos[0], "unknown proxy mode '%s'.", args[0])
	}
}

func (r *haReader) kwInt(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	what := "an integer argument"
	if key == "retries" {
		what = "an integer argument (dispatch counts for one)"
	}
	if !r.needArgs(key, args, 1, kpos, what) {
		return
	}
	n, ok := atoi(args[0])
	if !ok && key == "retries" { // haproxy reads it as atol does: no digits, 0
		n, ok = 0, true
	}
	if !ok || n < 0 {
		r.d.Errorf(apos[0], "'%s' expects an integer argument.", key)
		return
	}
	switch key {
	case "maxconn":
		px.Maxconn = n
	case "fullconn":
		px.Fullconn = n
	case "retries":
		px.Retries = n
	case "id":
		if n <= 0 {
			r.d.Errorf(apos[0], "custom id has to be > 0.")
		}
		px.ID = n
	default:
		px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
	}
}

func (r *haReader) kwString(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if !r.needArgs(key, args, 1, kpos, "an argument") {
		return
	}
	v := strings.Join(args, " ")
	switch key {
	case "log-format":
		for _, o := range []string{"httplog", "tcplog", "httpslog"} {
			delete(px.Options, o)
		}
		px.LogFormat = args[0]
		r.checkLogFormat(px, args[0], apos[0], key)
	case "description":
		px.Description = v
	case "unique-id-format":
		px.UniqueIDFormat = args[0]
	case "unique-id-header":
		px.UniqueIDHeader = args[0]
	case "http-reuse":
		switch args[0] {
		case "never", "safe", "aggressive", "always":
			px.HTTPReuse = args[0]
		default:
			r.d.Errorf(apos[0], "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'")
		}
	case "source":
		px.Source = v
	default:
		px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
	}
}

func (r *haReader) kwFlag(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	px.Disabled = key == "disabled"
}

func (r *haReader) kwTimeout(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	name := key[len("timeout "):]
	if len(args) < 1 {
		r.d.Errorf(kpos, "'timeout %s' expects an integer value (in milliseconds)", name)
		return
	}
	d, trailing, err := parseTimeLax(args[0])
	if len(args) > 1 { // haproxy still takes the value
		r.d.Errorf(apos[1], "'timeout %s' : unexpected extra argument '%s' after value '%s'.", name, args[1], args[0])
		if f := timeoutField(&px.Timeouts, name); f != nil && err == nil {
			*f = d
		}
		return
	}
	if trailing != "" {
		r.d.Warnf(apos[0], "unexpected character '%c' after the timer value '%s', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions.", trailing[0], args[0])
		r.d[len(r.d)-1].Form = "raw"
	}
	if err != nil {
		if err.Error() == "timer overflow" {
			r.d.Errorf(apos[0], "timer overflow in argument '%s' to 'timeout %s' (maximum value is 2147483647 ms or ~24.8 days)", args[0], name)
		} else {
			r.d.Errorf(apos[0], "%s in 'timeout %s'", err, name)
		}
		return
	}
	f := timeoutField(&px.Timeouts, name)
	if f == nil {
		return
	}
	var inherited Timeouts // what its defaults section gave it
	if px.defaults != nil {
		inherited = px.defaults.Timeouts
	}
	if px.Kind != "defaults" && *f != *timeoutField(&inherited, name) {
		r.d.Warnf(kpos, "overwriting 'timeout %s' which was already specified", name)
	}
	*f = d
}

func (r *haReader) kwInspectDelay(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if px.Kind == "defaults" && px.Name == "" {
		if strings.HasPrefix(key, "tcp-response") {
			r.d.Errorf(kpos, "%s is only allowed in 'backend' sections or 'defaults' section with a name", key)
		} else {
			r.d.Errorf(kpos, "%s is not allowed in anonymous 'defaults' sections", key)
		}
		return
	}
	if strings.HasPrefix(key, "tcp-response") && px.Cap&CapBE == 0 && px.Kind != "defaults" {
		r.d.Warnf(kpos, "'%s' ignored because %s '%s' has no backend capability.", key, px.Kind, px.Name)
		return
	}
	if len(args) < 1 {
		r.d.Errorf(kpos, "'%s' expects a positive delay in milliseconds, in %s '%s'", key, px.Kind, px.Name)
		return
	}
	if _, err := parseTime(args[0]); err != nil {
		r.d.Errorf(apos[0], "'%s' %s", key, err)
		return
	}
	px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
}

func (r *haReader) kwErrorfile(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) < 2 {
		r.d.Errorf(kpos, "'errorfile' expects <status_code> and <file> as arguments.")
		return
	}
	code, ok := strictInt(args[0])
	if !ok {
		r.d.Errorf(apos[0], "'errorfile' expects <status_code> and <file> as arguments.")
		return
	}
	switch code {
	case 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504:
	default:
		r.d.Warnf(apos[0], "status code '%d' not handled.", code)
		return
	}
	if r.checkFile(apos[1], args[1], "errorfile : error opening file '%s'.") {
		px.Errorfiles[code] = args[1]
	}
}

func (r *haReader) kwCapture(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	px.Captures = append(px.Captures, Line{Words: append(strings.Fields(key), args...), Pos: append([]Pos{kpos}, apos...)})
}

func (r *haReader) kwStickTable(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if !r.needArgs(key, args, 2, kpos, "'type' followed by a table type") {
		return
	}
	px.StickTable = &Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)}
}

func (r *haReader) kwFilter(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if !r.needArgs(key, args, 1, kpos, "a filter name") {
		return
	}
	if args[0] == "spoe" {
		cfg := ""
		for i := 1; i+1 < len(args); i++ {
			if args[i] == "config" {
				cfg = args[i+1]
			}
		}
		if cfg == "" {
			r.d.Errorf(kpos, "'filter' : ''spoe' : missing config file'")
			return
		}
		r.checkFile(kpos, cfg, "'filter' : ''spoe' : failed to open file '%s'")
	}
	if args[0] != "compression" || len(args) > 1 { // the compression filter is what `compression` lines run
		r.notImpl(kpos, "filter", fmt.Sprintf("%s '%s'", px.Kind, px.Name))
	}
	px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
}

// timeoutField is the field of t a `timeout NAME` line sets (nil: none).
func timeoutField(t *Timeouts, name string) *time.Duration {
	switch name {
	case "client":
		return &t.Client
	case "server":
		return &t.Server
	case "connect":
		return &t.Connect
	case "queue":
		return &t.Queue
	case "tunnel":
		return &t.Tunnel
	case "client-fin":
		return &t.ClientFin
	case "server-fin":
		return &t.ServerFin
	case "http-request":
		return &t.HTTPRequest
	case "http-keep-alive":
		return &t.HTTPKeepAlive
	case "check":
		return &t.Check
	case "tarpit":
		return &t.Tarpit
	}
	return nil
}
