package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/diag")

const diagDir = "../../testdata/diag"

func diagFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(diagDir, "*.cfg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs in %s: %v", diagDir, err)
	}
	return files
}

// runCLI runs the binary's entry point in-process under the given name.
func runCLI(name string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := run(append([]string{name}, args...), &out, &errb)
	return rc, out.String(), errb.String()
}

// TestCheckGolden compares `gohaka check` output for one config per
// diagnostic kind with the reviewed golden files.
func TestCheckGolden(t *testing.T) {
	t.Setenv("GOHAKA_STUB_RESOLVER", "127.0.0.1")
	for _, f := range diagFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".cfg")
		t.Run(name, func(t *testing.T) {
			rc, out, _ := runCLI("gohaka", "check", "-f", f)
			got := strings.ReplaceAll(out, diagDir+"/", "") + "exit " + string(rune('0'+rc)) + "\n"
			golden := filepath.Join(diagDir, name+".golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test ./cmd/gohaka -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("check output differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

var pidRe = regexp.MustCompile(`\(\d+\)`)

// normalize removes what legitimately differs between two runs: the pid
// and the executable's path.
func normalize(s string) string {
	s = pidRe.ReplaceAllString(s, "(PID)")
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "path to executable is") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// haproxyOffline finds haproxy and unshare(1), to run haproxy in a
// network namespace with loopback only; the test is skipped without them
// or without root.
func haproxyOffline(t *testing.T) (hap, unshare string) {
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	unshare, err = exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare(1) to run haproxy without network access")
	}
	return hap, unshare
}

// TestHAProxyCheckCompat runs real haproxy 2.6 `-c` and gohaka invoked as
// haproxy on the same configs: exit code, stdout and stderr must match.
// haproxy runs in a network namespace with loopback only, so a name it
// tries to resolve never reaches the machine's DNS.
func TestHAProxyCheckCompat(t *testing.T) {
	hap, unshare := haproxyOffline(t)
	t.Setenv("GOHAKA_STUB_RESOLVER", "127.0.0.1")
	for _, f := range diagFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(unshare, "-n", hap, "-c", "-f", name)
			cmd.Dir = diagDir
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Run()
			wantRC := cmd.ProcessState.ExitCode()
			rc, gout, gerr := haproxyCheckOffline(diagDir, name)
			if rc != wantRC {
				t.Errorf("exit code %d, haproxy %d\nhaproxy stderr:\n%s\ngohaka stderr:\n%s", rc, wantRC, errb.String(), gerr)
			}
			if gout != out.String() {
				t.Errorf("stdout %q, haproxy %q", gout, out.String())
			}
			if normalize(gerr) != normalize(errb.String()) {
				t.Errorf("stderr differs\n--- haproxy\n%s--- gohaka\n%s", normalize(errb.String()), normalize(gerr))
			}
		})
	}
}

// corpusSameFloor is how many corpus configs haproxy -c and gohaka as
// haproxy answer byte for byte alike (stdout, stderr and exit code): a
// change that lowers it fails; raise it when more agree.
const corpusSameFloor = 182

// TestHAProxyCheckCorpusByteForByte runs real haproxy 2.6 -c (in a
// network namespace with loopback only) and gohaka invoked as haproxy on
// every config of the corpus; gohaka answers names as haproxy does there
// (localhost only, GOHAKA_STUB_RESOLVER=none), so nothing queries DNS.
func TestHAProxyCheckCorpusByteForByte(t *testing.T) {
	hap, unshare := haproxyOffline(t)
	dir := haproxyCorpus(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.cfg"))
	t.Setenv("GOHAKA_STUB_RESOLVER", "none")
	same := 0
	var differ []string
	for _, f := range files {
		if sameAsHAProxy(t, hap, unshare, dir, filepath.Base(f)) {
			same++
		} else {
			differ = append(differ, filepath.Base(f))
		}
	}
	t.Logf("%d of %d corpus configs: haproxy -c and gohaka print the same; differ: %s", same, len(files), strings.Join(differ, " "))
	if same < corpusSameFloor {
		t.Errorf("%d corpus configs agree byte for byte, fewer than the %d agreed before", same, corpusSameFloor)
	}
}

// haproxyCorpus is the corpus's haproxy folder, as an absolute path
// ($GOHAKA_CORPUS, else next to the checkout, else where it lives here);
// the test is skipped without it.
func haproxyCorpus(t *testing.T) string {
	dir := os.Getenv("GOHAKA_CORPUS")
	for _, d := range []string{"../../../shared/corpus", "/work/shared/corpus"} {
		if _, err := os.Stat(d); dir == "" && err == nil {
			dir = d
		}
	}
	dir, _ = filepath.Abs(filepath.Join(dir, "haproxy"))
	if _, err := os.Stat(filepath.Join(dir, "EXPECTED.tsv")); err != nil {
		t.Skipf("corpus not available (%v)", err)
	}
	return dir
}

// sameAsHAProxy runs haproxy -c (no network) and gohaka as haproxy on
// file from dir, where the configs' relative file names point: the same
// exit code, stdout and stderr.
func sameAsHAProxy(t *testing.T, hap, unshare, dir, file string) bool {
	cmd := exec.Command(unshare, "-n", hap, "-c", "-f", file)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	rc, gout, gerr := haproxyCheckOffline(dir, file)
	return rc == cmd.ProcessState.ExitCode() && gout == out.String() && normalize(gerr) == normalize(errb.String())
}

// haproxyCheckOffline runs gohaka as `haproxy -c -f file` in dir, as the
// real one runs next to it: in a network namespace of its own, with
// loopback down (what check tries to reach, such as a resolvers name
// server, is unreachable alike). Only the calling thread, locked, enters
// that namespace, and it comes back before it is unlocked (it may be
// the main thread, whose namespace /proc/self/net shows the other tests).
func haproxyCheckOffline(dir, file string) (rc int, stdout, stderr string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if orig, err := netns.Get(); err == nil {
		if ns, err := netns.New(); err == nil { // without the right, check runs here as is
			defer func() {
				netns.Set(orig)
				ns.Close()
				orig.Close()
			}()
		} else {
			orig.Close()
		}
	}
	wd, _ := os.Getwd()
	os.Chdir(dir)
	rc, stdout, stderr = runCLI("haproxy", "-c", "-f", file)
	os.Chdir(wd)
	return
}
