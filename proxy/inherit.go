package proxy

import (
	"net"
	"os"
)

// inheritedListener returns a listener on the socket inherited under key,
// or nil when there is none (or it cannot be used).
func inheritedListener(inherited map[string]*os.File, key string) net.Listener {
	f := inherited[key]
	if f == nil {
		return nil
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil
	}
	return ln
}

// ListenerFiles returns a duplicate of every listening socket, keyed by
// "tcp host:port" or "unix path", for handing over to the process that
// takes over on reload (Options.Inherited). Unix sockets handed over are
// no longer unlinked when this runtime closes them. The caller closes the
// files.
func (r *Runtime) ListenerFiles() map[string]*os.File {
	out := map[string]*os.File{}
	for _, fe := range r.frontends {
		for _, ln := range fe.lns {
			var f *os.File
			var err error
			key := ""
			switch l := ln.(type) {
			case *net.TCPListener:
				key = "tcp " + l.Addr().String()
				f, err = l.File()
			case *net.UnixListener:
				key = "unix " + l.Addr().String()
				l.SetUnlinkOnClose(false)
				f, err = l.File()
			default:
				continue
			}
			if err == nil {
				out[key] = f
			}
		}
	}
	return out
}
