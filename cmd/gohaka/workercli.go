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
	return serveAbstract("unix", workerCLIAddr(os.Getpid()), func(c *net.UnixConn) {
		if !fromMaster(c) {
			c.Close()
			return
		}
		go current().ServeCLIConn(c)
	}, func(err error) { logf("worker CLI socket: %v (the master CLI cannot reach this worker)", err) })
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
