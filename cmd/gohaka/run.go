package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy"
	"github.com/spf13/cobra"
)

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var files, kfiles []string
	cmd := &cobra.Command{
		Use:   "run -f haproxy.cfg [-f more...] [-k keepalived.conf]",
		Short: "serve haproxy.cfg's proxies (tcp mode) and keepalived.conf's VRRP instances",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return exitCode(runProxies(runOpts{files: files, kfiles: kfiles}, stderr))
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "haproxy config file or directory (repeatable)")
	cmd.Flags().StringArrayVarP(&kfiles, "keepalived", "k", nil, "keepalived config file (repeatable)")
	return cmd
}

// runProxies loads the config, serves it and handles signals: SIGTERM and
// SIGINT stop at once, SIGUSR1 stops listening and exits once live
// connections have finished, as haproxy does.
func runProxies(o runOpts, stderr io.Writer) int {
	files := o.files
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s gohaka[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
	}
	if len(files) == 0 && len(o.kfiles) == 0 {
		fmt.Fprintln(stderr, "gohaka run: give -f haproxy.cfg and/or -k keepalived.conf")
		return 1
	}
	cfg, ds := parser.Load(loadOptions(files, o.kfiles, false))
	for _, d := range ds {
		if !d.NotImpl {
			fmt.Fprintln(stderr, d.String())
		}
	}
	if ds.HasErrors() {
		fmt.Fprintln(stderr, "gohaka run: the configuration has errors; nothing started")
		o.ready(fmt.Errorf("configuration errors"))
		return 1
	}
	rt, err := proxy.New(cfg, proxy.Options{Logf: logf})
	if err != nil {
		fmt.Fprintln(stderr, "gohaka run:", err)
		o.ready(err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := rt.Start(); err != nil {
		fmt.Fprintln(stderr, "gohaka run:", err)
		o.ready(err)
		return 1
	}
	vs := &vrrpSet{logf: logf}
	if err := vs.apply(cfg.Keepalived); err != nil {
		rt.Stop()
		fmt.Fprintln(stderr, "gohaka run:", err)
		o.ready(err)
		return 1
	}
	defer vs.stop()
	rt.SetExtraMetrics(vs.seen.metrics) // gohaka_vrrp_* beside haproxy's metrics
	pidfile := o.pidfile
	if pidfile == "" {
		pidfile = cfg.Global.Pidfile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			logf("cannot write pidfile %s: %v", pidfile, err)
		}
	}
	o.finishOld(logf)
	o.ready(nil)
	logf("serving %d proxies", len(cfg.Proxies))
	for s := range sigs {
		switch s {
		case syscall.SIGHUP:
			reloadVRRP(o, vs, logf)
		case syscall.SIGUSR1:
			logf("SIGUSR1: soft stop, waiting for live connections to finish")
			rt.SoftStop()
			logf("all connections finished, exiting")
			return 0
		default:
			logf("%v: stopping", s)
			rt.Stop()
			return 0
		}
	}
	return 0
}

// reloadVRRP re-reads keepalived.conf on SIGHUP: a config with errors
// changes nothing and says why; otherwise unchanged instances keep their
// state and the others are stopped or started.
func reloadVRRP(o runOpts, vs *vrrpSet, logf func(string, ...any)) {
	if len(o.kfiles) == 0 {
		logf("SIGHUP: no keepalived.conf to reload (haproxy.cfg reloads with -sf)")
		return
	}
	opts := loadOptions(nil, o.kfiles, false)
	cfg, ds := parser.Load(opts)
	if ds.HasErrors() {
		for _, d := range ds {
			if d.Sev == parser.Error {
				logf("reload: %s", d)
			}
		}
		logf("reload: keepalived.conf has errors; keeping the running configuration")
		return
	}
	if err := vs.apply(cfg.Keepalived); err != nil {
		logf("reload: %v; keeping the running configuration", err)
		return
	}
	logf("reload: keepalived.conf applied")
}
