package check

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const haproxyBin = "/usr/sbin/haproxy"

// realHAProxy is a haproxy process started by a test, with its log lines.
type realHAProxy struct {
	dir  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []string
	done chan struct{} // closed when haproxy's output ends
}

func needHAProxy(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skipf("differential test needs haproxy 2.6 at %s: %v", haproxyBin, err)
	}
}

// startHAProxy runs haproxy in the foreground with a global section that
// logs raw lines to stdout and opens a stats socket, a unix-socket frontend
// (so that haproxy has a listener), and body (defaults and backends).
func startHAProxy(t *testing.T, body string) *realHAProxy {
	t.Helper()
	needHAProxy(t)
	dir := t.TempDir()
	cfg := "global\n  log stdout format raw local0\n  stats socket " + filepath.Join(dir, "stats.sock") + " level admin\n" +
		body + "\nfrontend fe_dummy\n  mode tcp\n  bind unix@" + filepath.Join(dir, "fe.sock") + "\n"
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &realHAProxy{dir: dir, done: make(chan struct{})}
	h.cmd = exec.Command(haproxyBin, "-db", "-f", path)
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.cmd.Stderr = h.cmd.Stdout
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := h.cmd.Process.Pid
	done := h.done
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.mu.Lock()
			h.logs = append(h.logs, sc.Text())
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
		_ = h.cmd.Wait()
	})
	select {
	case <-done:
		t.Fatalf("haproxy exited at start:\n%s", strings.Join(h.lines(), "\n"))
	case <-time.After(300 * time.Millisecond):
	}
	return h
}

// lines returns a copy of the log lines so far.
func (h *realHAProxy) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.logs...)
}

// waitLog waits until pred matches some line or d passes.
func (h *realHAProxy) waitLog(d time.Duration, pred func(string) bool) (string, bool) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, l := range h.lines() {
			if pred(l) {
				return l, true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", false
}

// showStat returns "show stat" rows keyed by "backend/server".
func (h *realHAProxy) showStat(t *testing.T) map[string]map[string]string {
	t.Helper()
	var c net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if c, err = net.Dial("unix", filepath.Join(h.dir, "stats.sock")); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("stats socket: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	rows := map[string]map[string]string{}
	lines := strings.Split(string(b), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("unexpected show stat output: %q", b)
	}
	head := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < len(head) {
			continue
		}
		row := map[string]string{}
		for i, k := range head {
			row[k] = f[i]
		}
		rows[row["pxname"]+"/"+row["svname"]] = row
	}
	return rows
}
