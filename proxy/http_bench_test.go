package proxy

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// BenchmarkHTTPKeepAlive measures one small request through gohaka over a
// keep-alive connection: the client talks to a proxying frontend whose
// server is another gohaka frontend answering with `http-request return`.
// allocs/op counts both frontends (and the client loop, which allocates
// nothing).
func BenchmarkHTTPKeepAlive(b *testing.B) {
	fp, sp := freePortB(b), freePortB(b)
	cfg := proxyingConfig(fp, fmt.Sprintf("127.0.0.1:%d", sp), "    http-request set-header X-Bench 1\n", answeringFrontend(sp))
	r := startRuntimeB(b, cfg)
	defer r.Stop()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /index.html HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	end := []byte("hello\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for !bytes.HasSuffix(buf[:n], end) {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}

// proxyingConfig is a mode http frontend on port fp, with rules, sending
// every request to the one server at addr; more follows (another frontend).
func proxyingConfig(fp int, addr, rules, more string) string {
	return fmt.Sprintf("defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"+
		"frontend fe\n    bind 127.0.0.1:%d\n%s    default_backend be\nbackend be\n    server s %s\n", fp, rules, addr) + more
}

// answeringFrontend is a frontend on port p answering "hello\n" itself.
func answeringFrontend(p int) string {
	return fmt.Sprintf("frontend srv\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string \"hello\\n\"\n", p)
}

func startRuntimeB(b *testing.B, cfgText string) *Runtime {
	cfg, ds := parser.LoadHAProxyBytes("b.cfg", []byte(cfgText), parser.Options{Offline: true})
	if ds.HasErrors() {
		b.Fatalf("config: %s", ds)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(); err != nil {
		b.Fatal(err)
	}
	return r
}

// TestBenchHTTPVsHAProxy is `make bench`'s http part: gohaka and haproxy
// 2.6 with the same mode http config in front of one small-answer server
// (a haproxy `http-request return` on core 1), each proxy pinned to core
// 0; wrk (core 1) runs keep-alive rounds with 64 and 1000 connections,
// A B A B, and the ratios gohaka/haproxy are printed. GOHAKA_BENCH=1 only.
func TestBenchHTTPVsHAProxy(t *testing.T) {
	if os.Getenv("GOHAKA_BENCH") == "" {
		t.Skip("set GOHAKA_BENCH=1 (make bench) to run the side-by-side benchmark")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed")
	}
	bin, gp, hp, gCfg, hCfg := startHTTPBench(t, hap)
	startListening(t, []string{"-c", "0", bin, "run", "-f", gCfg}, []string{"GOMAXPROCS=1"}, gp)
	startListening(t, []string{"-c", "0", hap, "-db", "-f", hCfg}, nil, hp)
	run := func(port, conns int) (rps, p99 float64) {
		out, err := exec.Command("taskset", "-c", "1", wrk, "-t1", fmt.Sprintf("-c%d", conns), "-d4s", "--latency", fmt.Sprintf("http://127.0.0.1:%d/", port)).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && f[0] == "Requests/sec:" {
				rps, _ = strconv.ParseFloat(f[1], 64)
			}
			if len(f) == 2 && f[0] == "99%" {
				p99 = wrkDuration(f[1])
			}
		}
		return
	}
	rounds := 3
	if v, _ := strconv.Atoi(os.Getenv("GOHAKA_BENCH_ROUNDS")); v > 0 {
		rounds = v
	}
	for _, conns := range []int{64, 1000} {
		// one round each, not counted: both reach their working size
		// (goroutines, buffers, server connections) before measuring
		run(gp, conns)
		run(hp, conns)
		var rr, pr []float64
		for round := 0; round < rounds; round++ {
			var gr, gl, hr, hl float64
			if round%2 == 0 { // which goes first alternates: the machine drifts
				gr, gl = run(gp, conns)
				hr, hl = run(hp, conns)
			} else {
				hr, hl = run(hp, conns)
				gr, gl = run(gp, conns)
			}
			t.Logf("c=%d round %d: gohaka %.0f req/s p99 %.2fms, haproxy %.0f req/s p99 %.2fms", conns, round, gr, gl, hr, hl)
			rr = append(rr, gr/hr)
			pr = append(pr, gl/hl)
		}
		sort.Float64s(rr)
		sort.Float64s(pr)
		m := len(rr) / 2
		t.Logf("c=%d gohaka/haproxy requests/s min %.2f median %.2f max %.2f; p99 min %.2f median %.2f max %.2f", conns, rr[0], rr[m], rr[len(rr)-1], pr[0], pr[m], pr[len(pr)-1])
	}
}

// startHTTPBench builds gohaka, writes the http bench's configs and
// starts their server (haproxy hap on core 1); gohaka and haproxy are to
// proxy on gp and hp with the configs gCfg and hCfg.
func startHTTPBench(t *testing.T, hap string) (bin string, gp, hp int, gCfg, hCfg string) {
	dir := t.TempDir()
	bin = filepath.Join(dir, "gohaka")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gohaka").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bp := freePort(t)
	gp, hp = freePort(t), freePort(t)
	beCfg, gCfg, hCfg := benchHTTPConfigs(t, dir, bp, gp, hp)
	startListening(t, []string{"-c", "1", hap, "-db", "-f", beCfg}, nil, bp)
	return bin, gp, hp, gCfg, hCfg
}

// benchHTTPConfigs writes the http bench's configs in dir: a haproxy
// server on bp answering every request, and the proxy on gp (gohaka's)
// and hp (haproxy's, one thread) in front of it.
func benchHTTPConfigs(t *testing.T, dir string, bp, gp, hp int) (be, g, h string) {
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	defs := "defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n"
	be = write("be.cfg", "global\n    nbthread 1\n"+defs+fmt.Sprintf("frontend be\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string \"hello world\\n\"\n", bp))
	px := func(port int, h bool) string {
		g := "global\n    maxconn 5000\n"
		if h {
			g += "    nbthread 1\n"
		}
		return g + defs + fmt.Sprintf("frontend fe\n    bind 127.0.0.1:%d\n    default_backend b\nbackend b\n    server s 127.0.0.1:%d\n", port, bp)
	}
	return be, write("g.cfg", px(gp, false)), write("h.cfg", px(hp, true))
}

// startListening starts `taskset args` with env added and waits until
// port accepts; the process is killed when the test ends. It returns the
// process, for a signal of the caller's.
func startListening(t *testing.T, args, env []string, port int) *exec.Cmd {
	cmd := exec.Command("taskset", args...)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%v did not listen", args)
	return nil
}

// wrkDuration reads wrk's "1.23ms" style durations as milliseconds.
func wrkDuration(s string) float64 {
	for _, u := range []struct {
		suf string
		ms  float64
	}{{"us", 0.001}, {"ms", 1}, {"s", 1000}, {"m", 60000}} {
		if strings.HasSuffix(s, u.suf) {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(s, u.suf), 64)
			return v * u.ms
		}
	}
	return 0
}

// TestHTTPKeepAliveAllocatesNothing: the keep-alive request path (both
// frontends of BenchmarkHTTPKeepAlive) allocates nothing per request.
func TestHTTPKeepAliveAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a benchmark")
	}
	r := testing.Benchmark(BenchmarkHTTPKeepAlive)
	if r.N == 0 {
		t.Fatal("the benchmark did not run")
	}
	if a := r.AllocsPerOp(); a != 0 {
		t.Errorf("%d allocations per request (%d B), want 0", a, r.AllocedBytesPerOp())
	}
}
