package proxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file is `make bench`'s side-by-side run: gohaka and haproxy 2.6 with
// the same tcp config, each pinned to core 0 (GOMAXPROCS=1, nbthread 1),
// while this process (backends and clients) runs on core 1. It only runs
// with GOHAKA_BENCH=1.

type proxyProc struct {
	name  string
	cmd   *exec.Cmd
	port  int // bulk listener
	small int // small-response listener
}

func benchConfig(fp, fp2, bulk, small int, haproxy bool) string {
	g := "global\n    maxconn 9500\n"
	if haproxy {
		g += "    nbthread 1\n"
	}
	return g + fmt.Sprintf("\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\nlisten bulk\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n\nlisten small\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n", fp, bulk, fp2, small)
}

func startProxy(t *testing.T, name string, args []string, env []string, fp, fp2 int) *proxyProc {
	cmd := exec.Command("taskset", append([]string{"-c", "0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp)); err == nil {
			c.Close()
			return &proxyProc{name: name, cmd: cmd, port: fp, small: fp2}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not listen", name)
	return nil
}

// bulkBackend sends size bytes to every connection.
func bulkBackend(t *testing.T, size int64) int {
	ln := listenLocal(t)
	buf := make([]byte, 1<<20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for sent := int64(0); sent < size; sent += int64(len(buf)) {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return port(ln.Addr())
}

// smallBackend answers "ok\n" and closes; held connections stay idle.
func smallBackend(t *testing.T) int {
	return serveEach(t, func(c net.Conn) {
		go func() {
			c.Write([]byte("ok\n"))
			b := make([]byte, 1)
			c.Read(b) // wait for the client to go
			c.Close()
		}()
	})
}

func gbps(fp int, size int64) float64 {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
	if err != nil {
		return 0
	}
	defer c.Close()
	start := time.Now()
	buf := make([]byte, 1<<20)
	var n int64
	for n < size {
		m, err := c.Read(buf)
		n += int64(m)
		if err != nil {
			break
		}
	}
	return float64(n*8) / time.Since(start).Seconds() / 1e9
}

func connRate(fp int, d time.Duration) float64 {
	var count atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 3)
			for time.Now().Before(stop) {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
				if err != nil {
					continue
				}
				if _, err := io.ReadFull(c, b); err == nil {
					count.Add(1)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}

func procRSSKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

func kernelKiB() int {
	b, _ := os.ReadFile("/proc/meminfo")
	total := 0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "Slab:" || f[0] == "KernelStack:" || f[0] == "PageTables:") {
			n, _ := strconv.Atoi(f[1])
			total += n
		}
	}
	return total
}

// idleCost holds n idle proxied connections and returns the proxy's RSS
// and the kernel memory they cost, in KiB per 10,000 connections.
func idleCost(t *testing.T, p *proxyProc, n int) (float64, float64) {
	rss0, k0 := procRSSKiB(p.cmd.Process.Pid), kernelKiB()
	var conns []net.Conn
	b := make([]byte, 3)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.small))
		if err != nil {
			break
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil {
			c.Close()
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	rss, k := procRSSKiB(p.cmd.Process.Pid)-rss0, kernelKiB()-k0
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(500 * time.Millisecond)
	scale := 10000 / float64(max(len(conns), 1))
	t.Logf("%s: %d idle connections held", p.name, len(conns))
	return float64(rss) * scale, float64(k) * scale
}

func ratios(g, h []float64) string {
	var r []float64
	for i := range g {
		if h[i] > 0 {
			r = append(r, g[i]/h[i])
		}
	}
	sort.Float64s(r)
	if len(r) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("min %.2f median %.2f max %.2f", r[0], r[len(r)/2], r[len(r)-1])
}

func TestBenchVsHAProxy(t *testing.T) {
	if os.Getenv("GOHAKA_BENCH") == "" {
		t.Skip("set GOHAKA_BENCH=1 (make bench) to run the side-by-side benchmark")
	}
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	const size = 1 << 30
	bulk, small := bulkBackend(t, size), smallBackend(t)
	bin := filepath.Join(t.TempDir(), "gohaka")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gohaka").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var ps []int
	var hold []net.Listener
	for i := 0; i < 4; i++ {
		ln := listenLocal(t)
		hold = append(hold, ln)
		ps = append(ps, port(ln.Addr()))
	}
	for _, ln := range hold {
		ln.Close()
	}
	gcfg := filepath.Join(t.TempDir(), "g.cfg")
	hcfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(gcfg, []byte(benchConfig(ps[0], ps[1], bulk, small, false)), 0o644)
	os.WriteFile(hcfg, []byte(benchConfig(ps[2], ps[3], bulk, small, true)), 0o644)
	g := startProxy(t, "gohaka", []string{bin, "run", "-f", gcfg}, []string{"GOMAXPROCS=1"}, ps[0], ps[1])
	h := startProxy(t, "haproxy", []string{hap, "-db", "-f", hcfg}, nil, ps[2], ps[3])
	rounds := 3
	if v, _ := strconv.Atoi(os.Getenv("GOHAKA_BENCH_ROUNDS")); v > 0 {
		rounds = v
	}
	// GOHAKA_BENCH_PART=conn measures the connection rate alone
	connOnly := os.Getenv("GOHAKA_BENCH_PART") == "conn"
	var gb, hb, gc, hc, gr, hr, gk, hk []float64
	for i := 0; i < rounds; i++ {
		if connOnly {
			gb, hb = append(gb, 0), append(hb, 0)
		} else {
			gb = append(gb, gbps(g.port, size))
			hb = append(hb, gbps(h.port, size))
		}
		// every run leaves its closed connections in TIME_WAIT, which
		// slows the next run's connects: take turns going first
		if i%2 == 0 {
			gc = append(gc, connRate(g.small, 3*time.Second))
			hc = append(hc, connRate(h.small, 3*time.Second))
		} else {
			hc = append(hc, connRate(h.small, 3*time.Second))
			gc = append(gc, connRate(g.small, 3*time.Second))
		}
		t.Logf("round %d: bulk gohaka %.2f Gbit/s haproxy %.2f; new conns/s gohaka %.0f haproxy %.0f", i+1, gb[i], hb[i], gc[i], hc[i])
	}
	// one idle round each: a second round would reuse memory the first
	// one left in the allocator and measure nothing
	for i := 0; i < 1 && !connOnly; i++ {
		r, k := idleCost(t, g, 9000)
		gr, gk = append(gr, r), append(gk, k)
		r, k = idleCost(t, h, 9000)
		hr, hk = append(hr, r), append(hk, k)
		t.Logf("idle round %d, KiB per 10k conns: gohaka RSS %.0f kernel %.0f; haproxy RSS %.0f kernel %.0f", i+1, gr[i], gk[i], hr[i], hk[i])
	}
	t.Logf("RATIO gohaka/haproxy bulk throughput: %s", ratios(gb, hb))
	t.Logf("RATIO gohaka/haproxy new connections/s: %s", ratios(gc, hc))
	t.Logf("RATIO gohaka/haproxy RSS per idle connection: %s", ratios(gr, hr))
	t.Logf("RATIO gohaka/haproxy RSS+kernel per idle connection: %s", ratios(sum(gr, gk), sum(hr, hk)))
}

func sum(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}
