package parser

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// countingResolver answers every name with 127.0.0.1 and records the names.
type countingResolver struct{ names []string }

func (c *countingResolver) LookupHost(h string) ([]netip.Addr, error) {
	c.names = append(c.names, h)
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func loadRich(t *testing.T) (*Config, Diags, *countingResolver) {
	res := &countingResolver{}
	cfg, ds := Load(Options{HAProxy: []string{"../testdata/model/rich.cfg"}, Resolver: res,
		Env: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatalf("rich.cfg has errors:\n%s", ds)
	}
	return cfg, ds, res
}

func TestModelInheritance(t *testing.T) {
	cfg, _, res := loadRich(t)
	web := cfg.Backend("web")
	if web.Mode != "http" || web.Timeouts.Connect != 5*time.Second || web.Retries != 3 {
		t.Errorf("web did not inherit defaults: mode %q connect %v retries %d", web.Mode, web.Timeouts.Connect, web.Retries)
	}
	if !web.OptionOn("httplog") || !web.LogGlobal {
		t.Errorf("web lost option httplog / log global from defaults")
	}
	w1, w2 := web.Servers[0], web.Servers[1]
	if w1.Inter != 3*time.Second || w1.Fall != 2 || w1.Rise != 4 || w1.Weight != 10 || !w1.Check {
		t.Errorf("w1 effective values wrong: %+v", w1)
	}
	if w1.Addr.Port != 8081 {
		t.Errorf("setenv BACKEND_PORT not applied: port %d", w1.Addr.Port)
	}
	if !w2.Backup || w2.Cookie != "w2" {
		t.Errorf("w2: backup %v cookie %q", w2.Backup, w2.Cookie)
	}
	api := cfg.Backend("api")
	if api.OptionOn("redispatch") || !web.OptionOn("redispatch") {
		t.Errorf("'no option redispatch in api not applied")
	}
	if api.Balance.Algo != "uri" || api.Balance.URIDepth != 2 || api.HashType.Method != "consistent" || api.HashType.Function != "djb2" || !api.HashType.Avalanche {
		t.Errorf("api balance/hash: %+v %+v", api.Balance, api.HashType)
	}
	if len(api.Servers) != 1 || api.Servers[0].Name != "a1" {
		t.Fatalf(".if/.else picked the wrong branch: %+v", api.Servers)
	}
	if len(res.names) != 1 || res.names[0] != "api.example.internal" {
		t.Errorf("resolver asked for %v, want only api.example.internal", res.names)
	}
	db := cfg.Backend("db")
	if db.Mode != "tcp" || db.Balance.Algo != "leastconn" || db.Timeouts.Client != time.Minute || db.Check.Type != "tcp-check" {
		t.Errorf("db did not inherit from named defaults tcpdefs: %q %q %v %q", db.Mode, db.Balance.Algo, db.Timeouts.Client, db.Check.Type)
	}
	if db.DefaultServer.Rise != 2 {
		t.Errorf("db must not see the anonymous defaults' default-server: rise %d", db.DefaultServer.Rise)
	}
	www := cfg.Proxies[0]
	if len(www.Binds) != 2 || www.Binds[1].Addr.Port != 18443 {
		t.Errorf("bind list: %+v", www.Binds)
	}
	if len(www.UseBackends) != 1 || len(www.UseBackends[0].Cond.Expr.Terms) != 2 {
		t.Errorf("use_backend condition not parsed into two OR terms")
	}
	if www.Pos.Line != 26 || !strings.HasSuffix(www.Pos.File, "rich.cfg") {
		t.Errorf("frontend position %v", www.Pos)
	}
	if len(cfg.Userlists) != 1 || cfg.Userlists[0].Users[0].Name != "alice" {
		t.Errorf("userlist not read")
	}
	if cfg.Global.Maxconn != 4096 || len(cfg.Global.StatsSockets) != 1 || cfg.Global.StatsSockets[0].Level != "admin" {
		t.Errorf("global: %+v", cfg.Global)
	}
}

func TestModelDumpGolden(t *testing.T) {
	for _, name := range []string{"rich", "lb-pair"} {
		cfg, ds := Load(Options{HAProxy: []string{"../testdata/model/" + name + ".cfg"},
			Resolver: StaticResolver(netip.MustParseAddr("127.0.0.1")), Env: func(string) (string, bool) { return "", false }})
		if ds.HasErrors() {
			t.Fatalf("%s: %s", name, ds)
		}
		got := strings.ReplaceAll(cfg.Dump(), "../testdata/model/", "")
		golden := filepath.Join("../testdata/model", name+".json")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("missing %s (run go test ./parser -update): %v", golden, err)
		}
		if got != string(want) {
			t.Errorf("model dump differs from %s (run with -update and review the diff)", golden)
		}
	}
}

func TestKeywordClasses(t *testing.T) {
	src := "global\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n\nfrontend fe\n    bind 127.0.0.1:1\n    timeout client 1s\n    filter trace\n    balanse roundrobin\n"
	_, ds := LoadHAProxyBytes("k.cfg", []byte(src), Options{})
	var notImpl, unknown int
	for _, d := range ds {
		if d.NotImpl && d.Sev == Warning {
			notImpl++
		}
		if d.Sev == Error && strings.Contains(d.Msg, "unknown keyword 'balanse'") && strings.Contains(d.Msg, "did you mean 'balance'") {
			unknown++
		}
	}
	if notImpl != 2 || unknown != 1 {
		t.Fatalf("want 2 not-implemented warnings and 1 unknown error, got:\n%s", ds)
	}
	strict := ds.Strict()
	if strict.Count(Error) != 3 {
		t.Errorf("--strict should turn the 2 warnings into errors:\n%s", strict)
	}
}

func TestDirectivesAndPositions(t *testing.T) {
	src := ".notice \"hello\"\n.warning careful\nfrontend fe\n    bind 127.0.0.1:1\n    timeout client 1s\n    frobnicate x\n    option htplog\n.alert stop here\n"
	_, ds := LoadHAProxyBytes("d.cfg", []byte(src), Options{})
	want := []string{
		"d.cfg:1:1: notice: hello",
		"d.cfg:2:1: warning: careful",
		"d.cfg:6:5: error: unknown keyword 'frobnicate' in 'frontend' section",
		"d.cfg:7:12: error: unknown option 'htplog'; did you mean 'httplog' maybe ?",
		"d.cfg:8:1: error: stop here",
	}
	got := strings.Split(strings.TrimSpace(ds.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("every error of the file in one run:\n got: %q\nwant: %q", got, want)
	}
}

func TestMultipleFilesAndDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cfg"), []byte("defaults\n    mode http\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\n"), 0o644)
	sub := filepath.Join(dir, "conf.d")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "20-be.cfg"), []byte("backend be\n    server s1 127.0.0.1:1\n"), 0o644)
	os.WriteFile(filepath.Join(sub, "10-fe.cfg"), []byte("frontend fe\n    bind 127.0.0.1:2\n    default_backend be\n"), 0o644)
	os.WriteFile(filepath.Join(sub, "ignored.txt"), []byte("garbage\n"), 0o644)
	cfg, ds := Load(Options{HAProxy: []string{filepath.Join(dir, "main.cfg"), sub}})
	if ds.HasErrors() {
		t.Fatalf("errors:\n%s", ds)
	}
	if len(cfg.HAProxyFiles) != 3 || !strings.HasSuffix(cfg.HAProxyFiles[1], "10-fe.cfg") {
		t.Errorf("files read: %v", cfg.HAProxyFiles)
	}
	if cfg.Proxies[0].Name != "fe" || cfg.Proxies[0].Mode != "http" {
		t.Errorf("defaults from main.cfg not applied across files: %+v", cfg.Proxies[0])
	}
}

// A log target's host name is resolved when the file is read, as haproxy
// does; "*" (any address, valid in haproxy) is no name to ask for.
func TestLogTargetAnyAddress(t *testing.T) {
	res := &countingResolver{}
	cfg := "global\n    log *:514 local0\n    log loghost:514 local1\n"
	_, ds := LoadHAProxyBytes("t.cfg", []byte(cfg), Options{Resolver: res})
	if ds.HasErrors() || strings.Join(res.names, ",") != "loghost" {
		t.Errorf("names asked %q, want only loghost; diagnostics:\n%s", res.names, ds)
	}
}
