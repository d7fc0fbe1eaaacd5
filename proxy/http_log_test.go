package proxy

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// httpLogConfig logs raw lines to a UDP sink: fe1 with option httplog,
// fe2 with option httplog clf, fe3 with a log-format using the http
// variables.
func httpLogConfig(udp string, fe [3]int, sp []int) string {
	return fmt.Sprintf(`global
    nbthread 1
    log %s format raw local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe1
    bind 127.0.0.1:%d
    option httplog
    capture request header Host len 10
    capture request header User-Agent len 5
    capture request header X-None len 8
    capture response header Content-Type len 20
    http-request deny if { path_beg /deny }
    http-request redirect location /elsewhere if { path_beg /redir }
    http-request return status 200 content-type text/plain string ok if { path_beg /ret }
    use_backend be2 if { path_beg /b2 }
    use_backend be3 if { path_beg /nosrv }
    default_backend be1
frontend fe2
    bind 127.0.0.1:%d
    option httplog clf
    capture request header User-Agent len 32
    capture response header Content-Length len 4
    http-request deny deny_status 429 if { path_beg /slowdown }
    default_backend be2
frontend fe3
    bind 127.0.0.1:%d
    log-format "%%{+Q}r %%ST %%B %%U %%b %%s %%ft %%HM %%HU %%HP %%HQ %%HV %%CC %%CS %%tsc %%ts rt=%%rt %%Tq/%%TR/%%Tw/%%Tc/%%Tr/%%Ta/%%Th/%%Ti %%{+Q}HM [%%trg] [%%tr]  %%hr  %%hs end"
    http-request deny if { path_beg /deny }
    use_backend be3 if { path_beg /nosrv }
    default_backend be1
`, udp, fe[0], fe[1], fe[2]) + httpTestBackends(sp)
}

// timerRe finds the timer fields of the three formats: httplog's
// TR/Tw/Tc/Tr/Ta before the status, clf's five after the server name,
// fe3's eight after rt=.
var timerRe = []*regexp.Regexp{
	regexp.MustCompile(`/\S+ (-?\d+(?:/-?\d+){4}) \d{3} `),
	regexp.MustCompile(`"\S+" "\S+" "\S+" ((?:-?\d+ ){4}-?\d+) `),
	regexp.MustCompile(`rt=\d+ (-?\d+(?:/-?\d+){7}) `),
}

var (
	dateRe   = regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:[\d:.]+( [+-]\d{4})?\]`)
	portRe   = regexp.MustCompile(`127\.0\.0\.1:\d+ \[`)
	clfPort  = regexp.MustCompile(`"" "" \d+ \d+ `)
	numberRe = regexp.MustCompile(`\d+`)
)

// normHTTPLog blanks what differs between two runs: dates, client
// ports, the accept milliseconds and the timers (each timer becomes N,
// -1 stays: whether a phase was reached is compared).
func normHTTPLog(l string) string {
	l = dateRe.ReplaceAllString(l, "[DATE]")
	l = portRe.ReplaceAllString(l, "127.0.0.1:PORT [")
	l = clfPort.ReplaceAllString(l, `"" "" PORT MS `)
	for _, re := range timerRe {
		for _, m := range re.FindAllStringSubmatchIndex(l, -1) {
			t := l[m[2]:m[3]]
			t = numberRe.ReplaceAllStringFunc(t, func(n string) string {
				return "N"
			})
			t = strings.ReplaceAll(t, "-N", "-1")
			l = l[:m[2]] + t + l[m[3]:]
		}
	}
	return l
}

// TestHTTPLogLinesMatchHAProxy sends the same requests (20 per
// frontend, keep-alive, with 404, 500, 503, denied, redirected, returned
// and POST ones, and one empty connection) through haproxy 2.6 and
// gohaka, then a bad request to fe1 and fe3, and compares the log lines once dates, ports and timers are
// blanked: option httplog, option httplog clf, and a log-format with
// the http variables (%r %ST %B %U %HM %HU %HP %HQ %HV %CC %CS %tsc %ts,
// with request and response header captures
// %rt %Tq %TR %Tw %Tc %Tr %Ta %Th %Ti %trg %tr %hr %hs, %{+Q}).
func TestHTTPLogLinesMatchHAProxy(t *testing.T) {
	sp := []int{statusServer(t, "s1"), statusServer(t, "s2"), statusServer(t, "s3"), statusServer(t, "s4")}
	run := func(start func(cfg string)) []string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		fe := [3]int{freePort(t), freePort(t), freePort(t)}
		start(httpLogConfig(udp.pc.LocalAddr().String(), fe, sp))
		waitFor(t, func() bool { return portOpen(fe[2]) }, "listener") // an empty connection: a <BADREQ> line
		time.Sleep(300 * time.Millisecond)                             // %ac must not count the empty connection any more
		for i, p := range fe {
			sendHTTP(t, p, httpTraffic(i+1, 20))
			time.Sleep(150 * time.Millisecond) // the next frontend's %ac must not count this client any more
		}
		for _, p := range []int{fe[0], fe[2]} {
			rawExchange(t, p, "GARBAGE\r\n\r\n", 2*time.Second)
			time.Sleep(150 * time.Millisecond)
		}
		var out []string
		for _, l := range udp.collect(400 * time.Millisecond) {
			out = append(out, normHTTPLog(l))
		}
		sort.Strings(out)
		return out
	}
	ha := run(func(cfg string) { startHAProxyCfg(t, cfg) })
	gh := run(func(cfg string) { startRuntime(t, cfg) })
	if len(ha) != 63 {
		t.Errorf("%d lines from haproxy, want 63", len(ha))
	}
	if strings.Join(ha, "") != strings.Join(gh, "") {
		t.Errorf("log lines differ:\nhaproxy:\n%s\ngohaka:\n%s", strings.Join(ha, ""), strings.Join(gh, ""))
	}
	t.Logf("%d lines equal, e.g.\n%s%s%s", len(gh), gh[0], gh[25], gh[len(gh)-1])
}

func portOpen(p int) bool {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err == nil {
		c.Close()
	}
	return err == nil
}
