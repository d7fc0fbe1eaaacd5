package parser

import (
	"net/netip"
	"strings"
	"time"
)

// kaBuilder fills the Keepalived model from the statement tree.
type kaBuilder struct {
	k           *Keepalived
	d           *Diags
	usedScripts map[string]bool
}

// checkKeywords walks a block in a context, reporting unknown and
// deprecated keywords; it returns nothing, the handlers fill the model.
func (b *kaBuilder) checkKeywords(ctx string, stmts []*Stmt) {
	known := kaKeywords[ctx]
	for _, st := range stmts {
		if !known[st.Keyword] {
			kaErr(b.d, st.Pos, Warning, 5, "Unknown keyword '%s'", st.Keyword)
			continue
		}
		if msg, ok := kaDeprecated[ctx+"/"+st.Keyword]; ok {
			kaErr(b.d, st.Pos, Warning, 5, "%s", msg)
		}
		if !kaImplemented[st.Keyword] {
			b.d.Add(st.Pos, Warning, "'%s' is a known keepalived keyword that gohaka does not implement yet; it is ignored", st.Keyword)
			last := b.d.Last()
			last.NotImpl, last.Keyword = true, st.Keyword
		}
		isList := kaListBlocks[st.Keyword] && !(ctx == "top" && (st.Keyword == "track_file" || st.Keyword == "track_process"))
		if sub, ok := kaBlocks[st.Keyword]; ok && st.HasBlock && !isList {
			b.checkKeywords(sub, st.Block)
		}
	}
}

func (b *kaBuilder) build(tree []*Stmt) {
	b.checkKeywords("top", tree)
	for _, st := range tree {
		switch st.Keyword {
		case "global_defs":
			b.global(st)
		case "vrrp_script":
			b.script(st)
		case "vrrp_instance":
			b.instance(st)
		case "vrrp_sync_group":
			b.syncGroup(st)
		case "vrrp_track_file", "track_file":
			tf := &TrackFile{Pos: st.Pos, Weight: 1}
			if len(st.Args) > 0 {
				tf.Name = st.Args[0]
			}
			for _, l := range st.Block {
				v := ""
				if len(l.Args) > 0 {
					v = l.Args[0]
				}
				switch l.Keyword {
				case "file":
					tf.File = v
				case "weight":
					tf.Weight, _ = kaInt(b.d, l.Pos, v, -254, 254)
					tf.Reverse = len(l.Args) > 1 && l.Args[1] == "reverse"
				case "init_file":
					tf.InitFile = true
				}
			}
			b.k.TrackFiles = append(b.k.TrackFiles, tf)
		case "virtual_server":
			b.virtualServer(st)
		case "virtual_server_group":
			b.vsGroup(st)
		case "static_ipaddress":
			for _, l := range st.Block {
				if v, ok := parseVIP(b.d, l); ok {
					b.k.StaticAddrs = append(b.k.StaticAddrs, v)
				}
			}
		case "static_routes":
			for _, l := range st.Block {
				b.k.StaticRoutes = append(b.k.StaticRoutes, parseRoute(b.d, l))
			}
		case "static_rules":
			b.rules(st.Block)
		}
	}
}

// arg returns the first argument or reports that it is missing.
func (b *kaBuilder) arg(st *Stmt) (string, Pos, bool) {
	if len(st.Args) == 0 {
		kaErr(b.d, st.Pos, Error, 5, "%s requires a parameter", st.Keyword)
		return "", st.Pos, false
	}
	return st.Args[0], st.ArgPos[0], true
}

func (b *kaBuilder) global(g *Stmt) {
	gd := &b.k.Global
	gd.Pos = g.Pos
	for _, st := range g.Block {
		v, p, has := "", st.Pos, len(st.Args) > 0
		if has {
			v, p = st.Args[0], st.ArgPos[0]
		}
		switch st.Keyword {
		case "router_id":
			gd.RouterID = v
		case "notification_email":
			if len(st.Block) == 0 {
				kaErr(b.d, st.Pos, Warning, 5, "Warning - empty notification_email block")
			}
			for _, e := range st.Block {
				gd.NotificationEmails = append(gd.NotificationEmails, e.Keyword)
			}
		case "notification_email_from":
			gd.NotificationEmailFrom = v
		case "smtp_server":
			gd.SMTPServer = joinArgs(st.Args)
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			ip, err := netip.ParseAddr(v)
			if err != nil || !ip.IsMulticast() {
				kaErr(b.d, p, Error, 5, "%s '%s' is not a valid multicast address", st.Keyword, v)
				continue
			}
			if st.Keyword == "vrrp_mcast_group4" {
				gd.MCastGroup4 = ip
			} else {
				gd.MCastGroup6 = ip
			}
		case "script_user":
			gd.ScriptUser = v
			if i := strings.IndexByte(v, ':'); i >= 0 {
				gd.ScriptUser = v[:i]
			}
			if len(st.Args) > 1 {
				gd.ScriptGroup = st.Args[1]
			}
		case "enable_script_security":
			gd.EnableScriptSecurity = true
		case "vrrp_version":
			gd.VRRPVersion, _ = kaInt(b.d, p, v, 2, 3)
		case "vrrp_strict":
			gd.VRRPStrict = true
		case "dynamic_interfaces":
			gd.DynamicInterfaces = true
		case "vrrp_skip_check_adv_addr":
			gd.SkipCheckAdvAddr = true
		case "vrrp_garp_interval", "vrrp_gna_interval":
			if d, ok := kaSeconds(b.d, p, v, 0.000001, 4294.967295); ok {
				if st.Keyword == "vrrp_garp_interval" {
					gd.GarpInterval = d
				} else {
					gd.GnaInterval = d
				}
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_refresh":
			if d, ok := kaSeconds(b.d, p, v, 0, 86400); ok {
				if st.Keyword == "vrrp_garp_master_delay" {
					gd.GarpMasterDelay = d
				} else {
					gd.GarpMasterRefresh = d
				}
			}
		case "vrrp_garp_master_repeat", "vrrp_garp_master_refresh_repeat":
			if n, ok := kaInt(b.d, p, v, 0, 1000000); ok {
				if st.Keyword == "vrrp_garp_master_repeat" {
					gd.GarpMasterRepeat = n
				} else {
					gd.GarpRefreshRepeat = n
				}
			}
		case "vrrp_iptables", "vrrp_ipsets":
			kaErr(b.d, st.Pos, Warning, 5, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")
		case "notify_fifo", "vrrp_notify_fifo":
			gd.NotifyFIFO = v
		}
	}
}

func (b *kaBuilder) script(s *Stmt) {
	sc := &VRRPScript{Pos: s.Pos, Interval: time.Second, Rise: 1, Fall: 1}
	if len(s.Args) > 0 {
		sc.Name = s.Args[0]
	}
	for _, st := range s.Block {
		v, p, ok := "", st.Pos, len(st.Args) > 0
		if ok {
			v, p = st.Args[0], st.ArgPos[0]
		}
		switch st.Keyword {
		case "script":
			sc.Script = joinArgs(st.Args)
		case "interval", "timeout":
			if d, good := kaSeconds(b.d, p, v, 0, 4294.967295); good {
				if st.Keyword == "interval" {
					sc.Interval = d
				} else {
					sc.Timeout = d
				}
			}
		case "weight":
			sc.Weight, _ = kaInt(b.d, p, v, -253, 253)
			sc.Reverse = len(st.Args) > 1 && st.Args[1] == "reverse"
		case "rise":
			sc.Rise, _ = kaInt(b.d, p, v, 1, 1<<30)
		case "fall":
			sc.Fall, _ = kaInt(b.d, p, v, 1, 1<<30)
		case "user":
			sc.User = v
			if len(st.Args) > 1 {
				sc.Group = st.Args[1]
			}
		case "init_fail":
			sc.InitFail = true
		}
	}
	if sc.Timeout == 0 {
		sc.Timeout = sc.Interval
	}
	if sc.Script == "" {
		kaErr(b.d, s.Pos, Warning, 5, "No script set for vrrp_script %s - removing", sc.Name)
		return
	}
	b.k.Scripts = append(b.k.Scripts, sc)
}

func (b *kaBuilder) syncGroup(s *Stmt) {
	g := &VRRPSyncGroup{Pos: s.Pos}
	if len(s.Args) > 0 {
		g.Name = s.Args[0]
	}
	for _, st := range s.Block {
		switch st.Keyword {
		case "group":
			for _, m := range st.Block {
				g.Group = append(g.Group, m.Keyword)
				g.Group = append(g.Group, m.Args...)
			}
		case "notify_master":
			g.Notify.Master = joinArgs(st.Args)
		case "notify_backup":
			g.Notify.Backup = joinArgs(st.Args)
		case "notify_fault":
			g.Notify.Fault = joinArgs(st.Args)
		case "notify_stop":
			g.Notify.Stop = joinArgs(st.Args)
		case "notify":
			g.Notify.Any = joinArgs(st.Args)
		case "smtp_alert":
			g.SMTPAlert = true
		case "track_script":
			for _, t := range st.Block {
				g.TrackScripts = append(g.TrackScripts, parseTracked(b.d, t))
			}
		}
	}
	b.k.SyncGroups = append(b.k.SyncGroups, g)
}

func (b *kaBuilder) rules(stmts []*Stmt) {
	for _, l := range stmts {
		ws := append([]string{l.Keyword}, l.Args...)
		hasPref := false
		for _, w := range ws {
			if w == "preference" || w == "prio" || w == "priority" || w == "order" {
				hasPref = true
			}
		}
		if !hasPref {
			kaErr(b.d, l.Pos, Warning, 5, "Rule has no preference specified - setting to 16384. This is probably not what you want.")
		}
	}
}
