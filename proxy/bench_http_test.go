package proxy

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The http side of `make bench`: wrk through gohaka and through haproxy
// 2.6 (each pinned to core 0, one thread) to the same small-response
// backend, keep-alive on both sides, at 64 and 1,000 connections. Only
// with GOHAKA_BENCH=1.

func httpBenchConfig(fp, be int, haproxy bool) string {
	g := "global\n    maxconn 20000\n"
	if haproxy {
		g += "    nbthread 1\n"
	}
	return g + fmt.Sprintf("\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\n"+
		"frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n\nbackend be\n    server s1 127.0.0.1:%d\n", fp, be)
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps float64
	p99 time.Duration
	bad string // non-2xx or socket errors, as wrk printed them
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99 = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	wrkBad = regexp.MustCompile(`(Non-2xx or 3xx responses: \d+|Socket errors: .*)`)
)

func runWrk(t *testing.T, port, conns int, d time.Duration) wrkResult {
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())),
		"--latency", fmt.Sprintf("http://127.0.0.1:%d/", port)).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	var r wrkResult
	if m := wrkRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := wrkP99.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[2])]
		r.p99 = time.Duration(v * float64(unit))
	}
	r.bad = strings.Join(wrkBad.FindAllString(string(out), -1), "; ")
	return r
}

func TestBenchHTTPVsHAProxy(t *testing.T) {
	if os.Getenv("GOHAKA_BENCH") == "" {
		t.Skip("set GOHAKA_BENCH=1 (make bench) to run the side-by-side benchmark")
	}
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed")
	}
	ln := listenLocal(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	bin := filepath.Join(t.TempDir(), "gohaka")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gohaka").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	gp, hp := freePort(t), freePort(t)
	gcfg := filepath.Join(t.TempDir(), "g.cfg")
	hcfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(gcfg, []byte(httpBenchConfig(gp, port(ln.Addr()), false)), 0o644)
	os.WriteFile(hcfg, []byte(httpBenchConfig(hp, port(ln.Addr()), true)), 0o644)
	g := startProxy(t, "gohaka", []string{bin, "run", "-f", gcfg}, []string{"GOMAXPROCS=1"}, gp, gp)
	h := startProxy(t, "haproxy", []string{hap, "-db", "-f", hcfg}, nil, hp, hp)
	rounds := 2
	if v, _ := strconv.Atoi(os.Getenv("GOHAKA_BENCH_ROUNDS")); v > 0 {
		rounds = v
	}
	for _, conns := range []int{64, 1000} {
		var grps, hrps, gp99, hp99 []float64
		for i := 0; i < rounds; i++ {
			gr := runWrk(t, g.port, conns, 5*time.Second)
			hr := runWrk(t, h.port, conns, 5*time.Second)
			t.Logf("-c %d round %d: gohaka %.0f req/s p99 %v %s; haproxy %.0f req/s p99 %v %s", conns, i+1, gr.rps, gr.p99, gr.bad, hr.rps, hr.p99, hr.bad)
			grps, hrps = append(grps, gr.rps), append(hrps, hr.rps)
			gp99, hp99 = append(gp99, float64(gr.p99)), append(hp99, float64(hr.p99))
		}
		t.Logf("RATIO gohaka/haproxy http requests/s at -c %d: %s", conns, ratios(grps, hrps))
		t.Logf("RATIO gohaka/haproxy http p99 latency at -c %d: %s", conns, ratios(gp99, hp99))
	}
}
