package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenInodes returns the inodes of the sockets listening on a local
// TCP port (from /proc/net/tcp): one when processes share a socket, one
// per process when each bound its own with SO_REUSEPORT.
func listenInodes(port int) map[string]bool {
	out := map[string]bool{}
	b, _ := os.ReadFile("/proc/net/tcp")
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		if _, p, ok := strings.Cut(f[1], ":"); ok {
			if n, _ := strconv.ParseInt(p, 16, 32); int(n) == port {
				out[f[9]] = true
			}
		}
	}
	return out
}

// TestXSocketTakesListenersOver: `haproxy -x SOCKET` takes the listening
// sockets from the process whose stats socket has `expose-fd listeners`
// (both then serve one socket); without expose-fd nothing is offered and
// the new process binds its own.
func TestXSocketTakesListenersOver(t *testing.T) {
	link := hapLink(t)
	backend := slowServer(t)
	for _, expose := range []bool{true, false} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "stats.sock")
		fp := localPort(t)
		g := fmt.Sprintf("    stats socket %s mode 600 level admin\n", sock)
		if expose {
			g = fmt.Sprintf("    stats socket %s mode 600 level admin expose-fd listeners\n", sock)
		}
		oldCfg := tcpConfig(t, dir, fp, backend, g)
		startMaster(t, link, nil, "-db", "-f", oldCfg)
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				break
			}
			time.Sleep(30 * time.Millisecond)
		}
		newCfg := tcpConfig(t, t.TempDir(), fp, backend, "")
		_, out := startMaster(t, link, nil, "-db", "-f", newCfg, "-x", sock)
		if expose {
			out.waitFor(t, "took 1 listening sockets over", 1)
		} else {
			out.waitFor(t, "no listening sockets offered", 1)
		}
		if err := served(fp); err != nil {
			t.Fatalf("expose-fd %v: %v", expose, err)
		}
		want := 1
		if !expose {
			want = 2
		}
		if n := len(listenInodes(fp)); n != want {
			t.Errorf("expose-fd %v: %d listening sockets on the port, want %d", expose, n, want)
		}
	}
}
