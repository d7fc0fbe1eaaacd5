package proxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiConfig has an admin unix socket, an operator socket without a level
// (haproxy 2.6's default), a user-level TCP socket and a frontend.
func apiConfig(dir string, tcpPort, fe int, sp []int) string {
	return fmt.Sprintf(`global
    maxconn 500
    stats socket %s/admin.sock mode 600 level admin
    stats socket %s/oper.sock
    stats socket ipv4@127.0.0.1:%d level user
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe1
    bind 127.0.0.1:%d
    default_backend be1
backend be1
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d weight 2 maxconn 5
`, dir, dir, tcpPort, fe, sp[0], sp[1])
}

// serversStateNoTime blanks srv_time_since_last_change (field 10).
func serversStateNoTime(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 10 && !strings.HasPrefix(l, "#") {
			f[9] = "T"
			lines[i] = strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// promptDialogue sends lines on one connection in prompt mode and reads
// everything until the server closes.
func promptDialogue(t *testing.T, path string, lines ...string) string {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var out strings.Builder
	buf := make([]byte, 64<<10)
	for _, l := range lines {
		io.WriteString(c, l+"\n")
		if l == "quit" {
			break
		}
		n, _ := c.Read(buf) // each answer ends with the "> " prompt
		out.Write(buf[:n])
		for !strings.HasSuffix(out.String(), "> ") {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			out.Write(buf[:n])
		}
	}
	rest, _ := io.ReadAll(c)
	out.Write(rest)
	return out.String()
}

// TestRuntimeAPIMatchesHAProxy sends the same runtime API commands, in
// the same order, to haproxy 2.6 and to gohaka, and compares the answers
// byte for byte: replies, error messages, `show servers state` (but the
// seconds since the last change), the CSV after the changes, prompt mode,
// ';'-separated commands, levels and the TCP socket.
func TestRuntimeAPIMatchesHAProxy(t *testing.T) {
	sp := replyServers(t, 2)
	hdir, gdir := t.TempDir(), t.TempDir()
	htcp, gtcp := freePort(t), freePort(t)
	startHAProxyCfg(t, apiConfig(hdir, htcp, freePort(t), sp))
	startRuntime(t, apiConfig(gdir, gtcp, freePort(t), sp))
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(hdir, "admin.sock")); return err == nil }, "haproxy's socket")
	both := func(sock, cmd string) (string, string) {
		return cliQuery(t, "unix:"+filepath.Join(hdir, sock), cmd), cliQuery(t, "unix:"+filepath.Join(gdir, sock), cmd)
	}
	cmds := []string{
		"show backend", "get weight be1/s2", "set server be1/s2 weight 50%", "get weight be1/s2",
		"set weight be1/s2 3", "get weight be1/s2", "set server be1/s2 weight 2",
		"set server be1/s2 weight 300", "set server be1/sx weight 3", "set server bex/s1 weight 3",
		"set server be1/s1 weight abc", "set server be1/s1 weight -5%", "set server be1/s1 weight", "set weight be1/s1",
		"disable server be1/sx", "disable server be1", "disable server", "enable server", "get weight be1/sx", "get weight be1",
		"set server be1/s2 state foo", "set server be1/s2 state", "set server be1/s2", "set server be1/s2 foo",
		"set server be1/s1 addr", "set server be1/s1 addr foo.bar", "set server be1/s1 addr 127.0.0.1",
		"set server be1/s1 addr 127.0.0.2", "set server be1/s1 addr 127.0.0.2 port 19105",
		fmt.Sprintf("set server be1/s1 addr 127.0.0.1 port %d", sp[0]),
		"set maxconn server be1/s1", "set maxconn server be1/s1 abc", "set maxconn server be1/s2 10",
		"set maxconn frontend fex 5", "set maxconn frontend fe1", "set maxconn frontend fe1 50", "set maxconn global 99999999",
		"set maxconn global 400", "set maxconn", "show servers state bex", "show cli level",
		"show backend;get weight be1/s1", "get weight be1/s1; get weight be1/s2",
		"disable server be1/s1", "set server be1/s2 state drain", "show stat", "show servers state",
		"set server be1/s2 state maint", "show servers state be1", "enable server be1/s1", "set server be1/s2 state ready",
		"show servers state", "show stat", "show table", "show stat -1 4 -1", "show stat be1 2 -1", "show stat 3 -1 2",
		"show stat 2 1 -1", "show stat up", "show stat no-maint",
	}
	for _, c := range cmds {
		h, g := both("admin.sock", c)
		if strings.HasPrefix(c, "show servers state") {
			h, g = serversStateNoTime(h), serversStateNoTime(g)
		}
		if strings.HasPrefix(c, "show stat") {
			checkSameStat(t, h, g)
			continue
		}
		if h != g {
			t.Errorf("%q:\nhaproxy: %q\ngohaka:  %q", c, h, g)
		}
	}
	// levels: the default (operator) and user may look but not change
	for _, c := range []string{"show cli level", "disable server be1/s1", "set server be1/s1 weight 3", "set maxconn global 10"} {
		if h, g := both("oper.sock", c); h != g {
			t.Errorf("operator %q:\nhaproxy: %q\ngohaka:  %q", c, h, g)
		}
	}
	h, g := both("oper.sock", "show stat")
	checkSameStat(t, h, g)
	for _, c := range []string{"show cli level", "disable server be1/s1", "show backend"} {
		h := cliQuery(t, fmt.Sprintf("127.0.0.1:%d", htcp), c)
		g := cliQuery(t, fmt.Sprintf("127.0.0.1:%d", gtcp), c)
		if h != g {
			t.Errorf("TCP user socket %q:\nhaproxy: %q\ngohaka:  %q", c, h, g)
		}
	}
	// prompt mode
	lines := []string{"prompt", "show backend", "get weight be1/s1", "set maxconn", "quit"}
	hp, gp := promptDialogue(t, filepath.Join(hdir, "admin.sock"), lines...), promptDialogue(t, filepath.Join(gdir, "admin.sock"), lines...)
	if hp != gp {
		t.Errorf("prompt dialogue:\nhaproxy: %q\ngohaka:  %q", hp, gp)
	}
	// every help line gohaka prints is haproxy's line for that command
	hh, gh := both("admin.sock", "help")
	for _, l := range strings.Split(strings.TrimSpace(gh), "\n") {
		if !strings.Contains(hh, l+"\n") {
			t.Errorf("help line not in haproxy's help: %q", l)
		}
	}
}

// checkSameStat compares two `show stat` answers field by field, but the
// time and rate columns.
func checkSameStat(t *testing.T, h, g string) {
	t.Helper()
	hh, hrows, order := parseStat(t, h)
	gh, grows, gorder := parseStat(t, g)
	if hh != gh || len(order) != len(gorder) {
		t.Fatalf("show stat shape differs:\n%s\n%s", h, g)
	}
	cols := strings.Split(strings.TrimPrefix(hh, "# "), ",")
	for _, k := range order {
		for i := range hrows[k] {
			if timeCols[cols[i]] {
				continue
			}
			if i >= len(grows[k]) || hrows[k][i] != grows[k][i] {
				t.Errorf("show stat %s %s: haproxy %q, gohaka %q", k, cols[i], hrows[k][i], grows[k][i])
			}
		}
	}
}
