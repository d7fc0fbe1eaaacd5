package proxy

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cliQuery sends one line to a runtime API socket ("unix:/path" or a TCP
// address) and reads the answer to the end, as `echo cmd | socat stdio
// unix:/path` does.
func cliQuery(t *testing.T, addr, line string) string {
	t.Helper()
	network, a := "tcp", addr
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, a = "unix", p
	}
	c, err := net.DialTimeout(network, a, 2*time.Second)
	if err != nil {
		t.Fatalf("stats socket %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("stats socket %s: %v", addr, err)
	}
	return string(b)
}

// replyServers start servers that read a 6-byte request and answer with
// their name padded to 12 bytes, then close.
func replyServers(t *testing.T, n int) []int {
	var ports []int
	for i := 0; i < n; i++ {
		ln := listenLocal(t)
		ports = append(ports, port(ln.Addr()))
		reply := fmt.Sprintf("%-11s\n", fmt.Sprintf("reply-s%d", i+1))
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					buf := make([]byte, 6)
					if _, err := io.ReadFull(c, buf); err != nil {
						return // a health check
					}
					io.WriteString(c, reply)
				}()
			}
		}()
	}
	return ports
}

// statsConfig is the differential config: 2 frontends, 2 backends, 4
// servers, mode tcp, a stats socket. The weights make each backend's
// round-robin cycle (5 and 4 picks) divide 500: haproxy's fwrr and
// gohaka's smooth weighted round robin spread each cycle the same but
// order it differently (with weights 1 and 2, 500 picks give 166/334 in
// haproxy and 167/333 in gohaka).
func statsConfig(sock string, fe1, fe2 int, sp []int) string {
	return fmt.Sprintf(`global
    nbthread 1
    maxconn 500
    stats socket %s mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe1
    bind 127.0.0.1:%d
    default_backend be1
frontend fe2
    bind 127.0.0.1:%d
    maxconn 100
    default_backend be2
backend be1
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d weight 4
backend be2
    balance roundrobin
    server s3 127.0.0.1:%d check inter 200ms
    server s4 127.0.0.1:%d check inter 200ms weight 3
`, sock, fe1, fe2, sp[0], sp[1], sp[2], sp[3])
}

func startHAProxyCfg(t *testing.T, cfg string) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	p := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(p, []byte(cfg), 0o644)
	cmd := exec.Command(bin, "-db", "-f", p)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// hit sends n requests to a frontend, 4 at a time, and checks each reply.
func hit(t *testing.T, fp, n int) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fp), 2*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "hello\n")
			b, err := io.ReadAll(c)
			if err != nil || len(b) != 12 {
				errs <- fmt.Errorf("port %d: reply %q: %v", fp, b, err) // which proxy, when one flakes
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// parseStat reads `show stat` into header and rows keyed "px/sv".
func parseStat(t *testing.T, text string) (string, map[string][]string, []string) {
	t.Helper()
	header, _, _ := strings.Cut(text, "\n")
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, text)
	}
	rows := map[string][]string{}
	var order []string
	for _, rec := range recs[1:] {
		if len(rec) < 2 {
			continue
		}
		k := rec[0] + "/" + rec[1]
		rows[k] = rec
		order = append(order, k)
	}
	return header, rows, order
}

// timeCols are columns that measure time or rates: they differ between
// two runs of the same traffic and are not compared.
var timeCols = map[string]bool{"lastchg": true, "downtime": true, "rate": true, "rate_max": true, "conn_rate": true,
	"conn_rate_max": true, "check_duration": true, "lastsess": true, "qtime": true, "ctime": true, "rtime": true,
	"ttime": true, "qtime_max": true, "ctime_max": true, "rtime_max": true, "ttime_max": true,
	// the highest concurrency depends on how the 4 parallel clients
	// interleave
	"smax": true,
	// haproxy's estimate of the server connections needed, recomputed
	// from the recent peak every few seconds
	"need_conn_est": true,
}

// TestStatsCSVMatchesHAProxy runs the same config through haproxy 2.6
// and gohaka, sends the same 1,000 connections (500 per frontend, each a
// 6-byte request and a 12-byte reply) and compares `show stat` read from
// each one's stats socket: the header line is identical; every row has
// the same empty fields; every counter both track agrees (stot, bin,
// bout, lbtot, status, weight, act, bck, check columns, ...), only the
// time and rate columns are left out.
func TestStatsCSVMatchesHAProxy(t *testing.T) {
	sp := replyServers(t, 4)
	dir := t.TempDir()
	haSock, goSock := filepath.Join(dir, "ha.sock"), filepath.Join(dir, "go.sock")
	hf1, hf2, gf1, gf2 := freePort(t), freePort(t), freePort(t), freePort(t)
	startHAProxyCfg(t, statsConfig(haSock, hf1, hf2, sp))
	startRuntime(t, statsConfig(goSock, gf1, gf2, sp))
	waitFor(t, func() bool {
		_, err := os.Stat(haSock)
		return err == nil
	}, "haproxy's stats socket")
	// let the checks settle in both (rise reached, L4OK)
	settled := func(addr string) bool {
		_, rows, _ := parseStat(t, cliQuery(t, addr, "show stat"))
		ci := colIndex("check_status")
		return rows["be2/s3"] != nil && rows["be2/s3"][ci] == "L4OK" && rows["be2/s4"][ci] == "L4OK" &&
			rows["be2/s3"][colIndex("status")] == "UP" && rows["be2/s4"][colIndex("status")] == "UP"
	}
	waitFor(t, func() bool { return settled("unix:"+haSock) && settled("unix:"+goSock) }, "checks to pass in both")
	for _, fp := range [][2]int{{hf1, gf1}, {hf2, gf2}} {
		hit(t, fp[0], 500)
		hit(t, fp[1], 500)
	}
	// counters of a session are booked when it ends, which may be just
	// after its client saw the reply: compare once no session is open
	idle := func(addr string) bool {
		_, rows, _ := parseStat(t, cliQuery(t, addr, "show stat"))
		for _, k := range []string{"fe1/FRONTEND", "fe2/FRONTEND"} {
			if rows[k] == nil || rows[k][colIndex("scur")] != "0" {
				return false
			}
		}
		return true
	}
	waitFor(t, func() bool { return idle("unix:"+haSock) && idle("unix:"+goSock) }, "sessions to end in both")
	haText, goText := cliQuery(t, "unix:"+haSock, "show stat"), cliQuery(t, "unix:"+goSock, "show stat")
	hh, hrows, horder := parseStat(t, haText)
	gh, grows, gorder := parseStat(t, goText)
	if hh != gh {
		t.Fatalf("header differs:\nhaproxy: %s\ngohaka:  %s", hh, gh)
	}
	if strings.Join(horder, " ") != strings.Join(gorder, " ") {
		t.Fatalf("rows differ: haproxy %v, gohaka %v", horder, gorder)
	}
	cols := strings.Split(strings.TrimPrefix(hh, "# "), ",")
	compared := 0
	for _, k := range horder {
		h, g := hrows[k], grows[k]
		if len(h) != len(g) {
			t.Errorf("%s: %d fields in haproxy, %d in gohaka", k, len(h), len(g))
			continue
		}
		for i := range h {
			name := cols[i]
			if (h[i] == "") != (g[i] == "") {
				t.Errorf("%s %s: haproxy %q, gohaka %q (empty in one only)", k, name, h[i], g[i])
				continue
			}
			if timeCols[name] {
				continue
			}
			hv, gv := h[i], g[i]
			if name == "check_status" {
				// "* " marks a check running at that instant: timing, not state
				hv, gv = strings.TrimPrefix(hv, "* "), strings.TrimPrefix(gv, "* ")
			}
			if hv != gv {
				t.Errorf("%s %s: haproxy %q, gohaka %q", k, name, h[i], g[i])
			}
			compared++
		}
	}
	// the traffic really went through: 500 sessions per frontend, 6 and
	// 12 bytes each
	st := colIndex("stot")
	if grows["fe1/FRONTEND"][st] != "500" || grows["be2/BACKEND"][colIndex("bout")] != "6000" || grows["fe1/FRONTEND"][colIndex("smax")] < "1" {
		t.Errorf("gohaka counted fe1 stot %s, be2 bout %s", grows["fe1/FRONTEND"][st], grows["be2/BACKEND"][colIndex("bout")])
	}
	// typed and json: the same fields with the same tags and types
	shape := func(addr string) (typed, js string) {
		var lines []string
		for _, l := range strings.Split(cliQuery(t, addr, "show stat typed"), "\n") {
			if i := strings.LastIndexByte(l, ':'); i > 0 {
				lines = append(lines, l[:i])
			}
		}
		var doc [][]map[string]any
		raw := cliQuery(t, addr, "show stat json")
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatalf("show stat json from %s: %v\n%.300s", addr, err, raw)
		}
		var objs []string
		for _, row := range doc {
			for _, f := range row {
				v := f["value"].(map[string]any)
				objs = append(objs, fmt.Sprint(f["objType"], f["proxyId"], f["id"], f["field"], f["processNum"], f["tags"], v["type"]))
			}
		}
		return strings.Join(lines, "\n"), strings.Join(objs, "\n")
	}
	ht, hj := shape("unix:" + haSock)
	gt, gj := shape("unix:" + goSock)
	if ht != gt {
		t.Errorf("show stat typed: fields or tags differ\nhaproxy:\n%s\ngohaka:\n%s", ht, gt)
	}
	if hj != gj {
		t.Errorf("show stat json: fields or tags differ")
	}
	t.Logf("%d fields compared equal over %d rows; fe1 stot %s, be1 s1/s2 lbtot %s/%s", compared, len(horder),
		grows["fe1/FRONTEND"][st], grows["be1/s1"][colIndex("lbtot")], grows["be1/s2"][colIndex("lbtot")])
}

// compareHTTPStats compares two `show stat` outputs as the http tests
// do: the same rows in the same order, the same fields empty, and equal
// values in httpCompareCols unless skip says a field differs by design;
// it returns how many fields it compared.
func compareHTTPStats(t *testing.T, ha, gh string, skip func(row, col string) bool) int {
	t.Helper()
	hh, hrows, horder := parseStat(t, ha)
	gh0, grows, gorder := parseStat(t, gh)
	if hh != gh0 || strings.Join(horder, " ") != strings.Join(gorder, " ") {
		t.Fatalf("stats header or rows differ: haproxy %v, gohaka %v", horder, gorder)
	}
	cols := strings.Split(strings.TrimPrefix(hh, "# "), ",")
	cmp := map[string]bool{}
	for _, c := range httpCompareCols {
		cmp[c] = true
	}
	compared := 0
	for _, k := range horder {
		h, g := hrows[k], grows[k]
		for i := 0; i < min(len(h), len(g)); i++ {
			switch {
			case (h[i] == "") != (g[i] == ""):
				t.Errorf("%s %s: haproxy %q, gohaka %q (empty in one only)", k, cols[i], h[i], g[i])
			case !cmp[cols[i]] || skip != nil && skip(k, cols[i]):
			case h[i] != g[i]:
				t.Errorf("%s %s: haproxy %q, gohaka %q", k, cols[i], h[i], g[i])
			default:
				compared++
			}
		}
	}
	return compared
}

// TestServerTemplateAsHAProxy: server-template makes the servers haproxy
// makes (PREFIX1..PREFIXn, or a range), which show stat lists in the same
// order with the same weights and states, and traffic reaches them.
func TestServerTemplateAsHAProxy(t *testing.T) {
	sp := replyServers(t, 1)
	dir := t.TempDir()
	cfg := func(sock string, fe int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    balance roundrobin
    server-template web 3 127.0.0.1:%d weight 2
    server-template api 5-6 127.0.0.1:%d
`, sock, fe, sp[0], sp[0])
	}
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	hf, gf := freePort(t), freePort(t)
	startHAProxyCfg(t, cfg(hs, hf))
	startRuntime(t, cfg(gs, gf))
	waitFor(t, func() bool { _, err := os.Stat(hs); return err == nil && portOpen(hf) }, "haproxy")
	portOpen(gf) // a probe connection to each: the same traffic
	hit(t, hf, 10)
	hit(t, gf, 10)
	idle := func(addr string) bool {
		_, rows, _ := parseStat(t, cliQuery(t, addr, "show stat"))
		return rows["fe/FRONTEND"] != nil && rows["fe/FRONTEND"][colIndex("scur")] == "0"
	}
	waitFor(t, func() bool { return idle("unix:"+hs) && idle("unix:"+gs) }, "sessions to end in both")
	_, hrows, horder := parseStat(t, cliQuery(t, "unix:"+hs, "show stat"))
	_, grows, gorder := parseStat(t, cliQuery(t, "unix:"+gs, "show stat"))
	if strings.Join(horder, " ") != strings.Join(gorder, " ") {
		t.Fatalf("rows: haproxy %v, gohaka %v", horder, gorder)
	}
	for _, k := range []string{"be/web1", "be/web2", "be/web3", "be/api5", "be/api6"} {
		for _, col := range []string{"status", "weight", "stot", "lbtot"} {
			if h, g := hrows[k][colIndex(col)], grows[k][colIndex(col)]; h != g {
				t.Errorf("%s %s: haproxy %s, gohaka %s", k, col, h, g)
			}
		}
	}
}
