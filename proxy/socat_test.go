package proxy

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSocatScripts runs the shell one-liners written for haproxy's
// socket, unchanged, against gohaka: `echo "show stat" | socat stdio
// unix:...`, a change with its check, and the TCP socket.
func TestSocatScripts(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install -y socat)")
	}
	sp := replyServers(t, 2)
	dir := t.TempDir()
	tcp := freePort(t)
	startRuntime(t, apiConfig(dir, tcp, freePort(t), sp))
	sock := filepath.Join(dir, "admin.sock")
	sh := func(script string) string {
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	csv := sh(fmt.Sprintf(`echo "show stat" | socat stdio unix:%s | cut -d, -f1,2,18 | grep -v '^$'`, sock))
	if csv != "# pxname,svname,status\nfe1,FRONTEND,OPEN\nbe1,s1,no check\nbe1,s2,no check\nbe1,BACKEND,UP\n" {
		t.Errorf("show stat through socat:\n%s", csv)
	}
	got := sh(fmt.Sprintf(`echo "set server be1/s2 state maint; show servers state be1" | socat stdio %s | awk '$4=="s2" {print $7}'`, sock))
	if got != "1\n" {
		t.Errorf("admin state of s2 after maint: %q", got)
	}
	lvl := sh(fmt.Sprintf(`echo "show cli level" | socat stdio tcp4-connect:127.0.0.1:%d`, tcp))
	if strings.TrimSpace(lvl) != "user" {
		t.Errorf("TCP socket level: %q", lvl)
	}
}
