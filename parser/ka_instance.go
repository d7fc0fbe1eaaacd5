package parser

import (
	"net/netip"
	"strings"
	"time"
)

func (b *kaBuilder) instance(s *Stmt) {
	in := &VRRPInstance{Pos: s.Pos, Priority: 100, AdvertInt: time.Second,
		GarpMasterDelay: 5 * time.Second, GarpMasterRepeat: 5, GarpRefreshRepeat: 1}
	if len(s.Args) > 0 {
		in.Name = s.Args[0]
	}
	prioSet := false
	for _, st := range s.Block {
		v, p, has := "", st.Pos, len(st.Args) > 0
		if has {
			v, p = st.Args[0], st.ArgPos[0]
		}
		switch st.Keyword {
		case "state":
			switch v {
			case "MASTER", "BACKUP":
				in.State = v
			default:
				kaErr(b.d, p, Error, 5, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, v)
			}
		case "interface":
			in.Interface, in.InterfacePos = v, st.Pos
		case "virtual_router_id":
			in.VRID, _ = kaInt(b.d, p, v, 1, 255)
		case "priority":
			if n, ok := kaInt(b.d, p, v, 1, 255); ok {
				in.Priority, prioSet = n, true
			}
		case "advert_int":
			if d, ok := kaSeconds(b.d, p, v, 0.01, 255); ok {
				in.AdvertInt = d
			}
		case "version":
			in.Version, _ = kaInt(b.d, p, v, 2, 3)
		case "nopreempt":
			in.NoPreempt = true
		case "preempt":
			in.NoPreempt = false
		case "preempt_delay":
			if d, ok := kaSeconds(b.d, p, v, 0, 1000); ok {
				in.PreemptDelay = d
			}
		case "authentication":
			for _, a := range st.Block {
				av := ""
				if len(a.Args) > 0 {
					av = a.Args[0]
				}
				switch a.Keyword {
				case "auth_type":
					switch av {
					case "PASS", "AH":
						in.AuthType = av
					default:
						kaErr(b.d, a.Pos, Error, 5, "(%s) unknown authentication type '%s'", in.Name, av)
					}
				case "auth_pass":
					if len(av) > 8 {
						kaErr(b.d, a.Pos, Warning, 5, "Truncating auth_pass to 8 characters")
						av = av[:8]
					}
					in.AuthPass = av
				}
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, l := range st.Block {
				if vip, ok := parseVIP(b.d, l); ok {
					if st.Keyword == "virtual_ipaddress" {
						in.VIPs = append(in.VIPs, vip)
					} else {
						in.ExcludedVIPs = append(in.ExcludedVIPs, vip)
					}
				}
			}
		case "virtual_routes":
			for _, l := range st.Block {
				in.Routes = append(in.Routes, parseRoute(b.d, l))
			}
		case "virtual_rules":
			b.rules(st.Block)
			for _, l := range st.Block {
				in.Rules = append(in.Rules, append([]string{l.Keyword}, l.Args...))
			}
		case "track_script":
			for _, t := range st.Block {
				in.TrackScripts = append(in.TrackScripts, parseTracked(b.d, t))
			}
		case "track_interface":
			for _, t := range st.Block {
				in.TrackInterfaces = append(in.TrackInterfaces, parseTracked(b.d, t))
			}
		case "track_file":
			for _, t := range st.Block {
				in.TrackFiles = append(in.TrackFiles, parseTracked(b.d, t))
			}
		case "unicast_src_ip", "mcast_src_ip":
			ip, err := netip.ParseAddr(v)
			if err != nil {
				kaErr(b.d, p, Error, 5, "(%s) %s '%s' is not a valid address", in.Name, st.Keyword, v)
				continue
			}
			if st.Keyword == "unicast_src_ip" {
				in.UnicastSrcIP = ip
			} else {
				in.MCastSrcIP = ip
			}
		case "unicast_peer":
			for _, l := range st.Block {
				ip, err := netip.ParseAddr(l.Keyword)
				if err != nil {
					kaErr(b.d, l.Pos, Error, 5, "Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. Skipping...", in.Name, l.Keyword)
					continue
				}
				in.UnicastPeers = append(in.UnicastPeers, ip)
			}
		case "notify_master":
			in.Notify.Master = joinArgs(st.Args)
		case "notify_backup":
			in.Notify.Backup = joinArgs(st.Args)
		case "notify_fault":
			in.Notify.Fault = joinArgs(st.Args)
		case "notify_stop":
			in.Notify.Stop = joinArgs(st.Args)
		case "notify":
			in.Notify.Any = joinArgs(st.Args)
		case "notify_deleted":
			in.Notify.Deleted = joinArgs(st.Args)
		case "garp_master_delay", "garp_master_refresh":
			if d, ok := kaSeconds(b.d, p, v, 0, 86400); ok {
				if st.Keyword == "garp_master_delay" {
					in.GarpMasterDelay = d
				} else {
					in.GarpMasterRefresh = d
				}
			}
		case "garp_master_repeat", "garp_master_refresh_repeat":
			if n, ok := kaInt(b.d, p, v, 0, 1000000); ok {
				if st.Keyword == "garp_master_repeat" {
					in.GarpMasterRepeat = n
				} else {
					in.GarpRefreshRepeat = n
				}
			}
		case "use_vmac":
			in.UseVMAC = true
			in.VMACName = v
		case "native_ipv6":
			in.NativeIPv6 = true
		case "dont_track_primary":
			in.DontTrackPrimary = true
		case "accept":
			in.Accept = true
		case "no_accept":
			in.NoAccept = true
		case "strict_mode":
			in.Strict = !has || v == "on" || v == "true" || v == "yes"
		case "smtp_alert":
			in.SMTPAlert = true
		}
	}
	if in.State == "MASTER" && !prioSet {
		in.Priority = 255
	}
	b.k.Instances = append(b.k.Instances, in)
}

func (b *kaBuilder) virtualServer(s *Stmt) {
	vs := &VirtualServer{Pos: s.Pos}
	if len(s.Args) > 0 {
		vs.Addr = s.Args[0]
	}
	if len(s.Args) > 1 {
		vs.Port = s.Args[1]
	}
	fwmark := vs.Addr == "fwmark"
	group := vs.Addr == "group"
	hasKind, hasProto := false, false
	for _, st := range s.Block {
		v := ""
		if len(st.Args) > 0 {
			v = st.Args[0]
		}
		switch st.Keyword {
		case "lb_algo", "lvs_sched":
			switch v {
			case "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos":
				vs.LBAlgo = v
			default:
				kaErr(b.d, st.Pos, Warning, 5, "Invalid lvs_scheduler '%s' - ignoring", v)
			}
		case "lb_kind", "lvs_method":
			vs.LBKind, hasKind = v, true
		case "protocol":
			vs.Protocol, hasProto = v, true
		case "delay_loop":
			vs.DelayLoop = v
		case "persistence_timeout":
			kaInt(b.d, st.Pos, v, 1, 2678400)
		case "real_server":
			rs := &RealServer{Pos: st.Pos, Weight: 1}
			if len(st.Args) > 0 {
				rs.Addr = st.Args[0]
			}
			if len(st.Args) > 1 {
				rs.Port = st.Args[1]
			}
			for _, c := range st.Block {
				if _, ok := kaBlocks[c.Keyword]; ok && strings.ToUpper(c.Keyword) == c.Keyword {
					rs.Checkers = append(rs.Checkers, c)
				}
				switch c.Keyword {
				case "notify_up":
					rs.NotifyUp = joinArgs(c.Args)
				case "notify_down":
					rs.NotifyDown = joinArgs(c.Args)
				}
				if c.Keyword == "weight" && len(c.Args) > 0 {
					rs.Weight, _ = kaInt(b.d, c.Pos, c.Args[0], 0, 65535)
				}
			}
			vs.RealServers = append(vs.RealServers, rs)
		}
	}
	switch {
	case fwmark && hasProto:
		kaErr(b.d, s.Pos, Warning, 5, "Warning: Virtual server FWM %s: protocol specified for fwmark - protocol will be ignored", vs.Port)
	case !hasKind && !group:
		kaErr(b.d, s.Pos, Warning, 5, "Virtual server [%s]:%s:%s: no forwarding method set, setting default NAT", vs.Addr, strings.ToLower(orDefault(vs.Protocol, "TCP")), vs.Port)
	}
	b.k.VirtualServers = append(b.k.VirtualServers, vs)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// vsGroup checks the addresses of a virtual_server_group.
func (b *kaBuilder) vsGroup(s *Stmt) {
	for _, l := range s.Block {
		if l.Keyword == "fwmark" {
			continue
		}
		addr := l.Keyword
		if i := strings.LastIndexByte(addr, '-'); i > 0 {
			addr = addr[:i] // a range: 10.0.0.1-9 or ae00::2-9
		}
		if _, err := netip.ParseAddr(addr); err != nil {
			kaErr(b.d, l.Pos, Warning, 5, "Invalid virtual server group IP address %s %s - skipping", l.Keyword, joinArgs(l.Args))
		}
	}
}
