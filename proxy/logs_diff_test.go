package proxy

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// logSink is a test-owned syslog receiver (UDP or unix datagram).
type logSink struct {
	pc    net.PacketConn
	lines chan string
}

func newLogSink(t *testing.T, network, addr string) *logSink {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &logSink{pc: pc, lines: make(chan string, 1000)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.lines <- string(buf[:n])
		}
	}()
	return s
}

// collect reads datagrams until none came for quiet.
func (s *logSink) collect(quiet time.Duration) []string {
	var out []string
	for {
		select {
		case l := <-s.lines:
			out = append(out, l)
		case <-time.After(quiet):
			return out
		}
	}
}

// logConfig sends every log line to a UDP sink in four formats (one of
// them cut at 100 bytes) and to a unix datagram socket (the /dev/log
// form); fe1 uses option tcplog, fe2 a log-format with most tcp
// variables, fe3 no format (haproxy's "Connect from" line), fe4
// dontlognull; fe5 a server that refuses connections (SC, retries).
func logConfig(udp, unix string, fe [5]int, sp, dead int) string {
	return fmt.Sprintf(`global
    nbthread 1
    log %s local0
    log %s format rfc5424 local1 info
    log %s format raw local2
    log %s format short local3 info
    log %s len 100 local4
    log %s local5 notice
    log %s local6
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe1
    bind 127.0.0.1:%d
    default_backend be1
frontend fe2
    bind 127.0.0.1:%d
    log-format "%%ci cp=%%cp %%fi fp=%%fp %%bi bp=%%bp %%si:%%sp [%%t] %%ft %%f %%b %%s %%B %%U %%ts %%ac/%%fc/%%bc/%%sc/%%rc %%sq/%%bq %%{+Q}b %%{+Q}ci %%H pid=%%pid ms=%%ms Tt=%%Tt Th=%%Th %%ID lc=%%lc rt=%%rt %%%%"
    default_backend be1
frontend fe4
    bind 127.0.0.1:%d
    option dontlognull
    default_backend be1
listen fe5
    bind 127.0.0.1:%d
    retries 1
    server refuses 127.0.0.1:%d
defaults d2
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe3
    bind 127.0.0.1:%d
    default_backend be1
backend be1
    server s1 127.0.0.1:%d
`, udp, udp, udp, udp, udp, udp, unix, fe[0], fe[1], fe[3], fe[4], dead, fe[2], sp)
}

var logNorm = []struct {
	re  *regexp.Regexp
	new string
}{
	{regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d `), "TIME "},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d`), "TIME"},
	{regexp.MustCompile(`haproxy\[\d+\]`), "haproxy[PID]"},
	{regexp.MustCompile(`haproxy \d+ - -`), "haproxy PID - -"},
	{regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:[\d:.]+\]`), "[DATE]"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+ \[`), "127.0.0.1:PORT ["},
	{regexp.MustCompile(`(from|to) 127\.0\.0\.1:\d+`), "$1 127.0.0.1:PORT"},
	{regexp.MustCompile(`refuses \d+/-1/\d+ `), "refuses Tw/-1/Tt "}, // no connection: Tc is -1 in both
	{regexp.MustCompile(`refuses [-\d/]*\n$`), "refuses T\n"},        // the same, cut by len 100
	{regexp.MustCompile(` \d+/\d+/\d+ `), " Tw/Tc/Tt "},
	{regexp.MustCompile(`(cp|fp|bp|pid|ms|Tt)=\d+`), "$1=N"},
}

// normLog blanks what differs between two runs: times, client ports,
// the pid, the timers.
func normLog(l string) string {
	for _, n := range logNorm {
		l = n.re.ReplaceAllString(l, n.new)
	}
	// the `len 100` target (local4, <166>) cuts the line where the pid's
	// width says: haproxy's and this process's pids may differ in digits
	if strings.HasPrefix(l, "<166>") && len(l) > 60 {
		l = l[:60] + "\n"
	}
	return l
}

// TestLogLinesMatchHAProxy sends the same connections through haproxy
// 2.6 and gohaka with the same log settings and compares every datagram
// both send, once times, ports, timers and the pid are blanked: the
// tcplog line, a log-format with the tcp variables, the "Connect from"
// line, dontlognull, the rfc3164, rfc5424, raw and short headers,
// facilities and levels, `len`, and a unix datagram target.
func TestLogLinesMatchHAProxy(t *testing.T) {
	sp := replyServers(t, 1)
	dead := deadPort(t)
	run := func(start func(cfg string)) []string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		unixPath := filepath.Join(t.TempDir(), "log.sock")
		ux := newLogSink(t, "unixgram", unixPath)
		fe := [5]int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
		start(logConfig(udp.pc.LocalAddr().String(), unixPath, fe, sp[0], dead))
		for _, p := range fe[:1] { // haproxy binds every listener before it accepts on any
			waitFor(t, func() bool {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
				if err == nil {
					c.Close()
				}
				return err == nil
			}, "listener")
		}
		udp.collect(300 * time.Millisecond) // the probes above
		ux.collect(50 * time.Millisecond)
		for _, p := range fe[:4] {
			hit(t, p, 1)
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second) // %ac must not count the previous clients any more (a loaded machine is slow to release them)
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe[4])); err == nil {
			c.Write([]byte("hello\n"))
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.ReadAll(c) // closed once the connection to the server failed
			c.Close()
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe[3])) // a null connection: not logged
		if err == nil {
			c.Close()
		}
		var out []string
		for _, l := range udp.collect(500 * time.Millisecond) {
			out = append(out, "udp "+normLog(l))
		}
		for _, l := range ux.collect(100 * time.Millisecond) {
			out = append(out, "unix "+normLog(l))
		}
		sort.Strings(out)
		return out
	}
	ha := run(func(cfg string) { startHAProxyCfg(t, cfg) })
	gh := run(func(cfg string) { startRuntime(t, cfg) })
	if strings.Join(ha, "") != strings.Join(gh, "") {
		t.Errorf("log lines differ:\nhaproxy:\n%s\ngohaka:\n%s", strings.Join(ha, ""), strings.Join(gh, ""))
	}
	if len(ha) < 20 {
		t.Errorf("only %d log lines from haproxy", len(ha))
	}
	t.Logf("%d datagrams equal:\n%s", len(gh), strings.Join(gh, ""))
}

// TestConnectTimeoutLogsAsHAProxy: a server that never answers the SYN
// ends the session at `timeout connect`; haproxy logs it "sC" (the
// server side's timeout, connect phase), not "SC" (refused), and gohaka's
// tcplog line says the same; in http mode the httplog line says "sC--"
// after the 503.
func TestConnectTimeoutLogsAsHAProxy(t *testing.T) {
	connectTimeoutLogs(t, "tcp", "option tcplog", "", " sC ")
	connectTimeoutLogs(t, "http", "option httplog", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", " sC-- ")
}

func connectTimeoutLogs(t *testing.T, mode, logOpt, req, want string) {
	run := func(start func(cfg string)) string {
		silent := silentServer(t)
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		fp := freePort(t)
		start(fmt.Sprintf("global\n    log %s local0\ndefaults\n    mode %s\n    log global\n    %s\n    timeout connect 200ms\n    timeout client 5s\n    timeout server 5s\n"+
			"listen fe\n    bind 127.0.0.1:%d\n    retries 0\n    server silent 127.0.0.1:%d\n", udp.pc.LocalAddr(), mode, logOpt, fp, silent))
		waitFor(t, func() bool {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "listener")
		udp.collect(500 * time.Millisecond) // the probe above
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fp))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(req))
		io.ReadAll(c) // closed once the connect timed out
		c.Close()
		var out []string
		for _, l := range udp.collect(500 * time.Millisecond) {
			l = regexp.MustCompile(` \d+/-1/\d+ `).ReplaceAllString(normLog(l), " Tw/-1/Tt ") // tcplog: Tw/Tc/Tt
			l = regexp.MustCompile(`(/-1/-1/)\d+ `).ReplaceAllString(l, "${1}Ta ")            // httplog: TR/Tw/Tc/Tr/Ta
			out = append(out, l)
		}
		return strings.Join(out, "")
	}
	ha := run(func(cfg string) { startHAProxyCfg(t, cfg) })
	gh := run(func(cfg string) { startRuntime(t, cfg) })
	if !strings.Contains(ha, want) {
		t.Fatalf("haproxy's %s line has no %q: %q", mode, want, ha)
	}
	if ha != gh {
		t.Errorf("log lines differ:\nhaproxy: %q\ngohaka:  %q", ha, gh)
	}
}
