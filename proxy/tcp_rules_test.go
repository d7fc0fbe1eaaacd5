package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tcpPhasesConfig is haproxy's reg-test of the address fetches
// (connection/cli_src_dst) with the frontends that show the phases of the
// tcp-request rules: P0..P12 are ports, SOCK the stats socket.
const tcpPhasesConfig = `global
    nbthread 1
    stats socket SOCK level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe1
    bind 127.0.0.1:P0
    tcp-request connection set-src ipv4(10.0.0.1)
    tcp-request connection set-dst ipv4(10.0.0.2)
    tcp-request session set-var(sess.sess_fc_src) fc_src
    tcp-request session set-var(sess.sess_src) src
    tcp-request inspect-delay 100ms
    tcp-request content set-var(txn.strm_fc_src) fc_src
    tcp-request content set-var(txn.strm_src) src
    http-after-response set-header sess-fc-src %[var(sess.sess_fc_src)]
    http-after-response set-header sess-src %[var(sess.sess_src)]
    http-after-response set-header strm-fc-src %[var(txn.strm_fc_src)]
    http-after-response set-header strm-src %[var(txn.strm_src)]
    http-after-response set-header dst "%[dst] %[fc_dst]"
    default_backend be
frontend fe3
    bind 127.0.0.1:P1
    tcp-request connection set-src ipv4(10.0.0.1)
    tcp-request session set-src ipv4(10.1.0.1)
    tcp-request session set-dst-port int(8080)
    tcp-request session set-var(sess.sess_fc_src) fc_src
    tcp-request session set-var(sess.sess_src) src
    tcp-request content set-src ipv4(10.2.0.1) if { path /c }
    tcp-request content set-var(txn.strm_src) src
    http-after-response set-header sess-fc-src %[var(sess.sess_fc_src)]
    http-after-response set-header sess-src %[var(sess.sess_src)]
    http-after-response set-header strm-src %[var(txn.strm_src)]
    http-after-response set-header src "%[src] %[dst_port] %[fc_dst_port]"
    default_backend be
frontend fe4
    bind 127.0.0.1:P2
    http-request set-src hdr(x-forwarded-for) if { path /a }
    http-request set-var(sess.first) path if { path /a }
    http-request set-var(txn.t) path if { path /a }
    http-request unset-var(sess.first) if { path /u }
    http-after-response set-header src "%[src] %[fc_src] first=%[var(sess.first)] t=%[var(txn.t)]"
    default_backend be
backend be
    http-request return status 200
listen li1
    bind 127.0.0.1:P3
    tcp-request connection set-src ipv4(10.0.0.1)
    http-request set-src ipv4(192.168.0.1)
    http-after-response set-header li1-fc-src %[fc_src]
    http-after-response set-header li1-src %[src]
    server srv 127.0.0.1:P4 send-proxy
listen li3
    bind 127.0.0.1:P4 accept-proxy
    tcp-request connection set-src ipv4(10.1.0.1)
    http-after-response set-header li3-fc-src %[fc_src]
    http-after-response set-header li3-src %[src]
    http-request return status 200
listen li4
    bind 127.0.0.1:P5
    http-request set-src ipv4(192.0.2.44) if { path /drop }
    http-request set-src ipv4(192.0.2.45) if { path /keep }
    http-request set-src ipv4(192.0.2.46) if { path /keep2 }
    server srv 127.0.0.1:P6 send-proxy
listen pp
    bind 127.0.0.1:P6 accept-proxy
    tcp-request connection reject if { src 192.0.2.0/24 }
    tcp-request session reject if { src 192.0.2.44 }
    http-after-response set-header pp-src "%[src] %[fc_src]"
    http-request return status 200
frontend acc
    bind 127.0.0.1:P7
    tcp-request connection accept
    tcp-request content reject
    default_backend be
frontend conn
    bind 127.0.0.1:P8
    tcp-request connection reject if { fc_src 127.0.0.1 }
    default_backend be
`

// TestTCPRequestPhasesAsHAProxy runs the tcp-request rules of an http
// frontend in haproxy 2.6's phases and compares what clients see and the
// denial counters: connection rules set fc_src/fc_dst and see the
// connection's own address where a PROXY header names another; session
// rules set src/dst for the session; content and http-request rules for
// one request only; sess variables outlive their request, txn ones do
// not; an accepting connection rule still lets content rules run.
func TestTCPRequestPhasesAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	cfgFor := func(sock string) (string, []int) {
		ports := make([]int, 9)
		cfg := strings.Replace(tcpPhasesConfig, "SOCK", sock, 1)
		for i := len(ports) - 1; i >= 0; i-- { // P1x before P1
			ports[i] = freePort(t)
			cfg = strings.ReplaceAll(cfg, "P"+strconv.Itoa(i)+"\n", strconv.Itoa(ports[i])+"\n")
			cfg = strings.ReplaceAll(cfg, "P"+strconv.Itoa(i)+" ", strconv.Itoa(ports[i])+" ")
		}
		return cfg, ports
	}
	haSock, goSock := filepath.Join(dir, "ha.sock"), filepath.Join(dir, "go.sock")
	hcfg, hp := cfgFor(haSock)
	gcfg, gp := cfgFor(goSock)
	startHAProxyCfg(t, hcfg)
	startRuntime(t, gcfg)
	waitFor(t, func() bool { _, err := os.Stat(haSock); return err == nil }, "haproxy's stats socket")
	exchange := func(port int, paths ...string) string {
		return askInTurn(t, port, "X-Forwarded-For: 192.0.2.7\r\n", paths...)
	}
	cases := []struct {
		port  int
		paths []string
	}{
		{0, []string{"/", "/"}},
		{1, []string{"/", "/c", "/"}},
		{2, []string{"/a", "/b", "/u", "/b"}},
		{3, []string{"/"}},
		{5, []string{"/drop"}},
		{5, []string{"/keep", "/drop"}},
		{5, []string{"/keep", "/keep2", "/keep"}},
		{7, []string{"/"}},
		{8, []string{"/"}},
	}
	for _, c := range cases {
		h, g := exchange(hp[c.port], c.paths...), exchange(gp[c.port], c.paths...)
		if h != g {
			t.Errorf("P%d %v:\nhaproxy: %s\ngohaka:  %s", c.port, c.paths, h, g)
		}
	}
	// a connection rule's reject resets the connection, seen by a client
	// that waits before sending
	for who, port := range map[string]int{"haproxy": hp[8], "gohaka": gp[8]} {
		if got := endWithoutSending(t, port); got != "reset" {
			t.Errorf("%s: a client rejected by a connection rule sees %s, not a reset", who, got)
		}
	}
	// the denials are counted where haproxy counts them: dcon for
	// connection rules, dses for session rules, dreq for content rules;
	// sessions too, but pp's depend on how li4 keeps idle connections
	denials := []string{"dreq", "dcon", "dses", "ereq"}
	for _, name := range []string{"acc/FRONTEND", "conn/FRONTEND", "fe4/FRONTEND"} {
		waitFor(t, func() bool {
			_, hrows, _ := parseStat(t, cliQuery(t, "unix:"+haSock, "show stat"))
			_, grows, _ := parseStat(t, cliQuery(t, "unix:"+goSock, "show stat"))
			return hrows[name][colIndex("scur")] == "0" && grows[name][colIndex("scur")] == "0"
		}, name+" idle in both")
	}
	_, hrows, _ := parseStat(t, cliQuery(t, "unix:"+haSock, "show stat"))
	_, grows, _ := parseStat(t, cliQuery(t, "unix:"+goSock, "show stat"))
	for _, name := range []string{"pp/FRONTEND", "acc/FRONTEND", "conn/FRONTEND", "fe4/FRONTEND"} {
		cols := denials
		if name != "pp/FRONTEND" {
			cols = append(cols, "stot", "hrsp_2xx")
		}
		for _, col := range cols {
			if h, g := hrows[name][colIndex(col)], grows[name][colIndex(col)]; h != g {
				t.Errorf("%s %s: haproxy %s, gohaka %s", name, col, h, g)
			}
		}
	}
	if grows["pp/FRONTEND"][colIndex("dses")] != "2" || grows["conn/FRONTEND"][colIndex("dcon")] != "2" || grows["acc/FRONTEND"][colIndex("dreq")] != "1" {
		t.Errorf("gohaka's denials: pp dses %s, conn dcon %s, acc dreq %s (want 2, 2, 1)", grows["pp/FRONTEND"][colIndex("dses")],
			grows["conn/FRONTEND"][colIndex("dcon")], grows["acc/FRONTEND"][colIndex("dreq")])
	}
}

// endWithoutSending connects, waits and reads: "reset", "EOF" or another
// error, as the proxy ended a connection that sent nothing.
func endWithoutSending(t *testing.T, port int) string {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		if strings.Contains(err.Error(), "reset") {
			return "reset"
		}
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = c.Read(make([]byte, 1))
	switch {
	case err == io.EOF:
		return "EOF"
	case err != nil && strings.Contains(err.Error(), "reset"):
		return "reset"
	}
	return fmt.Sprint(err)
}

// askInTurn sends GET requests for paths, each with the header lines
// hdrs, one after the other on one connection, and returns for each its
// status and the headers a rule may set (not the port of the proxy, FE),
// or how the connection ended without an answer.
func askInTurn(t *testing.T, port int, hdrs string, paths ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil { // a connection rule's reject can come this early
		if strings.Contains(err.Error(), "reset") {
			return paths[0] + ": no answer"
		}
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for _, p := range paths {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", p, hdrs)
		resp, err := http.ReadResponse(br, nil)
		if err != nil { // closed or reset: which one a write after a reset sees varies
			out = append(out, p+": no answer")
			break
		}
		io.Copy(io.Discard, resp.Body)
		var hs []string
		for k, v := range resp.Header {
			if k != "Content-Length" && k != "Content-Type" && k != "Cache-Control" {
				hs = append(hs, strings.ToLower(k)+"="+strings.Join(v, ","))
			}
		}
		out = append(out, fmt.Sprintf("%s: %d %s", p, resp.StatusCode, strings.Join(sortedCopy(hs), " ")))
	}
	return strings.ReplaceAll(strings.Join(out, "\n"), strconv.Itoa(port), "FE")
}

// sortedCopy returns a sorted copy of ss.
func sortedCopy(ss []string) []string {
	out := append([]string(nil), ss...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
