package track

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/check"
)

// flipScript writes a shell script that exits with the codes of seq, one
// per run, repeating the last one.
func flipScript(t *testing.T, seq string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seq"), []byte(seq), 0o644)
	sh := `#!/bin/sh
d=$(dirname "$0")
n=$(cat "$d/cnt" 2>/dev/null || echo 0)
echo $((n+1)) > "$d/cnt"
set -- $(cat "$d/seq")
i=0
for c in "$@"; do
  if [ $i -eq $n ]; then exit $c; fi
  i=$((i+1))
  last=$c
done
exit $last
`
	p := filepath.Join(dir, "chk.sh")
	if err := os.WriteFile(p, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScriptRunnerFlipsPriority(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
	path := flipScript(t, "0 1 1 0 0")
	clk := check.NewManualClock(time.Unix(0, 0))
	type res struct {
		o  Outcome
		st Status
	}
	results := make(chan res, 10)
	r := &ScriptRunner{Clock: clk, Script: Script{Name: "chk", Command: path, Interval: time.Second, Rise: 2, Fall: 2},
		OnResult: func(o Outcome, st Status, _ bool) { results <- res{o, st} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w := Weight{W: -10}
	var got []string
	for i := 0; i < 5; i++ {
		if i > 0 {
			if ws := clk.WaitWaiters(1); ws[0] != time.Second {
				t.Fatalf("interval %v", ws[0])
			}
			clk.Advance(time.Second)
		}
		select {
		case x := <-results:
			d, _ := ScriptDelta(w, x.st)
			got = append(got, itoa(x.o.ExitCode)+":"+itoa(Priority(100, d)))
		case <-time.After(10 * time.Second):
			t.Fatal("script did not run")
		}
	}
	if want := "0:100 1:100 1:90 0:90 0:100"; strings.Join(got, " ") != want {
		t.Fatalf("got %s want %s", strings.Join(got, " "), want)
	}
}

func TestScriptTimeoutKills(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "survived")
	start := time.Now()
	o := RunOnce(context.Background(), Script{Command: "/bin/sh -c 'sleep 1; touch " + marker + "'", Timeout: 200 * time.Millisecond})
	if !o.TimedOut || o.OK {
		t.Fatalf("outcome %+v", o)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("timeout took %v", time.Since(start))
	}
	time.Sleep(1300 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the timed-out script kept running")
	}
}

func TestScriptExitCodesAndUser(t *testing.T) {
	if o := RunOnce(context.Background(), Script{Command: "/bin/sh -c 'exit 3'"}); o.OK || o.ExitCode != 3 {
		t.Fatalf("exit 3: %+v", o)
	}
	if o := RunOnce(context.Background(), Script{Command: "/nonexistent/script"}); o.OK || o.Err == nil {
		t.Fatalf("missing script: %+v", o)
	}
	if os.Geteuid() != 0 {
		t.Skip("running a script as another user needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	o := RunOnce(context.Background(), Script{Command: "/bin/sh -c 'test \"$(id -u)\" = " + u.Uid + "'", User: "nobody"})
	if !o.OK {
		t.Fatalf("script as nobody: %+v", o)
	}
}
