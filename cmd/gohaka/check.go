package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/spf13/cobra"
)

// systemResolver resolves server hostnames with the system resolver, as
// haproxy's init-addr libc does.
type systemResolver struct{}

func (systemResolver) LookupHost(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

type checkFlags struct {
	files      []string
	keepalived []string
	strict     bool
	format     string
	offline    bool
	host       bool
}

func newCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check -f haproxy.cfg [-f more...] [-k keepalived.conf]",
		Short: "lint haproxy.cfg and keepalived.conf; exit 0 valid, 1 invalid",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return exitCode(runCheck(f, stdout, stderr))
		},
	}
	cmd.Flags().StringArrayVarP(&f.files, "file", "f", nil, "haproxy config file or directory (repeatable)")
	cmd.Flags().StringArrayVarP(&f.keepalived, "keepalived", "k", nil, "keepalived config file (repeatable)")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "treat keywords gohaka does not implement as errors")
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.offline, "offline", false, "skip DNS and the files configs refer to (certs, maps, errorfiles)")
	cmd.Flags().BoolVar(&f.host, "host", false, "also check against this machine: interfaces, users, scripts, net.ipv4.ip_nonlocal_bind")
	return cmd
}

// checkReport is what `check --format json` prints.
type checkReport struct {
	Valid       bool        `json:"valid"`
	Proxies     int         `json:"proxies"`
	Servers     int         `json:"servers"`
	Warnings    int         `json:"warnings"`
	Errors      int         `json:"errors"`
	Diagnostics []checkDiag `json:"diagnostics"`
}

type checkDiag struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func loadOptions(files, kfiles []string, offline bool) parser.Options {
	o := parser.Options{HAProxy: files, Keepalived: kfiles, Env: os.LookupEnv,
		Resolver: systemResolver{}, Offline: offline}
	// GOHAKA_STUB_RESOLVER=IP answers every hostname with IP, =none only
	// localhost (as haproxy without a network resolves): tests use it so
	// that nothing queries the machine's DNS.
	if stub, ok := os.LookupEnv("GOHAKA_STUB_RESOLVER"); ok {
		if ip, err := netip.ParseAddr(stub); err == nil {
			o.Resolver = parser.StaticResolver(ip)
		} else if stub == "none" {
			o.Resolver = localhostOnly{}
		}
	}
	if offline {
		o.Resolver = parser.StaticResolver(netip.MustParseAddr("127.0.0.1"))
	}
	if h, err := os.Hostname(); err == nil {
		o.KeepalivedID = h
		o.LocalPeer = h // haproxy's local peer name by default
	}
	return o
}

func runCheck(f checkFlags, stdout, stderr io.Writer) int {
	if len(f.files) == 0 && len(f.keepalived) == 0 {
		fmt.Fprintln(stderr, "gohaka check: give at least one -f haproxy.cfg or -k keepalived.conf")
		return 1
	}
	opts := loadOptions(f.files, f.keepalived, f.offline)
	nonlocal := -1
	if f.host {
		opts.KeepalivedHost = realHost()
		if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_nonlocal_bind"); err == nil {
			nonlocal = int(b[0] - '0')
		}
	}
	cfg, ds := parser.Load(opts)
	ds = append(ds, parser.CrossCheck(cfg, nonlocal)...)
	if !ds.HasErrors() {
		if d, ok := runtimeRefusal(cfg); ok { // checkrun.go
			ds = append(ds, d)
		}
	}
	if f.strict {
		ds = ds.Strict()
	}
	servers := 0
	for _, p := range cfg.Proxies {
		servers += len(p.Servers)
	}
	rep := checkReport{Valid: !ds.HasErrors(), Proxies: len(cfg.Proxies), Servers: servers,
		Warnings: ds.Count(parser.Warning), Errors: ds.Count(parser.Error)}
	if f.format == "json" {
		for _, d := range ds {
			rep.Diagnostics = append(rep.Diagnostics, checkDiag{File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col, Severity: d.Sev.String(), Message: d.Msg})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		for _, d := range ds {
			fmt.Fprintln(stdout, d.String())
		}
		verdict := "valid"
		if !rep.Valid {
			verdict = "invalid"
		}
		if cfg.Keepalived != nil && len(cfg.Keepalived.Instances) > 0 {
			fmt.Fprint(stdout, parser.NodeSummary(cfg))
		}
		fmt.Fprintf(stdout, "%s: %d proxies, %d servers, %s%d warnings, %d errors\n", verdict, rep.Proxies, rep.Servers, vrrpSummary(cfg), rep.Warnings, rep.Errors)
	}
	if !rep.Valid {
		return 1
	}
	return 0
}

func vrrpSummary(cfg *parser.Config) string {
	if cfg.Keepalived == nil {
		return ""
	}
	return fmt.Sprintf("%d vrrp instances, ", len(cfg.Keepalived.Instances))
}

// localhostOnly resolves localhost alone, as the C library does from
// /etc/hosts with no network.
type localhostOnly struct{}

// LookupHost answers localhost with 127.0.0.1 and fails other names.
func (localhostOnly) LookupHost(host string) ([]netip.Addr, error) {
	if host == "localhost" {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}
