package proxy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCacheHTTPVsHAProxy runs the http bench's keep-alive load (1,000
// connections) through gohaka and through haproxy, each under valgrind's
// cachegrind with the cache sizes of the bench machine's core (48 KiB
// L1 data, 1 MiB L2 as the last level), and prints per request the
// instructions, L1 misses and last-level data misses of each (the
// difference between a 2 s run and a longer one, so that starting and
// connecting do not count). Unlike
// requests/s on a shared machine these counts repeat from run to run
// within a few percent, so they tell whether a change to the request path
// helps. GOHAKA_CACHEGRIND=1 only (needs valgrind and wrk).
func TestCacheHTTPVsHAProxy(t *testing.T) {
	if os.Getenv("GOHAKA_CACHEGRIND") == "" {
		t.Skip("set GOHAKA_CACHEGRIND=1 to count cache misses per request under cachegrind")
	}
	var tools []string
	for _, name := range []string{"valgrind", "wrk", "haproxy"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s is not installed", name)
		}
		tools = append(tools, p)
	}
	vg, wrk, hap := tools[0], tools[1], tools[2]
	bin, gp, hp, gCfg, hCfg := startHTTPBench(t, hap)
	dir := t.TempDir()
	secs := 20
	if v, _ := strconv.Atoi(os.Getenv("GOHAKA_CACHEGRIND_SECONDS")); v > 0 {
		secs = v
	}
	// totals of one run of the given seconds, and the requests it served
	run := func(name string, secs, port int, stop syscall.Signal, args ...string) (map[string]float64, float64) {
		out := filepath.Join(dir, fmt.Sprintf("%s-%d.cg", name, secs))
		log := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, secs))
		vargs := append([]string{"-c", "0", vg, "--tool=cachegrind", "--cache-sim=yes", "--D1=49152,12,64", "--LL=1048576,16,64",
			"--cachegrind-out-file=" + out, "--log-file=" + log}, args...)
		cmd := startListening(t, vargs, []string{"GOMAXPROCS=1"}, port)
		res, err := exec.Command("taskset", "-c", "1", wrk, "-t1", "-c1000", fmt.Sprintf("-d%ds", secs), fmt.Sprintf("http://127.0.0.1:%d/", port)).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, res)
		}
		var n float64
		for _, l := range strings.Split(string(res), "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[1] == "requests" && f[2] == "in" {
				n, _ = strconv.ParseFloat(f[0], 64)
			}
		}
		cmd.Process.Signal(stop)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s under valgrind did not stop", name)
		}
		text, _ := os.ReadFile(log)
		counts := map[string]float64{}
		for _, l := range strings.Split(string(text), "\n") {
			// "==123== D1  misses:   28,212,724  ( 16,817,858 rd ..."
			if i := strings.Index(l, "== "); i >= 0 {
				l = l[i+3:]
			}
			k, v, ok := strings.Cut(l, ":")
			f := strings.Fields(v)
			if !ok || len(f) == 0 {
				continue
			}
			if x, err := strconv.ParseFloat(strings.ReplaceAll(f[0], ",", ""), 64); err == nil {
				counts[strings.Join(strings.Fields(k), " ")] = x
			}
		}
		t.Logf("%s: %.0f requests in %d s under cachegrind", name, n, secs)
		return counts, n
	}
	// per request, without the start, the stop and the connection set-up:
	// the difference between a short run and a long one
	measure := func(name string, port int, stop syscall.Signal, args ...string) map[string]float64 {
		short, n1 := run(name, 2, port, stop, args...)
		long, n2 := run(name, secs, port, stop, args...)
		per := map[string]float64{}
		for k, v := range long {
			if n2 > n1 {
				per[k] = (v - short[k]) / (n2 - n1)
			}
		}
		return per
	}
	g := measure("gohaka", gp, syscall.SIGINT, bin, "run", "-f", gCfg)
	h := measure("haproxy", hp, syscall.SIGTERM, hap, "-db", "-f", hCfg)
	for _, k := range []string{"I refs", "I1 misses", "D refs", "D1 misses", "LLd misses"} {
		if g[k] == 0 || h[k] == 0 {
			t.Fatalf("no %q count from cachegrind (gohaka %v, haproxy %v)", k, g[k], h[k])
		}
		t.Logf("per request %-10s gohaka %8.1f  haproxy %8.1f  ratio %.2f", k, g[k], h[k], g[k]/h[k])
	}
}
