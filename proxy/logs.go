package proxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// Syslog facilities and levels in haproxy's (and syslog's) order.
var (
	logFacilities = strings.Fields("kern user mail daemon auth syslog lpr news uucp cron auth2 ftp ntp audit alert cron2 local0 local1 local2 local3 local4 local5 local6 local7")
	logLevels     = strings.Fields("emerg alert crit err warning notice info debug")
)

const levelInfo = 6

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// logTarget is one `log` line: where and how to send.
type logTarget struct {
	addr     string
	network  string // "udp", "unixgram", "" for a writer
	w        io.Writer
	format   string // rfc3164 (default), rfc5424, raw, short
	facility int
	level    int // most verbose level sent
	minLevel int // levels more severe than this are sent as this (-1: none)
	maxLen   int

	mu   sync.Mutex
	conn net.Conn
}

// logSet holds the log targets of each proxy and what the headers need.
type logSet struct {
	byProxy  map[*parser.Proxy][]*logTarget
	tag      string
	hostname string // sent only with log-send-hostname
	host     string // %H
	pid      int
	logf     func(string, ...any)
	counts   sync.Map // *parser.Proxy -> *atomic.Int64 (the %lc counter)
}

// newLogSet builds the targets of every proxy; `log global` takes the
// global section's lines.
func newLogSet(cfg *parser.Config, logf func(string, ...any)) *logSet {
	ls := &logSet{byProxy: map[*parser.Proxy][]*logTarget{}, tag: "haproxy", pid: os.Getpid(), logf: logf}
	ls.host, _ = os.Hostname()
	for _, l := range cfg.Global.Settings {
		if len(l.Words) >= 2 && l.Words[0] == "log-tag" {
			ls.tag = l.Words[1]
		}
		if len(l.Words) >= 1 && l.Words[0] == "log-send-hostname" {
			ls.hostname = ls.host
			if len(l.Words) >= 2 {
				ls.hostname = l.Words[1]
			}
		}
	}
	global := make([]*logTarget, 0, len(cfg.Global.Logs))
	for _, t := range cfg.Global.Logs {
		if lt := newLogTarget(t); lt != nil {
			global = append(global, lt)
		}
	}
	for _, px := range cfg.Proxies {
		var ts []*logTarget
		for _, t := range px.Logs {
			if t.Global {
				ts = append(ts, global...)
			} else if lt := newLogTarget(t); lt != nil {
				ts = append(ts, lt)
			}
		}
		if len(ts) > 0 {
			ls.byProxy[px] = ts
		}
	}
	return ls
}

// newLogTarget reads a `log` line's address, format, facility and levels.
func newLogTarget(t parser.LogTarget) *logTarget {
	lt := &logTarget{addr: t.Addr, format: t.Format, facility: indexOf(logFacilities, t.Facility),
		level: 7, minLevel: -1, maxLen: 1024}
	if lt.format == "" {
		lt.format = "rfc3164"
	}
	if t.Len > 0 {
		lt.maxLen = t.Len
	}
	if t.Level != "" {
		lt.level = indexOf(logLevels, t.Level)
	}
	if t.MinLevel != "" {
		lt.minLevel = indexOf(logLevels, t.MinLevel)
	}
	a := t.Addr
	switch {
	case a == "stdout" || a == "fd@1":
		lt.w = os.Stdout
	case a == "stderr" || a == "fd@2":
		lt.w = os.Stderr
	case strings.HasPrefix(a, "/"):
		lt.network, lt.addr = "unixgram", a
	case strings.HasPrefix(a, "unix@"):
		lt.network, lt.addr = "unixgram", strings.TrimPrefix(a, "unix@")
	case strings.HasPrefix(a, "ring@"):
		return nil // rings are not served by gohaka yet
	default:
		for _, p := range []string{"udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"} {
			a = strings.TrimPrefix(a, p)
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(strings.Trim(a, "[]"), "514")
		}
		lt.network, lt.addr = "udp", a
	}
	return lt
}

// send formats one message for the target and sends it.
func (lt *logTarget) send(ls *logSet, level int, now time.Time, msg string) {
	if level > lt.level {
		return
	}
	if lt.minLevel >= 0 && level < lt.minLevel {
		level = lt.minLevel
	}
	pri := lt.facility*8 + level
	var hdr string
	switch lt.format {
	case "raw":
	case "short":
		hdr = fmt.Sprintf("<%d>", level)
	case "rfc5424":
		host := ls.hostname
		if host == "" {
			host = "-"
		}
		hdr = fmt.Sprintf("<%d>1 %s %s %s %d - - ", pri, now.Format("2006-01-02T15:04:05.000000-07:00"), host, ls.tag, ls.pid)
	default: // rfc3164
		host := ""
		if ls.hostname != "" {
			host = ls.hostname + " "
		}
		hdr = fmt.Sprintf("<%d>%s %s%s[%d]: ", pri, now.Format("Jan _2 15:04:05"), host, ls.tag, ls.pid)
	}
	line := hdr + msg
	if len(line) > lt.maxLen {
		line = line[:lt.maxLen]
	}
	b := []byte(line + "\n")
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.w != nil {
		lt.w.Write(b)
		return
	}
	if lt.conn == nil {
		c, err := net.Dial(lt.network, lt.addr)
		if err != nil {
			return // haproxy drops logs it cannot send (DroppedLogs)
		}
		lt.conn = c
	}
	if _, err := lt.conn.Write(b); err != nil {
		lt.conn.Close()
		lt.conn = nil
	}
}

// emit sends a message to every target of a proxy.
func (ls *logSet) emit(px *parser.Proxy, level int, now time.Time, msg string) {
	for _, t := range ls.byProxy[px] {
		t.send(ls, level, now, msg)
	}
}

// close releases the sockets.
func (ls *logSet) close() {
	for _, ts := range ls.byProxy {
		for _, t := range ts {
			t.mu.Lock()
			if t.conn != nil {
				t.conn.Close()
				t.conn = nil
			}
			t.mu.Unlock()
		}
	}
}

// tcpLogFormat is haproxy's `option tcplog` format.
const tcpLogFormat = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

// sessionFormat returns the log-format a frontend's sessions use, or ""
// when they log only "Connect from" at accept (no tcplog, no log-format).
func sessionFormat(px *parser.Proxy) string {
	switch {
	case px.LogFormat != "":
		return px.LogFormat
	case px.OptionOn("tcplog"), px.OptionOn("httplog"): // httplog falls back to tcplog in tcp mode
		return tcpLogFormat
	}
	return ""
}

// logConnect is the line haproxy logs at accept when the frontend has
// logs but no log format: "Connect from <src> to <dst> (<fe>/TCP)".
func (r *Runtime) logConnect(s *session) {
	ls := r.obs.logs
	fe := s.info.fe
	if ls == nil || ls.byProxy[fe.px] == nil || sessionFormat(fe.px) != "" {
		return
	}
	ls.emit(fe.px, levelInfo, s.info.start, fmt.Sprintf("Connect from %s to %s (%s/%s)",
		s.info.ci.src, s.info.ci.dst, fe.px.Name, strings.ToUpper(fe.px.Mode)))
}

// logSession emits the session's log line where the frontend logs.
func (r *Runtime) logSession(s *session, end time.Time) {
	ls := r.obs.logs
	fe := s.info.fe
	if ls == nil || ls.byProxy[fe.px] == nil || s.info.denied || fe.http != nil { // http logs each request
		return
	}
	format := sessionFormat(fe.px)
	if format == "" {
		return
	}
	if fe.px.OptionOn("dontlognull") && s.info.bytesIn.Load() == 0 {
		return
	}
	v, _ := ls.counts.LoadOrStore(fe.px, new(atomic.Int64))
	r.mu.Lock()
	ac := len(r.sessions)
	r.mu.Unlock()
	lv := &logVars{r: r, s: s, end: end, ac: ac, lc: v.(*atomic.Int64).Add(1) - 1}
	ls.emit(fe.px, levelInfo, end, renderLogFormat(format, lv))
}

// logVars gives the %-variables of one session.
type logVars struct {
	r   *Runtime
	s   *session
	end time.Time
	ac  int
	lc  int64
	tx  *httpTx // http mode: the request logged
}

// valueKind returns a variable's text and kind (lvNum, lvStr, ...).
func (v *logVars) valueKind(name string) (string, int) {
	if v.tx != nil {
		if s, k, ok := v.tx.value(name); ok {
			return s, k
		}
	}
	s, isStr := v.value(name)
	if isStr {
		return s, lvStr
	}
	return s, lvNum
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func addrParts(a net.Addr) (string, string) {
	if a == nil {
		return "-", "-"
	}
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return "-", "-"
	}
	return h, p
}

// value returns a variable's text ("-" when unknown) and whether it is a
// string (for +Q quoting).
func (v *logVars) value(name string) (string, bool) {
	si := &v.s.info
	switch name {
	case "ci":
		return si.ci.src.Addr().String(), true
	case "cp":
		return strconv.Itoa(int(si.ci.src.Port())), false
	case "fi":
		return si.ci.dst.Addr().String(), true
	case "fp":
		return strconv.Itoa(int(si.ci.dst.Port())), false
	case "bi", "bp", "si", "sp":
		if v.s.server == nil {
			return "-", name[1] == 'i'
		}
		var a net.Addr
		if name[0] == 'b' {
			a = v.s.server.LocalAddr()
		} else {
			a = v.s.server.RemoteAddr()
		}
		h, p := addrParts(a)
		if name[1] == 'i' {
			return h, true
		}
		return p, false
	case "t":
		return si.start.Format("02/Jan/2006:15:04:05.000"), true
	case "ms":
		return fmt.Sprintf("%03d", si.start.Nanosecond()/1e6), false
	case "ft":
		if si.ci.ssl { // haproxy marks a frontend connection over TLS
			return si.fe.px.Name + "~", true
		}
		return si.fe.px.Name, true
	case "f":
		return si.fe.px.Name, true
	case "b":
		if si.be == nil {
			return "<NONE>", true
		}
		return si.be.px.Name, true
	case "s":
		switch {
		case si.srv != nil:
			return si.srv.srv.Name, true
		case si.tried != nil:
			return si.tried.srv.Name, true
		}
		return "<NOSRV>", true
	case "Tw":
		if si.connStart.IsZero() {
			return "-1", false
		}
		return ms(si.connStart.Sub(si.queueStart)), false
	case "Tc":
		if si.connected.IsZero() {
			return "-1", false
		}
		return ms(si.connected.Sub(si.connStart)), false
	case "Tt":
		return ms(v.end.Sub(si.start)), false
	case "Th":
		return "0", false
	case "B":
		return strconv.FormatInt(si.bytesOut.Load(), 10), false
	case "U":
		return strconv.FormatInt(si.bytesIn.Load(), 10), false
	case "ts":
		return termState(si), true
	case "ac":
		return strconv.Itoa(v.ac), false
	case "fc":
		return strconv.FormatInt(si.fe.ctr.scur.Load(), 10), false
	case "bc":
		if si.be == nil {
			return "0", false
		}
		return strconv.FormatInt(si.be.ctr.scur.Load(), 10), false
	case "sc":
		if si.srv == nil {
			return "0", false
		}
		return strconv.FormatInt(si.srv.st.ctr.scur.Load(), 10), false
	case "rc":
		if si.redispatched {
			return "+" + strconv.Itoa(si.retries), false
		}
		return strconv.Itoa(si.retries), false
	case "sq", "bq":
		return "0", false
	case "H":
		return v.r.obs.logs.host, true
	case "pid":
		return strconv.Itoa(v.r.obs.logs.pid), false
	case "ID":
		return "-", true
	case "lc":
		return strconv.FormatInt(v.lc, 10), false
	case "rt":
		return strconv.FormatInt(si.id-1, 10), false
	case "Ts":
		return strconv.FormatInt(si.start.Unix(), 10), false
	}
	return "-", true
}

// termState is the two-letter session end of haproxy's logs: who ended
// it (C client, S server, c/s their timeouts) and in which phase (C
// connect, D data), "--" for a normal end.
func termState(si *sessInfo) string {
	if si.cliLeft {
		return "CC"
	}
	if si.connErr {
		if si.connTimeout {
			return "sC"
		}
		return "SC"
	}
	switch si.cliErr.Load() {
	case 1:
		return "CD"
	case 2:
		return "cD"
	}
	switch si.srvErr.Load() {
	case 1:
		return "SD"
	case 2:
		return "sD"
	}
	return "--"
}

// hexValue is a log value with the +X flag: an IPv4 address as eight
// hex digits, an integer as at least four, anything else as it is.
func hexValue(v string) string {
	if a, err := netip.ParseAddr(v); err == nil && a.Unmap().Is4() {
		b := a.Unmap().As4()
		return fmt.Sprintf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3])
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return fmt.Sprintf("%04X", n)
	}
	return v
}

// renderLogFormat expands a log-format string: %var, %{flags}var, %%,
// %o (flags for all the variables after it). Runs of unescaped spaces are
// one separator, written only after something was written since the
// last one. Sample expressions (%[...]) print "-".
func renderLogFormat(format string, v *logVars) string {
	var b strings.Builder
	lastSpace, defQuote, defHex := true, false, false
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c == ' ' || c == '\t' {
			for i+1 < len(format) && (format[i+1] == ' ' || format[i+1] == '\t') {
				i++
			}
			if !lastSpace {
				b.WriteByte(' ')
				lastSpace = true
			}
			continue
		}
		if c == '\\' && i+1 < len(format) {
			i++
			b.WriteByte(format[i])
			lastSpace = false
			continue
		}
		if c != '%' {
			b.WriteByte(c)
			lastSpace = false
			continue
		}
		i++
		if i >= len(format) {
			break
		}
		if format[i] == '%' {
			b.WriteByte('%')
			lastSpace = false
			continue
		}
		quote, hex := defQuote, defHex
		if format[i] == '{' {
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				break
			}
			for _, f := range strings.Split(format[i+1:i+end], ",") {
				switch f {
				case "+Q":
					quote = true
				case "-Q":
					quote = false
				case "+X":
					hex = true
				case "-X":
					hex = false
				}
			}
			i += end + 1
		}
		if i < len(format) && format[i] == '[' {
			end := strings.IndexByte(format[i:], ']')
			if end < 0 {
				break
			}
			i += end
			b.WriteByte('-')
			lastSpace = false
			continue
		}
		j := i
		for j < len(format) && (format[j] >= 'a' && format[j] <= 'z' || format[j] >= 'A' && format[j] <= 'Z') {
			j++
		}
		name := format[i:j]
		i = j - 1
		if name == "o" {
			defQuote, defHex = quote, hex
			continue
		}
		val, kind := v.valueKind(name)
		if hex {
			val = hexValue(val)
		}
		switch kind {
		case lvNone:
			continue
		case lvNull:
			val = "-"
			if quote {
				val = `""`
			}
		case lvStr:
			if quote {
				val = `"` + val + `"`
			}
		case lvList:
			items := strings.Split(val, "\x00")
			for i, it := range items {
				if quote {
					items[i] = `"` + it + `"`
				}
			}
			val = strings.Join(items, " ")
		}
		b.WriteString(val)
		lastSpace = false
	}
	return b.String()
}
