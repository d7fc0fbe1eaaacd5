package proxy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cookieLogConfig has a backend per cookie mode; servers answer /setjs
// and /setsrv with a cookie of their own.
const cookieLogConfig = `global
    log %[1]s local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%[2]d
    use_backend ins if { path_beg /ins/ }
    use_backend insd if { path_beg /insd/ }
    use_backend pre if { path_beg /pre/ }
    use_backend rw if { path_beg /rw/ }
    use_backend down if { path_beg /down/ }
    use_backend idle if { path_beg /idle/ }
    use_backend us if { path_beg /us/ }
    use_backend pres if { path_beg /pres/ }
backend ins
    cookie SRV insert indirect nocache
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend insd
    cookie SRV insert
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend pres
    cookie SRV insert preserve
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend pre
    cookie JS prefix
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend rw
    cookie JS rewrite
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend down
    cookie SRV insert indirect
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[5]d cookie s2 check inter 100ms fall 1
backend idle
    cookie SRV insert indirect maxidle 30m maxlife 8h
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
backend us
    cookie SRV insert indirect
    use-server s1 if { path_end /us }
    server s1 127.0.0.1:%[3]d cookie s1
    server s2 127.0.0.1:%[4]d cookie s2
`

// cookieSetServer answers every request; /setjs and /setsrv answers
// carry a cookie of the server's own.
func cookieSetServer(t *testing.T) int {
	return answerHeads(t, func(head string) (string, bool) {
		extra := ""
		if strings.Contains(head, "/setjs") {
			extra = "Set-Cookie: JS=xyz; path=/\r\n"
		}
		if strings.Contains(head, "/setsrv") {
			extra = "Set-Cookie: SRV=abc; path=/\r\n"
		}
		return "HTTP/1.1 200 OK\r\n" + extra + "Content-Length: 2\r\n\r\nok", true
	})
}

// TestCookieLogFlagsAsHAProxy: the persistence cookie letters of the
// httplog termination state (the request's cookie: N none, V valid, I
// invalid, D its server down, E expired, U not used; the response: N
// nothing, I inserted, U dates updated, D the server's deleted, R
// rewritten, P the server's kept) and the Set-Cookie the client gets are
// the same through haproxy 2.6 and gohaka.
func TestCookieLogFlagsAsHAProxy(t *testing.T) {
	s1, s2, dead := cookieSetServer(t), cookieSetServer(t), deadPort(t)
	reqs := []struct{ path, cookie string }{
		{"/ins/a", ""}, {"/ins/b", "SRV=s2"}, {"/ins/c", "SRV=zz"}, {"/ins/d", "other=1"},
		{"/ins/setsrv", ""}, {"/ins/setsrv", "SRV=s1"},
		{"/insd/setsrv", ""}, {"/insd/setsrv", "SRV=s1"},
		{"/pres/setsrv", ""}, {"/pres/a", "SRV=s2"},
		{"/pre/setjs", ""}, {"/pre/none", ""}, {"/pre/setjs", "JS=s2~xyz"}, {"/pre/none", "JS=s2~xyz"},
		{"/pre/none", "JS=zz~xyz"}, {"/pre/none", "JS=xyz"},
		{"/rw/setjs", ""}, {"/rw/none", ""}, {"/rw/setjs", "JS=s2"}, {"/rw/none", "JS=s2"},
		{"/down/a", "SRV=s2"},
		{"/us/us", "SRV=s2"}, {"/us/x", "SRV=s2"},
	}
	// maxidle 30m, maxlife 8h: dates made from now, so that the cases
	// stay what they are whatever the day
	at := func(d time.Duration) string { return string(appendDate(nil, dateUnit(time.Now().Add(d).Unix()))) }
	for _, c := range []struct{ path, last, first string }{
		{"/idle/both", at(-time.Hour), at(-9 * time.Hour)},
		{"/idle/idle", at(-time.Hour), at(-time.Hour)},
		{"/idle/life", at(-time.Minute), at(-9 * time.Hour)},
		{"/idle/fresh", at(-time.Minute), at(-time.Hour)},
		{"/idle/future", at(48 * time.Hour), at(48 * time.Hour)},
		{"/idle/futurelast", at(48 * time.Hour), at(-time.Hour)},
		{"/idle/futurefirst", at(-time.Minute), at(48 * time.Hour)},
		{"/idle/soon", at(time.Hour), at(time.Hour)},
		{"/idle/nofirst", at(-time.Minute), ""},
	} {
		v := "SRV=s2|" + c.last
		if c.first != "" {
			v += "|" + c.first
		}
		reqs = append(reqs, struct{ path, cookie string }{c.path, v})
	}
	line := regexp.MustCompile(`\] fe (\S+) \S+ (\d+) \d+ \S+ \S+ (\S{4}) `)
	setCookie := regexp.MustCompile(`(?i)\r\nset-cookie: ([^\r]*)`)
	cookieDate := regexp.MustCompile(`\|[A-Za-z0-9+/]{5}`)
	run := func(start func(cfg string) int) []string {
		udp := newLogSink(t, "udp", "127.0.0.1:0")
		p := start(fmt.Sprintf(cookieLogConfig, udp.pc.LocalAddr(), freePort(t), s1, s2, dead))
		time.Sleep(400 * time.Millisecond) // the checks mark down/s2 down
		var out []string
		for _, r := range reqs {
			h := "GET " + r.path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
			if r.cookie != "" {
				h += "Cookie: " + r.cookie + "\r\n"
			}
			resp := rawExchange(t, p, h+"\r\n", 2*time.Second)
			var sc []string
			for _, m := range setCookie.FindAllStringSubmatch(resp, -1) {
				sc = append(sc, cookieDate.ReplaceAllString(m[1], "|DATE")) // the two runs are seconds apart
			}
			logged := "no log line"
			for _, l := range udp.collect(80 * time.Millisecond) {
				if m := line.FindStringSubmatch(l); m != nil {
					logged = m[1] + " " + m[2] + " " + m[3]
				}
			}
			out = append(out, fmt.Sprintf("%s [%s]: %s %q", r.path, cookieDate.ReplaceAllString(r.cookie, "|DATE"), logged, sc))
		}
		return out
	}
	ha := run(func(cfg string) int {
		p := port0(cfg)
		runHAProxy(t, cfg, p)
		return p
	})
	gh := run(func(cfg string) int {
		startRuntime(t, cfg)
		return port0(cfg)
	})
	for i := range ha {
		if ha[i] != gh[i] {
			t.Errorf("haproxy: %s\n        gohaka:  %s", ha[i], gh[i])
		}
	}
}

// port0 is the port of the config's first bind line.
func port0(cfg string) int {
	var p int
	i := strings.Index(cfg, "bind 127.0.0.1:")
	fmt.Sscanf(cfg[i+len("bind 127.0.0.1:"):], "%d", &p)
	return p
}
