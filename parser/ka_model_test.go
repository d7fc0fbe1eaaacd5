package parser

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeepalivedModelGolden dumps the model of the classic layouts: a
// master/backup pair, a master/master pair, a unicast pair, a v3 IPv6
// instance.
func TestKeepalivedModelGolden(t *testing.T) {
	for _, name := range []string{"master-backup-1", "master-master-1", "master-master-2", "unicast", "v3-ipv6"} {
		k, ds := LoadKeepalived([]string{"../testdata/keepalived/" + name + ".conf"}, KeepalivedOptions{ConfigID: "lb1"})
		if KeepalivedExitCode(ds) != 0 {
			t.Fatalf("%s: %s", name, ds)
		}
		got := strings.ReplaceAll((&Config{Keepalived: k}).Dump(), "../testdata/keepalived/", "")
		golden := filepath.Join("../testdata/keepalived", name+".json")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil || got != string(want) {
			t.Errorf("%s: model dump differs from %s (run go test ./parser -update and review)", name, golden)
		}
	}
}

func TestKeepalivedModelValues(t *testing.T) {
	k, _ := LoadKeepalived([]string{"../testdata/keepalived/master-master-2.conf"}, KeepalivedOptions{})
	v1, v2 := k.Instance("VI_1"), k.Instance("VI_2")
	if v1 == nil || v2 == nil || v1.Priority != 100 || v2.Priority != 150 || v2.State != "MASTER" {
		t.Fatalf("instances: %+v %+v", v1, v2)
	}
	if v1.VRID != 51 || v1.AuthType != "PASS" || v1.AuthPass != "s3cret" || v1.AdvertInt != time.Second {
		t.Errorf("VI_1: %+v", v1)
	}
	if len(v2.VIPs) != 1 || v2.VIPs[0].Prefix.String() != "192.0.2.101/24" || v2.VIPs[0].Dev != "eth0" {
		t.Errorf("VI_2 VIPs: %+v", v2.VIPs)
	}
	u, _ := LoadKeepalived([]string{"../testdata/keepalived/unicast.conf"}, KeepalivedOptions{})
	if in := u.Instances[0]; in.UnicastSrcIP.String() != "192.0.2.11" || len(in.UnicastPeers) != 1 {
		t.Errorf("unicast: %+v", in)
	}
	v6, _ := LoadKeepalived([]string{"../testdata/keepalived/v3-ipv6.conf"}, KeepalivedOptions{})
	if in := v6.Instances[0]; v6.Global.VRRPVersion != 3 || in.AdvertInt != 100*time.Millisecond || !in.VIPs[0].Prefix.Addr().Is6() {
		t.Errorf("v3: %+v", in)
	}
}

func TestKeepalivedMacros(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.conf"), []byte(`$IF=eth1
$PRIO=110
! a comment
global_defs {
    router_id r1   # trailing comment
}
include conf.d/*.conf
`), 0o644)
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf.d", "a.conf"), []byte(`vrrp_instance VI_1 {
    interface $IF
    virtual_router_id 7
@lb1 priority ${PRIO}
@^lb1 priority 50
    virtual_ipaddress {
        192.0.2.7
    }
}
include ../main.conf
`), 0o644)
	k, ds := LoadKeepalived([]string{filepath.Join(dir, "main.conf")}, KeepalivedOptions{ConfigID: "lb1"})
	in := k.Instance("VI_1")
	if in == nil || in.Interface != "eth1" || in.Priority != 110 || in.VIPs[0].Prefix.String() != "192.0.2.7/32" {
		t.Fatalf("macros not applied: %+v\n%s", in, ds)
	}
	if k.Global.RouterID != "r1" {
		t.Errorf("router_id %q", k.Global.RouterID)
	}
	cycle := false
	for _, d := range ds {
		if strings.Contains(d.Msg, "include cycle") && d.Pos.Line == 10 {
			cycle = true
		}
	}
	if !cycle {
		t.Errorf("include cycle not reported at the include line:\n%s", ds)
	}
	k2, _ := LoadKeepalived([]string{filepath.Join(dir, "main.conf")}, KeepalivedOptions{ConfigID: "lb2"})
	if k2.Instance("VI_1").Priority != 50 {
		t.Errorf("@^lb1 line not used for config-id lb2")
	}
}

func TestKeepalivedUnclosedBlock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.conf")
	os.WriteFile(p, []byte("vrrp_instance VI_1 {\n    interface eth0\n    virtual_ipaddress {\n        192.0.2.1\n\nvrrp_script s {\n    script \"/bin/true\"\n}\nfrobnicate\n"), 0o644)
	_, ds := LoadKeepalived([]string{p}, KeepalivedOptions{})
	var unclosed []int
	unknown := false
	for _, d := range ds {
		if strings.Contains(d.Msg, "missing '}'") {
			unclosed = append(unclosed, d.Pos.Line)
		}
		unknown = unknown || strings.Contains(d.Msg, "frobnicate")
	}
	// the '}' after the script line closes virtual_ipaddress (keepalived's
	// reading: vrrp_script cannot open a block inside a list), so only the
	// instance opened at line 1 stays unclosed
	if len(unclosed) != 1 || unclosed[0] != 1 || !unknown {
		t.Errorf("want the unclosed block reported at line 1 and the reader to go on:\n%s", ds)
	}
}

func FuzzKeepalivedReader(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(kaCorpusDir(), "*.conf"))
	own, _ := filepath.Glob("../testdata/keepalived/*.conf")
	for _, s := range append(seeds, own...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "k.conf")
		os.WriteFile(p, data, 0o644)
		LoadKeepalived([]string{p}, KeepalivedOptions{ConfigID: "x"})
	})
}

// BenchmarkLoadKeepalived20k reads the generated 18,500-line config of
// testdata/bench/gen-big-keepalived.sh.
func BenchmarkLoadKeepalived20k(b *testing.B) {
	out, err := exec.Command("bash", "../testdata/bench/gen-big-keepalived.sh").Output()
	if err != nil {
		b.Skip(err)
	}
	p := filepath.Join(b.TempDir(), "big.conf")
	os.WriteFile(p, out, 0o644)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		LoadKeepalived([]string{p}, KeepalivedOptions{})
	}
}

// TestKeepalivedGenerators: ~SEQ and ~LST repeat the rest of the line, as
// keepalived 2.2.7 does (checked with its -d dump): only ${var} is replaced.
func TestKeepalivedGenerators(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.conf")
	os.WriteFile(p, []byte("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n~SEQ(i, 1, 2, 5) 192.0.2.${i}/24\n~LST(j, 20, 30) 192.0.2.${j}/24\n~SEQx(h, 10, 11) 2001:db8::${h}/64\n    }\n}\n"), 0o644)
	k, ds := LoadKeepalived([]string{p}, KeepalivedOptions{})
	var got []string
	for _, v := range k.Instances[0].VIPs {
		got = append(got, v.Prefix.String())
	}
	want := "192.0.2.1/24 192.0.2.3/24 192.0.2.5/24 192.0.2.20/24 192.0.2.30/24 2001:db8::a/64 2001:db8::b/64"
	if strings.Join(got, " ") != want {
		t.Errorf("VIPs %v, want %s\n%s", got, want, ds)
	}
}

// TestKeepalivedTrackFile reads a vrrp_track_file block and an instance's
// track_file reference with a weight override, and the file is no longer
// reported as not implemented.
func TestKeepalivedTrackFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.conf")
	os.WriteFile(p, []byte("vrrp_track_file tf {\n    file /run/prio\n    weight -3 reverse\n    init_file\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    track_file {\n        tf weight 5\n    }\n    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n"), 0o644)
	k, ds := LoadKeepalived([]string{p}, KeepalivedOptions{})
	def := k.TrackFileDef("tf")
	if def == nil || def.File != "/run/prio" || def.Weight != -3 || !def.Reverse || !def.InitFile || def.Pos.Line != 1 {
		t.Fatalf("track file %+v\n%s", def, ds)
	}
	tr := k.Instances[0].TrackFiles
	if len(tr) != 1 || tr[0].Name != "tf" || !tr[0].HasWeight || tr[0].Weight != 5 {
		t.Errorf("instance track_file %+v", tr)
	}
	if strings.Contains(ds.String(), "does not implement") {
		t.Errorf("track_file still reported as not implemented:\n%s", ds)
	}
}

// TestKeepalivedAHNotSupported: gohaka says at check time that it will not
// serve AH authentication, as a not-implemented warning (hidden from the
// keepalived -t emulation).
func TestKeepalivedAHNotSupported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.conf")
	os.WriteFile(p, []byte("vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    authentication {\n        auth_type AH\n        auth_pass abc\n    }\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n"), 0o644)
	_, ds := LoadKeepalived([]string{p}, KeepalivedOptions{})
	found := false
	for _, d := range ds {
		found = found || d.NotImpl && strings.Contains(d.Msg, "AH authentication is not supported by gohaka")
	}
	if !found {
		t.Errorf("no not-supported warning for AH:\n%s", ds)
	}
}
