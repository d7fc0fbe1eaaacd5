package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
		Short: "serve haproxy.cfg's proxies (tcp and http mode) and keepalived.conf's VRRP instances",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return exitCode(runProxies(runOpts{files: files, kfiles: kfiles, hupHAProxy: true, notify: true}, stderr))
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "haproxy config file or directory (repeatable)")
	cmd.Flags().StringArrayVarP(&kfiles, "keepalived", "k", nil, "keepalived config file (repeatable)")
	return cmd
}

// runProxies loads the config, serves it and handles signals: SIGTERM and
// SIGINT stop at once, SIGUSR1 stops listening and exits once live
// connections have finished, as haproxy does; SIGHUP reloads
// keepalived.conf and, for `gohaka run`, haproxy.cfg.
func runProxies(o runOpts, stderr io.Writer) int {
	files := o.files
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s gohaka[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
	}
	if o.logf != nil {
		logf = o.logf
	}
	if o.persona == "keepalived" {
		logf("Starting Keepalived v2.2.7 (gohaka %s)", version)
		logf("Configuration file %s", strings.Join(o.kfiles, " "))
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
	if o.maxconn > 0 {
		cfg.Global.Maxconn = o.maxconn
	}
	from := o.oldPIDs
	if o.xSocket != "" {
		if pid := getsocksPID(o.xSocket); pid > 0 {
			from = append([]int{pid}, from...)
		} else {
			logf("-x %s: no listening sockets offered (is 'expose-fd listeners' set?)", o.xSocket)
		}
	}
	inherited := fetchListeners(from)
	rt, err := proxy.New(cfg, proxy.Options{Logf: logf, Inherited: inherited})
	if err != nil {
		fmt.Fprintln(stderr, "gohaka run:", err)
		o.ready(err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	err = rt.Start()
	for _, f := range inherited {
		f.Close() // the runtime holds its own copies
	}
	if err != nil {
		fmt.Fprintln(stderr, "gohaka run:", err)
		o.ready(err)
		return 1
	}
	if len(inherited) > 0 {
		logf("took %d listening sockets over from %v", len(inherited), from)
	}
	ps := &proxySet{cur: rt}
	stopHandover := func() {}
	if len(files) > 0 {
		stopHandover = serveHandover(ps.current, logf)
	}
	defer stopHandover()
	if o.worker {
		stopCLI := serveWorkerCLI(ps.current, logf)
		defer stopCLI()
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
	o.pidfileG = cfg.Global.Pidfile
	if err := o.writePidfile(); err != nil {
		logf("%v", err)
	}
	if err := dropPrivileges(cfg, logf); err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (%d) : [%s.main()] %v\n", os.Getpid(), os.Args[0], err)
		rt.Stop()
		o.ready(err)
		return 1
	}
	if o.rmPid && !o.worker && o.pidfile != "" {
		defer os.Remove(o.pidfile)
	}
	o.finishOld(logf)
	o.ready(nil)
	if o.notify {
		sdNotify("READY=1")
	}
	if o.persona == "keepalived" {
		vs.waitStarted(2 * time.Second)
		logf("Startup complete")
	} else {
		logf("serving %d proxies", len(cfg.Proxies))
	}
	for s := range sigs {
		switch s {
		case syscall.SIGHUP:
			if o.notify {
				sdNotify("RELOADING=1")
			}
			if o.hupHAProxy && len(files) > 0 {
				reloadHAProxy(o, ps, logf)
			}
			reloadVRRP(o, vs, logf)
			if o.notify {
				sdNotify("READY=1")
			}
		case syscall.SIGUSR1:
			logf("SIGUSR1: soft stop, waiting for live connections to finish")
			stopHandover()
			ps.softStop()
			logf("all connections finished, exiting")
			return 0
		default:
			if o.persona == "keepalived" {
				logf("Stopping")
				if o.notify {
					sdNotify("STOPPING=1")
				}
				ps.stop()
				vs.stop()
				logf("Stopped Keepalived v2.2.7 (gohaka %s)", version)
				return 0
			}
			logf("%v: stopping", s)
			if o.notify {
				sdNotify("STOPPING=1")
			}
			ps.stop()
			if o.worker {
				return 128 + int(s.(syscall.Signal)) // as haproxy's workers end
			}
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
		if !o.hupHAProxy {
			logf("SIGHUP: no keepalived.conf to reload (haproxy.cfg reloads with -sf or -W)")
		}
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
