package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// Capability numbers kept after the drop.
const (
	capNetBindService = 10
	capNetAdmin       = 12
	capNetRaw         = 13
)

// privPlan is what the global section asks of the serving process once
// its sockets are open: ulimit-n, chroot, gid, supplementary groups, uid.
type privPlan struct {
	ulimitN  uint64
	chroot   string
	uid, gid int // -1: unchanged
	groups   []int
	setGroup bool // setgroups(groups) is due
	caps     uint64
}

// planPrivileges resolves user and group names (before any chroot) as
// haproxy does: `user`/`uid` set the uid and the user's supplementary
// groups, `group`/`gid` the gid; a user alone leaves the gid as it is.
// vrrp says VRRP instances run in this process: they keep CAP_NET_ADMIN
// and CAP_NET_RAW beside CAP_NET_BIND_SERVICE.
func planPrivileges(g parser.Global, vrrp bool) (privPlan, error) {
	p := privPlan{ulimitN: uint64(max(g.UlimitN, 0)), chroot: g.Chroot, uid: -1, gid: -1, caps: 1 << capNetBindService}
	if vrrp {
		p.caps |= 1<<capNetAdmin | 1<<capNetRaw
	}
	if g.GID > 0 {
		p.gid = g.GID
	}
	if g.Group != "" {
		gr, err := user.LookupGroup(g.Group)
		if err != nil {
			return p, fmt.Errorf("cannot find group id for '%s'", g.Group)
		}
		p.gid, _ = strconv.Atoi(gr.Gid)
	}
	var u *user.User
	var err error
	if g.User != "" {
		if u, err = user.Lookup(g.User); err != nil {
			return p, fmt.Errorf("cannot find user id for '%s'", g.User)
		}
	} else if g.UID > 0 {
		u, _ = user.LookupId(strconv.Itoa(g.UID))
		p.uid = g.UID
	}
	if u != nil {
		p.uid, _ = strconv.Atoi(u.Uid)
		ids, _ := u.GroupIds()
		for _, s := range ids {
			if n, err := strconv.Atoi(s); err == nil && n != p.gid {
				p.groups = append(p.groups, n)
			}
		}
	}
	if p.gid >= 0 {
		p.groups = append([]int{p.gid}, p.groups...)
	}
	p.setGroup = p.gid >= 0 || p.uid >= 0
	return p, nil
}

// errNoAllThreads: capabilities are per thread and Go can set them on
// every thread only in a binary built without cgo.
var errNoAllThreads = errors.New("capabilities cannot be kept on every thread in a cgo build (build with CGO_ENABLED=0)")

// apply applies the plan to the whole process: the limit, the chroot,
// then groups, gid and uid; when the uid leaves root, only p.caps stay
// (permitted and effective) on every thread. A capability failure is
// returned after the identity change, which has happened.
func (p privPlan) apply() error {
	if p.ulimitN > 0 {
		lim := unix.Rlimit{Cur: p.ulimitN, Max: p.ulimitN}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("cannot set ulimit-n to %d: %v", p.ulimitN, err)
		}
	}
	if p.chroot != "" {
		if err := syscall.Chroot(p.chroot); err != nil {
			return fmt.Errorf("cannot chroot(%s): %v", p.chroot, err)
		}
		if err := os.Chdir("/"); err != nil {
			return err
		}
	}
	leaving := p.uid > 0 && os.Geteuid() == 0
	var capErr error
	if leaving {
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); e != 0 {
			capErr = errNoAllThreads
			if e != syscall.ENOTSUP {
				capErr = fmt.Errorf("prctl(PR_SET_KEEPCAPS): %v", e)
			}
		}
	}
	if p.setGroup && os.Geteuid() == 0 {
		if err := syscall.Setgroups(p.groups); err != nil {
			return fmt.Errorf("cannot set the supplementary groups: %v", err)
		}
	}
	if p.gid >= 0 {
		if err := syscall.Setgid(p.gid); err != nil {
			return fmt.Errorf("cannot set gid %d: %v", p.gid, err)
		}
	}
	if p.uid >= 0 {
		if err := syscall.Setuid(p.uid); err != nil {
			return fmt.Errorf("cannot set uid %d: %v", p.uid, err)
		}
	}
	if !leaving || capErr != nil {
		return capErr
	}
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := &[2]unix.CapUserData{{Effective: uint32(p.caps), Permitted: uint32(p.caps)},
		{Effective: uint32(p.caps >> 32), Permitted: uint32(p.caps >> 32)}}
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if e != 0 {
		return fmt.Errorf("capset: %v", e)
	}
	syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0)
	return nil
}

// dropPrivileges applies the global section's ulimit-n, chroot, group and
// user once the sockets are open. A cgo build cannot keep capabilities
// on every thread: it changes user all the same and says so.
func dropPrivileges(cfg *parser.Config, logf func(string, ...any)) error {
	vrrp := cfg.Keepalived != nil && len(cfg.Keepalived.Instances) > 0
	p, err := planPrivileges(cfg.Global, vrrp)
	if err != nil {
		return err
	}
	err = p.apply()
	if errors.Is(err, errNoAllThreads) {
		logf("warning: running as uid %d without capabilities: %v", p.uid, err)
		return nil
	}
	return err
}
