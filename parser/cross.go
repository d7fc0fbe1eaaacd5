package parser

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// CrossCheck relates the haproxy and keepalived halves of a config: a
// frontend bound to a VIP needs a way to bind while the node is backup, and
// a VIP that no frontend listens on is worth a note. nonlocalBind is the
// value of net.ipv4.ip_nonlocal_bind (-1 when unknown).
func CrossCheck(cfg *Config, nonlocalBind int) Diags {
	var d Diags
	if cfg.Keepalived == nil || len(cfg.Proxies) == 0 {
		return d
	}
	vips := map[netip.Addr]*VRRPInstance{}
	for _, in := range cfg.Keepalived.Instances {
		for _, v := range append(append([]VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
			vips[v.Prefix.Addr()] = in
		}
	}
	bound := map[netip.Addr]bool{}
	for _, px := range cfg.Frontends() {
		for _, b := range px.Binds {
			in, ok := vips[b.Addr.IP]
			if !ok {
				continue
			}
			bound[b.Addr.IP] = true
			_, transparent := b.Options["transparent"]
			switch {
			case transparent:
			case nonlocalBind == 1:
			default:
				how := "net.ipv4.ip_nonlocal_bind is 0"
				if nonlocalBind < 0 {
					how = "net.ipv4.ip_nonlocal_bind was not read (use --host)"
				}
				d.Warnf(b.Pos, "%s '%s' binds %s, a VIP of vrrp_instance %s: on a backup node the address is absent and the bind fails unless net.ipv4.ip_nonlocal_bind=1, the 'transparent' bind option or a wildcard bind is used (%s)", px.Kind, px.Name, b.Addr.Raw, in.Name, how)
			}
		}
	}
	for ip, in := range vips {
		if !bound[ip] {
			d.Add(in.Pos, Notice, "VIP %s of vrrp_instance %s is not bound by any haproxy frontend (a wildcard bind may still serve it)", ip, in.Name)
		}
	}
	return d.Sorted()
}

// NodeSummary renders, per VRRP instance, the role, priority, VIPs and the
// frontends that sit on each VIP, so a master/master pair reads at a glance.
func NodeSummary(cfg *Config) string {
	if cfg.Keepalived == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-5s %-7s %-4s %-24s %s\n", "INSTANCE", "VRID", "STATE", "PRIO", "VIPS", "FRONTENDS")
	for _, in := range cfg.Keepalived.Instances {
		var vs, fes []string
		for _, v := range in.VIPs {
			vs = append(vs, v.Prefix.String())
			for _, px := range cfg.Frontends() {
				for _, bd := range px.Binds {
					if bd.Addr.IP == v.Prefix.Addr() {
						fes = append(fes, fmt.Sprintf("%s(%s)", px.Name, bd.Addr.Raw))
					}
				}
			}
		}
		sort.Strings(fes)
		state := in.State
		if state == "" {
			state = "BACKUP"
		}
		fmt.Fprintf(&b, "%-16s %-5d %-7s %-4d %-24s %s\n", in.Name, in.VRID, state, in.Priority, strings.Join(vs, ","), strings.Join(fes, " "))
	}
	return b.String()
}
