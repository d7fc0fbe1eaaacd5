package parser

import (
	"net/netip"
	"time"
)

// Keepalived is the keepalived.conf part of the model.
type Keepalived struct {
	Files          []string
	Global         GlobalDefs
	Scripts        []*VRRPScript
	TrackFiles     []*TrackFile
	Instances      []*VRRPInstance
	SyncGroups     []*VRRPSyncGroup
	StaticAddrs    []VIP
	StaticRoutes   []Route
	VirtualServers []*VirtualServer
	// Tree is the whole file as statements, for what the model does not
	// interpret.
	Tree []*Stmt `json:"-"`
}

// Instance returns the vrrp_instance of that name, or nil.
func (k *Keepalived) Instance(name string) *VRRPInstance {
	for _, i := range k.Instances {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// Script returns the vrrp_script of that name, or nil.
func (k *Keepalived) Script(name string) *VRRPScript {
	for _, s := range k.Scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// GlobalDefs is the global_defs block.
type GlobalDefs struct {
	Pos                   Pos
	RouterID              string
	NotificationEmails    []string
	NotificationEmailFrom string
	SMTPServer            string
	MCastGroup4           netip.Addr
	MCastGroup6           netip.Addr
	ScriptUser            string
	ScriptGroup           string
	EnableScriptSecurity  bool
	VRRPVersion           int
	VRRPStrict            bool
	GarpInterval          time.Duration
	GnaInterval           time.Duration
	GarpMasterDelay       time.Duration
	GarpMasterRepeat      int
	GarpMasterRefresh     time.Duration
	GarpRefreshRepeat     int
	DynamicInterfaces     bool
	SkipCheckAdvAddr      bool
	NotifyFIFO            string
}

// VRRPScript is a vrrp_script block.
type VRRPScript struct {
	Pos      Pos
	Name     string
	Script   string
	Interval time.Duration
	Timeout  time.Duration
	Weight   int
	Reverse  bool
	Rise     int
	Fall     int
	User     string
	Group    string
	InitFail bool
}

// TrackFile is a vrrp_track_file block: a file holding an integer that,
// times the weight, moves the priority of the instances tracking it.
type TrackFile struct {
	Pos      Pos
	Name     string
	File     string
	Weight   int
	Reverse  bool
	InitFile bool
}

// TrackFileDef returns the vrrp_track_file of that name, or nil.
func (k *Keepalived) TrackFileDef(name string) *TrackFile {
	for _, f := range k.TrackFiles {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// VIP is one line of virtual_ipaddress (or _excluded, static_ipaddress).
type VIP struct {
	Pos           Pos
	Prefix        netip.Prefix
	Brd           string
	Dev           string
	Scope         string
	Label         string
	Peer          string
	NoPrefixRoute bool
	NoDAD         bool
	Home          bool
	Options       []string
}

// Route is one line of virtual_routes or static_routes (ip-route syntax).
type Route struct {
	Pos    Pos
	Words  []string
	To     string
	Via    string
	Src    string
	Dev    string
	Table  string
	Metric int
}

// Tracked is a track_script or track_interface entry with its weight.
type Tracked struct {
	Pos       Pos
	Name      string
	Weight    int
	HasWeight bool
	Reverse   bool
}

// Notify holds the notify scripts of an instance or sync group.
type Notify struct {
	Master, Backup, Fault, Stop, Any string
	Deleted                          string
}

// VRRPInstance is a vrrp_instance block with keepalived's defaults applied.
type VRRPInstance struct {
	Pos               Pos
	Name              string
	State             string // MASTER or BACKUP as written ("" = none)
	Interface         string
	InterfacePos      Pos
	VRID              int
	Priority          int
	AdvertInt         time.Duration
	Version           int
	NoPreempt         bool
	PreemptDelay      time.Duration
	AuthType          string // "", PASS, AH
	AuthPass          string
	VIPs              []VIP
	ExcludedVIPs      []VIP
	Routes            []Route
	Rules             [][]string
	TrackScripts      []Tracked
	TrackInterfaces   []Tracked
	TrackFiles        []Tracked
	UnicastSrcIP      netip.Addr
	UnicastPeers      []netip.Addr
	MCastSrcIP        netip.Addr
	Notify            Notify
	GarpMasterDelay   time.Duration
	GarpMasterRepeat  int
	GarpMasterRefresh time.Duration
	GarpRefreshRepeat int
	UseVMAC           bool
	VMACName          string
	NativeIPv6        bool
	DontTrackPrimary  bool
	Accept            bool
	NoAccept          bool
	Strict            bool
	SMTPAlert         bool
	SyncGroup         string
}

// VRRPSyncGroup is a vrrp_sync_group block.
type VRRPSyncGroup struct {
	Pos          Pos
	Name         string
	Group        []string
	Notify       Notify
	TrackScripts []Tracked
	SMTPAlert    bool
}

// VirtualServer is an LVS virtual_server block, stored but not served.
type VirtualServer struct {
	Pos         Pos
	Addr        string
	Port        string
	LBAlgo      string
	LBKind      string
	Protocol    string
	DelayLoop   string
	RealServers []*RealServer
}

// RealServer is a real_server block with its checkers.
type RealServer struct {
	Pos        Pos
	Addr       string
	Port       string
	Weight     int
	NotifyUp   string
	NotifyDown string
	Checkers   []*Stmt
}
