package check

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// diffCase is one check configured identically in haproxy and in gohaka.
type diffCase struct {
	name    string
	backend string // haproxy lines inside the backend (check options)
	srvOpts string // extra options on the haproxy server line
	spec    Spec
	server  serverScript
	// agent scenarios: the server line gets agent-check on a second
	// recorder playing agent; the health check hits a plain listener.
	agent     *serverScript
	agentSend string
	sendProxy int
	// mask hides bytes that are legitimately different between runs.
	mask    func(b []byte) []byte
	noBytes bool // the check sends nothing worth comparing
}

func reply(until func([]byte) bool, b string) serverScript {
	return serverScript{steps: []exchange{{until: until, reply: []byte(b)}}}
}

func replyFin(until func([]byte) bool, b string) serverScript {
	s := reply(until, b)
	s.fin = true
	return s
}

var durRe = regexp.MustCompile(`, check duration: \d+ms`)

// reasonOf extracts "reason: ...," text from a log-health-checks line.
func reasonOf(line string) string {
	i := strings.Index(line, "reason: ")
	j := strings.LastIndex(line, ", status: ")
	if i < 0 || j < i {
		return ""
	}
	return durRe.ReplaceAllString(line[i+len("reason: "):j], "")
}

func TestDifferentialHAProxy(t *testing.T) {
	needHAProxy(t)
	cases := diffCases()
	var cfg strings.Builder
	cfg.WriteString("defaults\n  mode tcp\n  log global\n  option log-health-checks\n" +
		"  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n  timeout check 800ms\n")
	type side struct {
		srv, agent *recorder
	}
	hp := map[string]side{}
	plain := startRecorder(t, serverScript{})
	for _, c := range cases {
		s := side{srv: startRecorder(t, c.server)}
		fmt.Fprintf(&cfg, "backend be_%s\n%s\n", c.name, c.backend)
		opts := "check inter 300ms rise 1 fall 1 " + c.srvOpts
		addr := s.srv.addr()
		if c.agent != nil {
			s.agent = startRecorder(t, *c.agent)
			addr = plain.addr()
			opts += fmt.Sprintf(" agent-check agent-port %d agent-inter 300ms weight 10", s.agent.port())
			if c.agentSend != "" {
				opts += ` agent-send "` + strings.ReplaceAll(c.agentSend, "\n", `\n`) + `"`
			}
		}
		fmt.Fprintf(&cfg, "  server s1 %s %s\n", addr, opts)
		hp[c.name] = s
	}
	h := startHAProxy(t, cfg.String())
	// Wait for every case's first check on the haproxy side.
	hb := map[string][]byte{}
	for _, c := range cases {
		rec := hp[c.name].srv
		if c.agent != nil {
			rec = hp[c.name].agent
		}
		if c.noBytes {
			if _, ok := h.waitLog(5*time.Second, func(l string) bool {
				return strings.HasPrefix(l, "Health check for server be_"+c.name+"/")
			}); !ok {
				t.Fatalf("%s: haproxy logged no check result", c.name)
			}
			continue
		}
		b, ok := rec.first(5 * time.Second)
		if !ok {
			t.Fatalf("%s: haproxy never connected", c.name)
		}
		hb[c.name] = b
	}
	time.Sleep(700 * time.Millisecond) // let every first result be logged
	stats := h.showStat(t)
	logs := h.lines()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mine := runMine(t, c)
			// 1. bytes on the wire
			if !c.noBytes {
				want, got := hb[c.name], mine.bytes
				if c.mask != nil {
					want, got = c.mask(append([]byte(nil), want...)), c.mask(append([]byte(nil), got...))
				}
				if !bytes.Equal(want, got) {
					t.Errorf("bytes differ\nhaproxy: %q\ngohaka:  %q", want, got)
				}
			}
			// 2. the verdict and its wording
			row := stats["be_"+c.name+"/s1"]
			if row == nil {
				t.Fatalf("no stats row for be_%s", c.name)
			}
			res := mine.res
			if c.agent != nil {
				if got, want := res.Status.String(), row["agent_status"]; got != want {
					t.Errorf("agent_status: haproxy %q, gohaka %q (%s)", want, got, res.Text())
				}
				if got, want := res.Info, row["last_agt"]; got != want {
					t.Errorf("agent info: haproxy %q, gohaka %q", want, got)
				}
			} else {
				if got, want := res.Status.String(), strings.TrimPrefix(row["check_status"], "* "); got != want {
					t.Errorf("check_status: haproxy %q, gohaka %q (%s)", want, got, res.Text())
				}
				// haproxy resets last_chk while a check runs, and its
				// mysql/ldap checks overwrite it after logging: the log
				// line (compared below) is the reference for the info.
				if res.Status.HasCode() && row["check_code"] != itoa(res.Code) {
					t.Errorf("check_code: haproxy %q, gohaka %d", row["check_code"], res.Code)
				}
			}
			prefix := "Health check for server be_" + c.name + "/s1 "
			if c.agent != nil {
				prefix = "Agent check for server be_" + c.name + "/s1 "
			}
			var line string
			for _, l := range logs {
				if strings.HasPrefix(l, prefix) {
					line = l
					break
				}
			}
			if line != "" {
				if got, want := durRe.ReplaceAllString(res.Text(), ""), reasonOf(line); got != want {
					t.Errorf("reason differs\nhaproxy: %s\ngohaka:  %s", want, got)
				}
			} else if res.Status != StatusChecked {
				t.Errorf("haproxy logged no %q line", prefix)
			}
			// 3. the resulting server state
			srv := NewServer(Params{Name: "be_" + c.name + "/s1", Check: true, Agent: c.agent != nil, Rise: 1, Fall: 1, Weight: 10})
			if c.agent != nil {
				srv.Observe(false, Result{Status: StatusL4OK})
			}
			ev := srv.Observe(c.agent != nil, res)
			if line != "" {
				if got := durRe.ReplaceAllString(ev.HealthLog(), ""); got != durRe.ReplaceAllString(line, "") {
					t.Errorf("log line differs\nhaproxy: %s\ngohaka:  %s", line, got)
				}
			}
			hs := strings.Fields(row["status"])
			if len(hs) == 0 || hs[0] != ev.To.String() {
				t.Errorf("state: haproxy %q, gohaka %s", row["status"], ev.To)
			}
			if c.agent != nil && row["weight"] != itoa(srv.Weight()) {
				t.Errorf("weight: haproxy %s, gohaka %d", row["weight"], srv.Weight())
			}
		})
	}
}

type mineOut struct {
	bytes []byte
	res   Result
}

// runMine runs gohaka's probe for c against fresh recorders.
func runMine(t *testing.T, c diffCase) mineOut {
	t.Helper()
	srv := startRecorder(t, c.server)
	var p Probe
	var err error
	target := Target{Addr: srv.addr(), SendProxy: c.sendProxy,
		Timeouts: Timeouts{Connect: time.Second, Check: 800 * time.Millisecond, Inter: 300 * time.Millisecond}}
	rec := srv
	if c.agent != nil {
		rec = startRecorder(t, *c.agent)
		target.Addr = rec.addr()
		p = AgentProbe(c.agentSend)
	} else if p, err = Build(c.spec); err != nil {
		t.Fatalf("build: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := p.Run(ctx, target)
	b, ok := rec.first(3 * time.Second)
	if !ok && !c.noBytes {
		t.Fatalf("gohaka's probe never connected (result %s)", res.Text())
	}
	return mineOut{bytes: b, res: res}
}
