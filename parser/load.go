package parser

import (
	"fmt"
	"net/netip"
)

// Resolver turns a server hostname into addresses. Tests pass one that
// answers every name with 127.0.0.1; gohaka run passes the system's.
type Resolver interface {
	LookupHost(host string) ([]netip.Addr, error)
}

// StaticResolver answers every name with the same address (the test
// resolver; also what `check --offline` uses).
type StaticResolver netip.Addr

// LookupHost returns the fixed address.
func (s StaticResolver) LookupHost(string) ([]netip.Addr, error) {
	return []netip.Addr{netip.Addr(s)}, nil
}

// Options says what Load reads and how.
type Options struct {
	// HAProxy lists haproxy config files and directories, in order.
	HAProxy []string
	// Keepalived lists keepalived config files, in order.
	Keepalived []string
	// Env looks up environment variables (nil: none are set).
	Env EnvLookup
	// Resolver resolves server hostnames (nil: hostnames fail to resolve).
	Resolver Resolver
	// Dir is the directory relative file names are taken from ("" = cwd).
	Dir string
	// Offline skips checks that need files outside the config (certs,
	// errorfiles, maps, Lua).
	Offline bool
	// LocalPeer is this host's name among peers (haproxy -L; default: the
	// hostname, which the caller passes in).
	LocalPeer string
	// FailUnresolved makes an unresolvable server hostname an error, as in
	// haproxy; otherwise it is a warning and the server starts DOWN.
	FailUnresolved bool
	// KeepalivedID is the config-id/hostname keepalived @name prefixes are
	// matched against.
	KeepalivedID string
	// KeepalivedHost describes the machine for keepalived's host checks
	// (interfaces, users, scripts); nil skips them.
	KeepalivedHost *KeepalivedHost
}

// Load reads every file the options name into one Config and returns the
// diagnostics found. The Config is usable only when no diagnostic is an
// error.
func Load(opts Options) (*Config, Diags) {
	cfg := &Config{}
	r := newHAReader(&opts, cfg)
	for _, p := range opts.HAProxy {
		r.readPath(p)
	}
	if len(opts.HAProxy) > 0 {
		r.postChecks()
	}
	if len(opts.Keepalived) > 0 {
		k, kd := LoadKeepalived(opts.Keepalived, KeepalivedOptions{ConfigID: opts.KeepalivedID, Env: opts.Env, Host: opts.KeepalivedHost})
		cfg.Keepalived = k
		r.d = append(r.d, kd...)
	}
	return cfg, r.d
}

// LoadHAProxyBytes reads one haproxy config held in memory (fuzzing,
// tests). name is used in positions.
func LoadHAProxyBytes(name string, data []byte, opts Options) (*Config, Diags) {
	cfg := &Config{}
	r := newHAReader(&opts, cfg)
	r.readData(name, data)
	r.postChecks()
	return cfg, r.d
}

// String names the proxy as haproxy does in messages.
func (p *Proxy) String() string { return fmt.Sprintf("%s '%s'", p.Kind, p.Name) }
