package parser

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var kaNumberRe = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)

// kaErr adds a keepalived diagnostic with the exit status keepalived -t
// would give for it.
func kaErr(d *Diags, p Pos, sev Severity, exit int, format string, args ...any) {
	d.Add(p, sev, format, args...)
	d.Last().Exit = exit
}

// kaNumber reads a decimal number and checks its range as keepalived does.
func kaNumber(d *Diags, p Pos, s string, lo, hi float64, loS, hiS string) (float64, bool) {
	if !kaNumberRe.MatchString(s) {
		kaErr(d, p, Error, 5, "invalid number '%s'", s)
		return 0, false
	}
	v, _ := strconv.ParseFloat(s, 64)
	if v < lo || v > hi {
		kaErr(d, p, Error, 5, "number '%s' outside range [%s, %s]", s, loS, hiS)
		return 0, false
	}
	return v, true
}

// kaInt reads an integer in [lo, hi].
func kaInt(d *Diags, p Pos, s string, lo, hi int) (int, bool) {
	if !kaNumberRe.MatchString(s) || strings.Contains(s, ".") {
		kaErr(d, p, Error, 5, "invalid number '%s'", s)
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		kaErr(d, p, Error, 5, "number '%s' outside range [%d, %d]", s, lo, hi)
		return 0, false
	}
	return v, true
}

// kaSeconds reads a time in seconds with a fractional part.
func kaSeconds(d *Diags, p Pos, s string, lo, hi float64) (time.Duration, bool) {
	v, ok := kaNumber(d, p, s, lo, hi, trimFloat(lo), trimFloat(hi))
	return time.Duration(v * float64(time.Second)), ok
}

func trimFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// parseVIP reads one virtual_ipaddress line.
func parseVIP(d *Diags, st *Stmt) (VIP, bool) {
	v := VIP{Pos: st.Pos}
	addr := st.Keyword
	pfx, err := netip.ParsePrefix(addr)
	if err != nil {
		ip, err2 := netip.ParseAddr(addr)
		if err2 != nil {
			kaErr(d, st.Pos, Error, 5, "VRRP parsed invalid IP %s. skipping IP...", addr)
			return v, false
		}
		pfx = netip.PrefixFrom(ip, ip.BitLen())
	}
	v.Prefix = pfx
	for i := 0; i < len(st.Args); i++ {
		a := st.Args[i]
		val := ""
		if i+1 < len(st.Args) {
			val = st.Args[i+1]
		}
		switch a {
		case "brd", "broadcast":
			v.Brd, i = val, i+1
		case "dev":
			v.Dev, i = val, i+1
		case "scope":
			v.Scope, i = val, i+1
		case "label":
			v.Label, i = val, i+1
		case "peer":
			v.Peer, i = val, i+1
		case "noprefixroute":
			v.NoPrefixRoute = true
		case "-nodad", "nodad":
			v.NoDAD = true
		case "home":
			v.Home = true
		case "preferred_lft", "valid_lft":
			v.Options, i = append(v.Options, a, val), i+1
		case "autojoin", "no_track", "use_vmac", "track":
			v.Options = append(v.Options, a)
		default:
			kaErr(d, st.ArgPos[i], Warning, 5, "Unknown configuration entry '%s' for ip address - ignoring", a)
		}
	}
	return v, true
}

// parseRoute reads one virtual_routes / static_routes line.
func parseRoute(d *Diags, st *Stmt) Route {
	ws := append([]string{st.Keyword}, st.Args...)
	r := Route{Pos: st.Pos, Words: ws}
	for i := 0; i < len(ws); i++ {
		val := ""
		if i+1 < len(ws) {
			val = ws[i+1]
		}
		switch ws[i] {
		case "src":
			r.Src, i = val, i+1
		case "to":
			r.To, i = val, i+1
		case "via", "gw":
			if val == "inet6" || val == "inet" {
				i++
				if i+1 < len(ws) {
					val = ws[i+1]
				}
			}
			r.Via, i = val, i+1
		case "dev", "oif":
			r.Dev, i = val, i+1
		case "table":
			r.Table, i = val, i+1
		case "metric", "priority", "preference":
			r.Metric, _ = strconv.Atoi(val)
			i++
		case "scope", "proto", "protocol", "mtu", "advmss", "realms", "type", "tos", "initcwnd", "initrwnd", "features", "quickack", "pref", "expires", "rtt", "rttvar", "ssthresh", "cwnd", "window", "hoplimit", "reordering", "rto_min", "fastopen_no_cookie", "congctl", "nexthop", "weight":
			i++
		case "blackhole", "unreachable", "prohibit", "throw", "no_track", "onlink", "track":
		default:
			if r.To == "" {
				r.To = ws[i]
			}
		}
	}
	if r.Dev == "" {
		kaErr(d, st.Pos, Warning, 5, "Warning - cannot track route %s with no interface specified, not tracking", r.To)
	}
	return r
}

// parseTracked reads a track_script / track_interface line.
func parseTracked(d *Diags, st *Stmt) Tracked {
	t := Tracked{Pos: st.Pos, Name: st.Keyword}
	for i := 0; i < len(st.Args); i++ {
		switch st.Args[i] {
		case "weight":
			if i+1 < len(st.Args) {
				if w, ok := kaInt(d, st.ArgPos[i+1], st.Args[i+1], -253, 253); ok {
					t.Weight, t.HasWeight = w, true
				}
				i++
			}
		case "reverse":
			t.Reverse = true
		case "noreverse":
			t.Reverse = false
		default:
			kaErr(d, st.ArgPos[i], Warning, 5, "%s: unknown option '%s'", st.Keyword, st.Args[i])
		}
	}
	return t
}

// scriptCommand returns the program a script line runs.
func scriptCommand(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// joinArgs renders a script given in several words back into one string.
func joinArgs(args []string) string { return strings.Join(args, " ") }

var _ = fmt.Sprintf
