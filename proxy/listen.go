package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// listen opens the sockets of one bind address (a port range gives one
// listener per port), applying transparent, interface and v6only. A socket
// found in inherited under its address is reused instead.
func listen(b *parser.Bind, tcpKeepAlive bool, inherited map[string]*os.File) ([]net.Listener, error) {
	a := b.Addr
	if a.Family == "unix" {
		if ln := inheritedListener(inherited, "unix "+a.Path); ln != nil {
			return []net.Listener{ln}, nil
		}
		os.Remove(a.Path)
		ln, err := net.Listen("unix", a.Path)
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	_, transparent := b.Options["transparent"]
	_, v6only := b.Options["v6only"]
	_, v4v6 := b.Options["v4v6"]
	iface := ""
	if v := b.Options["interface"]; len(v) > 0 {
		iface = v[0]
	}
	ka := time.Duration(-1) // off unless option clitcpka / tcpka, as haproxy
	if tcpKeepAlive {
		ka = 0
	}
	lc := net.ListenConfig{KeepAlive: ka, Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			set := func(level, opt, v int) {
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), level, opt, v)
				}
			}
			set(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if transparent {
				if network == "tcp6" {
					set(unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
				} else {
					set(unix.SOL_IP, unix.IP_TRANSPARENT, 1)
				}
				set(unix.SOL_IP, unix.IP_FREEBIND, 1)
			}
			if network == "tcp6" && (v6only || v4v6) {
				v := 1
				if v4v6 {
					v = 0
				}
				set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v)
			}
			if iface != "" && serr == nil {
				serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	host := a.Host
	if host == "*" {
		host = ""
	}
	network := "tcp"
	if a.Family == "ipv4" && host == "" {
		network, host = "tcp4", "0.0.0.0"
	}
	if a.Family == "ipv6" && host == "" {
		host = "::"
	}
	var out []net.Listener
	for port := a.Port; port <= max(a.PortEnd, a.Port); port++ {
		address := net.JoinHostPort(host, fmt.Sprint(port))
		if ln := inheritedListener(inherited, "tcp "+address); ln != nil {
			out = append(out, ln)
			continue
		}
		ln, err := lc.Listen(context.Background(), network, address)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		if v := b.Options["backlog"]; len(v) > 0 {
			// listen(2) again on a listening socket sets its backlog
			if n, err := strconv.Atoi(v[0]); err == nil && n > 0 {
				if sc, ok := ln.(syscall.Conn); ok {
					if rc, err := sc.SyscallConn(); err == nil {
						rc.Control(func(fd uintptr) { unix.Listen(int(fd), n) })
					}
				}
			}
		}
		out = append(out, ln)
	}
	return out, nil
}
