package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gohaka/gohaka/proxy"
	"golang.org/x/sys/unix"
)

// The process that takes over on reload (-sf PIDs, or a new worker of the
// master) asks the old process for its listening sockets over an abstract
// unix socket named after the old PID, so both serve the very same
// sockets: no connection waiting in a listen queue is lost when the old
// one stops (SO_REUSEPORT alone drops the queue of the socket that closes).
// Only root or the process's own user may ask.

// handoverName is the abstract socket address a process with this PID
// answers on.
func handoverName(pid int) string { return fmt.Sprintf("@gohaka-listeners-%d", pid) }

// serveHandover answers requests for the listening sockets of the runtime
// current returns until the returned stop function is called.
func serveHandover(current func() *proxy.Runtime, logf func(string, ...any)) (stop func()) {
	return serveAbstract("unixpacket", handoverName(os.Getpid()), func(c *net.UnixConn) {
		sendListeners(c, current(), logf)
		c.Close()
	}, func(err error) { logf("listener handover socket: %v (a reload will bind new sockets)", err) })
}

// serveAbstract accepts on an abstract unix socket and gives each
// connection to handle (which owns it), until stop is called; a socket
// that cannot be opened is told to failed and nothing is served.
func serveAbstract(network, name string, handle func(*net.UnixConn), failed func(error)) (stop func()) {
	ln, err := net.ListenUnix(network, &net.UnixAddr{Name: name, Net: network})
	if err != nil {
		failed(err)
		return func() {}
	}
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
	return func() { ln.Close() }
}

// sendListeners sends one message per listening socket: its key as data
// and the descriptor as SCM_RIGHTS; the peer must be root or our user.
func sendListeners(c *net.UnixConn, rt *proxy.Runtime, logf func(string, ...any)) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if err != nil || cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		logf("listener handover refused to pid %d", cred.Pid)
		return
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	files := rt.ListenerFiles()
	for key, f := range files {
		c.WriteMsgUnix([]byte(key), unix.UnixRights(int(f.Fd())), nil)
		f.Close()
	}
	logf("handed %d listening sockets over to pid %d", len(files), cred.Pid)
}

// fetchListeners asks the old processes, in order, for their listening
// sockets and returns the first non-empty set (nil when none answers:
// the new process then binds its own sockets with SO_REUSEPORT).
func fetchListeners(pids []int) map[string]*os.File {
	for _, pid := range pids {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: handoverName(pid), Net: "unixpacket"})
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		out := map[string]*os.File{}
		buf, oob := make([]byte, 512), make([]byte, unix.CmsgSpace(4*4))
		for {
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil || n == 0 {
				break
			}
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil || len(msgs) == 0 {
				continue
			}
			fds, err := unix.ParseUnixRights(&msgs[0])
			if err != nil {
				continue
			}
			for i, fd := range fds {
				if i == 0 {
					out[string(buf[:n])] = os.NewFile(uintptr(fd), string(buf[:n]))
				} else {
					unix.Close(fd)
				}
			}
		}
		c.Close()
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// getsocksPID asks an old process's stats socket (haproxy -x SOCKET, with
// `expose-fd listeners`) which process holds the listening sockets; 0 when
// it does not say.
func getsocksPID(path string) int {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "_getsocks\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	var pid int
	if _, err := fmt.Sscanf(line, "gohaka-listeners %d", &pid); err != nil {
		return 0
	}
	return pid
}
