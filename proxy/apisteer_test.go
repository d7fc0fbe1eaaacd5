package proxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pickCounts sends n connections and counts which server answered.
func pickCounts(t *testing.T, fp, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		name, err := nameFrom(netip.Addr{}, fp)
		if err != nil {
			t.Fatal(err)
		}
		got[name]++
	}
	return got
}

// TestRuntimeAPISteersTraffic changes servers through the stats socket
// and asserts where the next connections go: disable server, enable
// server, set server state drain/maint/ready, set server weight (the
// balancer takes it at once) and set server addr.
func TestRuntimeAPISteersTraffic(t *testing.T) {
	ports := nameBackends(t, 3) // answer "s1", "s2", "s3"
	sock := filepath.Join(t.TempDir(), "api.sock")
	fp := freePort(t)
	startRuntime(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d
`, sock, fp, ports[0], ports[1]))
	api := func(cmd, want string) {
		t.Helper()
		if got := cliQuery(t, "unix:"+sock, cmd); got != want {
			t.Fatalf("%q answered %q, want %q", cmd, got, want)
		}
	}
	expect := func(step string, want map[string]int) {
		t.Helper()
		got := pickCounts(t, fp, 12)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: 12 connections went %v, want %v", step, got, want)
		}
	}
	expect("start", map[string]int{"s1": 6, "s2": 6})
	api("disable server l/s1", "\n")
	expect("s1 disabled", map[string]int{"s2": 12})
	api("enable server l/s1", "\n")
	expect("s1 enabled", map[string]int{"s1": 6, "s2": 6})
	api("set server l/s2 weight 3", "\n")
	expect("s2 weight 3", map[string]int{"s1": 3, "s2": 9})
	api("get weight l/s2", "3 (initial 1)\n\n")
	api("set server l/s2 weight 0", "\n")
	expect("s2 weight 0", map[string]int{"s1": 12})
	api("set weight l/s2 100%", "\n")
	api("set server l/s1 state drain", "\n")
	expect("s1 draining", map[string]int{"s2": 12})
	api("set server l/s1 state ready; set server l/s2 state maint", "\n\n")
	expect("s2 in maintenance", map[string]int{"s1": 12})
	api(fmt.Sprintf("set server l/s1 addr 127.0.0.1 port %d", ports[2]),
		fmt.Sprintf("no need to change the addr, port changed from '%d' to '%d' by 'stats socket command'\n\n", ports[0], ports[2]))
	expect("s1 moved to the third listener", map[string]int{"s3": 12})
	csv := cliQuery(t, "unix:"+sock, "show stat")
	if !strings.Contains(csv, "\nl,s2,") || !strings.Contains(csv, ",MAINT,") {
		t.Fatalf("show stat does not show s2 in MAINT:\n%s", csv)
	}
}

// TestRuntimeAPISetMaxconn lowers a frontend's and a server's maxconn
// through the stats socket and checks that a second connection waits
// until the first ends.
func TestRuntimeAPISetMaxconn(t *testing.T) {
	echo := echoServer(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	fp := freePort(t)
	startRuntime(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
listen l
    bind 127.0.0.1:%d
    server e 127.0.0.1:%d
`, sock, fp, port(echo.Addr())))
	for _, cmd := range []string{"set maxconn frontend l 1", "set maxconn server l/e 1"} {
		if got := cliQuery(t, "unix:"+sock, cmd); got != "\n" {
			t.Fatalf("%q: %q", cmd, got)
		}
		first, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		first.Write([]byte("a"))
		first.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(first, make([]byte, 1)); err != nil {
			t.Fatalf("%s: first connection: %v", cmd, err)
		}
		second, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		second.Write([]byte("b"))
		second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, _ := second.Read(make([]byte, 1)); n != 0 {
			t.Fatalf("%s: a second connection was served while the first held the only slot", cmd)
		}
		first.Close()
		second.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(second, make([]byte, 1)); err != nil {
			t.Fatalf("%s: the second connection was not served once the first ended: %v", cmd, err)
		}
		second.Close()
		cliQuery(t, "unix:"+sock, "set maxconn frontend l 0; set maxconn server l/e 0")
	}
}
