package proxy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestShowInfoAndSessLikeHAProxy compares `show info` (the same fields in
// the same order) and `show sess` (a held connection listed with its
// frontend, backend and server in haproxy's line layout) with haproxy's.
func TestShowInfoAndSessLikeHAProxy(t *testing.T) {
	sp := replyServers(t, 2)
	hdir, gdir := t.TempDir(), t.TempDir()
	hfe, gfe := freePort(t), freePort(t)
	startHAProxyCfg(t, apiConfig(hdir, freePort(t), hfe, sp))
	startRuntime(t, apiConfig(gdir, freePort(t), gfe, sp))
	hsock, gsock := "unix:"+filepath.Join(hdir, "admin.sock"), "unix:"+filepath.Join(gdir, "admin.sock")
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(hdir, "admin.sock")); return err == nil }, "haproxy's socket")
	keys := func(s string) string {
		var k []string
		for _, l := range strings.Split(s, "\n") {
			if name, _, ok := strings.Cut(l, ":"); ok {
				k = append(k, name)
			}
		}
		return strings.Join(k, ",")
	}
	if h, g := keys(cliQuery(t, hsock, "show info")), keys(cliQuery(t, gsock, "show info")); h != g {
		t.Errorf("show info fields:\nhaproxy: %s\ngohaka:  %s", h, g)
	}
	line := regexp.MustCompile(`(?m)^0x[0-9a-f]+: proto=tcpv4 src=127\.0\.0\.1:\d+ fe=fe1 be=be1 srv=s[12] ts=[0-9a-f]+ epoch=(0x)?[0-9a-f]+ age=\d+s calls=\d+ rate=\d+ cpu=\d+ lat=\d+`)
	for _, p := range [][2]any{{hfe, hsock}, {gfe, gsock}} {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p[0]))
		if err != nil {
			t.Fatal(err)
		}
		var out string
		waitFor(t, func() bool {
			out = cliQuery(t, p[1].(string), "show sess")
			return line.MatchString(out)
		}, fmt.Sprintf("a held session in show sess on %s", p[1]))
		if t.Failed() {
			t.Logf("%s", out)
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
}
