package main

import (
	"net"
	"os"

	"github.com/gohaka/gohaka/proxy"
	"golang.org/x/sys/unix"
)

// serveWorkerCLI answers the master CLI's `@1 CMD` / `@!PID CMD` in a
// worker: the runtime API at admin level on an abstract unix socket that
// only the master (this process's parent) may use.
func serveWorkerCLI(current func() *proxy.Runtime, logf func(string, ...any)) (stop func()) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: workerCLIAddr(os.Getpid()), Net: "unix"})
	if err != nil {
		logf("worker CLI socket: %v (the master CLI cannot reach this worker)", err)
		return func() {}
	}
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			if !fromMaster(c) {
				c.Close()
				continue
			}
			go current().ServeCLIConn(c)
		}
	}()
	return func() { ln.Close() }
}

// fromMaster reports whether the peer of c is this worker's master.
func fromMaster(c *net.UnixConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	return err == nil && int(cred.Pid) == os.Getppid()
}
