package parser

import (
	"fmt"
	"strings"
)

// LoadKeepalived reads keepalived config files into the model.
func LoadKeepalived(paths []string, opts KeepalivedOptions) (*Keepalived, Diags) {
	var d Diags
	src := &kaSource{opts: &opts, d: &d, defs: map[string]string{}}
	for _, p := range paths {
		src.readFile(p, Pos{File: p})
	}
	k := &Keepalived{Files: src.files}
	k.Tree = buildKaTree(src.lines, &d)
	b := &kaBuilder{k: k, d: &d}
	b.build(k.Tree)
	b.checks(opts.Host)
	return k, d
}

// KeepalivedExitCode is what `keepalived -t` exits with for these
// diagnostics: the highest class seen (0, 5 or 6).
func KeepalivedExitCode(ds Diags) int {
	code := 0
	for _, d := range ds {
		if d.NotImpl {
			continue
		}
		if d.Exit > code {
			code = d.Exit
		}
	}
	return code
}

// checks makes keepalived's post-parse checks and gohaka's own.
func (b *kaBuilder) checks(host *KeepalivedHost) {
	k, d := b.k, b.d
	vrids := map[string]*VRRPInstance{}
	vipOwner := map[string]*VRRPInstance{}
	missingIf := false
	for _, in := range k.Instances {
		name := in.Name
		if in.VRID == 0 {
			kaErr(d, in.Pos, Error, 5, "(%s) the virtual router id must be set", name)
		}
		if in.Interface == "" && len(in.UnicastPeers) == 0 {
			kaErr(d, in.Pos, Error, 5, "(%s) Unknown interface !", name)
		}
		version := in.Version
		if version == 0 {
			version = max(k.Global.VRRPVersion, 2)
		}
		if in.AuthType != "" && version == 3 {
			kaErr(d, in.Pos, Warning, 5, "(%s) VRRP version 3 does not support authentication. Ignoring.", name)
		}
		if in.AuthType == "AH" && in.State == "MASTER" {
			kaErr(d, in.Pos, Warning, 5, "(%s) Initial state master is incompatible with AH authentication - clearing", name)
		}
		if in.AuthType == "AH" && version == 2 {
			d.Add(in.Pos, Warning, "(%s) AH authentication is not supported by gohaka: `gohaka run` refuses this instance; use auth_type PASS or none", name)
			last := d.Last()
			last.NotImpl, last.Keyword = true, "auth_type"
		}
		if in.NoPreempt && in.State == "MASTER" {
			kaErr(d, in.Pos, Warning, 5, "(%s) Warning - nopreempt will not work with initial state MASTER - clearing", name)
		}
		if version == 2 && in.AdvertInt%1e9 != 0 {
			kaErr(d, in.Pos, Warning, 5, "(%s) VRRPv2 advertisement interval %.6fs must be an integer. rounding", name, in.AdvertInt.Seconds())
		}
		for _, t := range in.TrackInterfaces {
			if t.Name == in.Interface {
				kaErr(d, in.Pos, Warning, 5, "(%s) Ignoring track_interface %s since own interface", name, t.Name)
			}
		}
		for _, t := range in.TrackScripts {
			if k.Script(t.Name) == nil {
				kaErr(d, t.Pos, Warning, 5, "(%s) track script %s not found, ignoring...", name, t.Name)
			} else {
				b.markScriptUsed(t.Name)
			}
		}
		if in.VRID != 0 {
			fam := "4"
			if len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6() {
				fam = "6"
			}
			key := fmt.Sprintf("%s/%s/%d", in.Interface, fam, in.VRID)
			if o := vrids[key]; o != nil {
				kaErr(d, in.Pos, Error, 5, "%s and %s both use VRID %d with IPv%s on interface %s", o.Name, name, in.VRID, fam, in.Interface)
			}
			vrids[key] = in
		}
		for _, v := range in.VIPs {
			a := v.Prefix.Addr().String()
			if o := vipOwner[a]; o != nil && o != in {
				d.Warnf(v.Pos, "VIP %s is listed in both %s and %s", a, o.Name, name)
			}
			vipOwner[a] = in
		}
		if len(in.UnicastPeers) > 0 && !in.UnicastSrcIP.IsValid() {
			d.Add(in.Pos, Notice, "(%s) unicast_peer without unicast_src_ip: adverts will come from %s's primary address, which every peer must list", name, orDefault(in.Interface, "the interface"))
		}
		if in.Priority == 255 && in.State != "MASTER" {
			d.Add(in.Pos, Notice, "(%s) priority 255 means this node owns the VIPs (address owner); keepalived makes it master at once", name)
		}
		if host != nil && in.Interface != "" && !k.Global.DynamicInterfaces && !host.Interfaces[in.Interface] {
			kaErr(d, in.InterfacePos, Warning, 5, "WARNING - interface %s for vrrp_instance %s doesn't exist", in.Interface, name)
			missingIf = true
		}
	}
	for _, g := range k.SyncGroups {
		n := 0
		for _, m := range g.Group {
			in := k.Instance(m)
			if in == nil {
				kaErr(d, g.Pos, Warning, 5, "Virtual router %s specified in sync group %s doesn't exist - ignoring", m, g.Name)
				continue
			}
			in.SyncGroup = g.Name
			n++
		}
		if n == 1 {
			kaErr(d, g.Pos, Warning, 5, "Sync group %s has only 1 virtual router(s) - this probably isn't what you want", g.Name)
		}
		for _, t := range g.TrackScripts {
			b.markScriptUsed(t.Name)
		}
	}
	if missingIf {
		kaErr(d, Pos{}, Warning, 5, "Non-existent interface specified in configuration")
	}
	b.scriptSecurity(host)
}

func (b *kaBuilder) markScriptUsed(name string) {
	if b.usedScripts == nil {
		b.usedScripts = map[string]bool{}
	}
	b.usedScripts[name] = true
}

// scriptSecurity applies keepalived's script checks: scripts that cannot
// be found are disabled, and scripts that would run as root without
// enable_script_security stop keepalived (exit 6).
func (b *kaBuilder) scriptSecurity(host *KeepalivedHost) {
	if host == nil {
		return
	}
	k, d := b.k, b.d
	g := k.Global
	runs := false
	can := func(script string) bool {
		cmd := scriptCommand(script)
		return cmd != "" && (host.Executable == nil || host.Executable(cmd))
	}
	for _, sc := range k.Scripts {
		if !can(sc.Script) {
			kaErr(d, sc.Pos, Warning, 5, "Disabling track script %s since not found/accessible", sc.Name)
			continue
		}
		runs = true
	}
	notifies := func(n Notify) {
		for _, s := range []string{n.Master, n.Backup, n.Fault, n.Stop, n.Any, n.Deleted} {
			if s != "" && can(s) {
				runs = true
			}
		}
	}
	for _, in := range k.Instances {
		notifies(in.Notify)
	}
	for _, sg := range k.SyncGroups {
		notifies(sg.Notify)
	}
	for _, vs := range k.VirtualServers {
		for _, rs := range vs.RealServers {
			if rs.NotifyUp+rs.NotifyDown != "" {
				runs = true // keepalived does not look these up before counting them
			}
			for _, c := range rs.Checkers {
				for _, st := range c.Block {
					if st.Keyword == "misc_path" && can(joinArgs(st.Args)) {
						runs = true
					}
				}
			}
		}
	}
	if !runs {
		return
	}
	exists := func(u string) bool { return host.UserExists == nil || host.UserExists(u) }
	user := g.ScriptUser
	switch {
	case user != "" && user != "root" && !exists(user):
		kaErr(d, g.Pos, Error, 5, "Error setting global script uid/gid")
		return
	case user == "" && exists("keepalived_script"):
		user = "keepalived_script"
	case user == "" && g.EnableScriptSecurity:
		kaErr(d, g.Pos, Warning, 5, "Unable to set default user keepalived_script for script")
		user = "root"
	case user == "":
		user = "root"
	}
	if user == "root" && !g.EnableScriptSecurity {
		kaErr(d, Pos{}, Error, 6, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
	}
}

// kaDiagLine renders a diagnostic as keepalived -t prints it.
func kaDiagLine(dg Diag) string {
	if dg.Pos.Line > 0 {
		return fmt.Sprintf("(%s: Line %d) %s", dg.Pos.File, dg.Pos.Line, dg.Msg)
	}
	return dg.Msg
}

var _ = strings.TrimSpace
