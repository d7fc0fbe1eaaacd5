package proxy

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// serveLine answers each connection of ln with a line, then closes it.
func serveLine(ln net.Listener, line string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(c, line)
		c.Close()
	}
}

// stubDNS is a name server on loopback answering every A and AAAA
// question with what the test sets: addresses, "nx", "refused", "drop"
// (no answer), "garbage" (an answer cut short) or nothing (an empty
// answer).
type stubDNS struct {
	mu     sync.Mutex
	answer []string
	port   int
	first  map[dnsmessage.Type][]byte // the first query of each type
}

func startStubDNS(t *testing.T) *stubDNS {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &stubDNS{port: pc.LocalAddr().(*net.UDPAddr).Port, first: map[dnsmessage.Type][]byte{}}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := s.reply(buf[:n]); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return s
}

// firstQuery is the first query of type typ the stub was sent, its ID
// zeroed (nil: none came).
func (s *stubDNS) firstQuery(typ dnsmessage.Type) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := append([]byte(nil), s.first[typ]...)
	if len(q) >= 2 {
		q[0], q[1] = 0, 0
	}
	return q
}

func (s *stubDNS) set(answer ...string) {
	s.mu.Lock()
	s.answer = answer
	s.mu.Unlock()
}

func (s *stubDNS) reply(msg []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	answer := s.answer
	if s.first[q.Type] == nil {
		s.first[q.Type] = append([]byte(nil), msg...)
	}
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if len(answer) == 1 {
		switch answer[0] {
		case "drop":
			return nil
		case "garbage":
			return append([]byte{msg[0], msg[1], 0x81, 0x80, 0, 1, 0, 1}, msg[8:len(msg)-3]...)
		case "nx":
			rh.RCode, answer = dnsmessage.RCodeNameError, nil
		case "refused":
			rh.RCode, answer = dnsmessage.RCodeRefused, nil
		}
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if len(answer) > 0 && strings.HasPrefix(answer[0], "srv ") {
		return srvReply(b, q, answer)
	}
	for _, a := range answer {
		ip := netip.MustParseAddr(a)
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}
		if ip.Is4() && q.Type == dnsmessage.TypeA {
			b.AResource(hdr, dnsmessage.AResource{A: ip.As4()})
		}
		if ip.Is6() && q.Type == dnsmessage.TypeAAAA {
			b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: ip.As16()})
		}
	}
	out, _ := b.Finish()
	return out
}

// srvReply answers an SRV question with records written "srv WEIGHT
// PORT TARGET IP" (IP "-": no additional record), targets' addresses in
// the additional section; other questions get an empty answer.
func srvReply(b dnsmessage.Builder, q dnsmessage.Question, answer []string) []byte {
	type extra struct {
		name dnsmessage.Name
		ip   netip.Addr
	}
	var extras []extra
	for _, a := range answer {
		var w, port int
		var target, ip string
		fmt.Sscanf(a, "srv %d %d %s %s", &w, &port, &target, &ip)
		tn := dnsmessage.MustNewName(target + ".")
		if q.Type != dnsmessage.TypeSRV {
			continue
		}
		b.SRVResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.SRVResource{Weight: uint16(w), Port: uint16(port), Target: tn})
		if ip != "-" {
			extras = append(extras, extra{tn, netip.MustParseAddr(ip)})
		}
	}
	b.StartAdditionals()
	for _, e := range extras {
		b.AResource(dnsmessage.ResourceHeader{Name: e.name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.AResource{A: e.ip.As4()})
	}
	out, _ := b.Finish()
	return out
}

// twoAddressServers starts servers on 127.0.0.2 and 127.0.0.3, one port,
// answering each connection with "two" and "three"; it returns the port.
func twoAddressServers(t *testing.T) int {
	for try := 0; try < 20; try++ {
		ln2, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no 127.0.0.2 on loopback: %v", err)
		}
		p := port(ln2.Addr())
		ln3, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", p))
		if err != nil {
			ln2.Close()
			continue
		}
		t.Cleanup(func() { ln2.Close(); ln3.Close() })
		go serveLine(ln2, "two")
		go serveLine(ln3, "three")
		return p
	}
	t.Fatal("no port free on both 127.0.0.2 and 127.0.0.3")
	return 0
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestResolversAsHAProxy runs haproxy 2.6 and gohaka with the same
// resolvers section, both asking one stub name server for a server's
// name, and changes the answer: the first address, a move, an answer
// that still holds the current address, NX past `hold nx`, an empty
// answer, refused, no answer at all (timeout); after each both must
// send connections to the same server (or refuse them alike), print the
// same messages and the same `show servers state` line, and count the
// same kinds of answers in `show resolvers`.
func TestResolversAsHAProxy(t *testing.T) {
	r := startResolversPair(t, "    server s1 app.test:%d resolvers stub init-addr none\n")
	r.run([]resolverStep{
		{"first address", []string{"127.0.0.2"}, []string{"two"}, 3},
		{"moved", []string{"127.0.0.3"}, []string{"three"}, 4},
		{"current address still there", []string{"127.0.0.2", "127.0.0.3"}, []string{"three"}, 4},
		{"nx past hold", []string{"nx"}, nil, 6},
		{"back", []string{"127.0.0.2"}, []string{"two"}, 9},
		{"empty answer past hold", nil, nil, 11},
		{"back again", []string{"127.0.0.3"}, []string{"three"}, 14},
		{"refused past hold", []string{"refused"}, nil, 16},
		{"back once more", []string{"127.0.0.2"}, []string{"two"}, 19},
		{"no answer past hold", []string{"drop"}, nil, 21},
		{"answers that do not parse", []string{"garbage"}, nil, 21},
	})
	r.compareQueries()
	r.compareCounters()
}

// TestResolversTemplateAsHAProxy: three servers of a server-template
// share one name; each takes an address no other holds, the one left
// without stays in maintenance, a server whose address leaves the answer
// goes down ("No IP for server") and takes a free one when it comes
// back, as through haproxy 2.6.
func TestResolversTemplateAsHAProxy(t *testing.T) {
	r := startResolversPair(t, "    server-template s 3 app.test:%d resolvers stub init-addr none\n")
	r.run([]resolverStep{
		{"two addresses for three servers", []string{"127.0.0.2", "127.0.0.3"}, []string{"two", "three"}, 6},
		{"one address left", []string{"127.0.0.3"}, []string{"three"}, 7},
		{"both again", []string{"127.0.0.3", "127.0.0.2"}, []string{"two", "three"}, 10},
		{"nx past hold", []string{"nx"}, nil, 13},
	})
}

// TestResolversSRVAsHAProxy: a server-template over an SRV name; each
// record (target and port) goes to one server with the target's address
// from the additional section and the record's weight; a record's new
// address is followed, a record gone puts its server into maintenance, a
// new record goes to a server that never had one first; as through
// haproxy 2.6 (messages compared without their order within a step).
func TestResolversSRVAsHAProxy(t *testing.T) {
	r := startResolversPair(t, "    server-template s 3 _http._tcp.app.test resolvers stub init-addr none\n")
	r.unordered = true
	p := strconv.Itoa(r.sp)
	r.run([]resolverStep{
		{"two records", []string{"srv 10 " + p + " two.test 127.0.0.2", "srv 20 " + p + " three.test 127.0.0.3"}, []string{"two", "three"}, 4},
		{"a target moves, a weight grows", []string{"srv 512 " + p + " two.test 127.0.0.3", "srv 20 " + p + " three.test 127.0.0.3"}, []string{"three"}, 5},
		{"a record gone", []string{"srv 20 " + p + " three.test 127.0.0.3"}, []string{"three"}, 6},
		{"a new record", []string{"srv 20 " + p + " three.test 127.0.0.3", "srv 65535 " + p + " four.test 127.0.0.2"}, []string{"two", "three"}, 8},
		{"nx past hold", []string{"nx"}, nil, 11},
	})
}

// resolverStep is an answer the stub name servers give, what connections
// get through both proxies then, and how many messages each printed by
// then.
type resolverStep struct {
	name   string
	answer []string
	want   []string // the servers' names connections may reach, none: refused
	msgs   int
}

// resolversPair is haproxy and gohaka with the same resolvers config,
// each with its own stub name server.
type resolversPair struct {
	t          *testing.T
	hdns, gdns *stubDNS
	hp, gp     int
	hs, gs     string
	herr, gerr *lockedBuffer
	sp         int  // the servers' port
	unordered  bool // compare each step's messages as sets
}

// startResolversPair starts both proxies; servers is the listen's server
// lines, %d standing for the servers' port.
func startResolversPair(t *testing.T, servers string) *resolversPair {
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy); .ci/run installs it")
	}
	sp := twoAddressServers(t)
	hdns, gdns := startStubDNS(t), startStubDNS(t) // one name server each, answering alike
	dir := t.TempDir()
	hp, gp := freePort(t), freePort(t)
	hs, gs := filepath.Join(dir, "h.sock"), filepath.Join(dir, "g.sock")
	cfg := func(sock string, dnsPort, fp int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
resolvers stub
    nameserver ns1 127.0.0.1:%d
    timeout resolve 100ms
    timeout retry 100ms
    resolve_retries 2
    hold nx 400ms
    hold timeout 400ms
    hold refused 400ms
    hold other 400ms
    hold valid 1s
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen l
    bind 127.0.0.1:%d
`+strings.ReplaceAll(servers, "%d", strconv.Itoa(sp)), sock, dnsPort, fp)
	}
	p := filepath.Join(dir, "h.cfg")
	if err := os.WriteFile(p, []byte("global\n    nbthread 1\n"+cfg(hs, hdns.port, hp)), 0o644); err != nil {
		t.Fatal(err)
	}
	herr, gerr := &lockedBuffer{}, &lockedBuffer{}
	cmd := exec.Command(hap, "-db", "-f", p)
	cmd.Stderr = herr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	startRuntimeLogf(t, cfg(gs, gdns.port, gp), func(f string, a ...any) { fmt.Fprintf(gerr, f+"\n", a...) })
	return &resolversPair{t: t, hdns: hdns, gdns: gdns, hp: hp, gp: gp, hs: hs, gs: gs, herr: herr, gerr: gerr, sp: sp}
}

// run gives each step's answer and compares both proxies after it.
func (p *resolversPair) run(steps []resolverStep) {
	t := p.t
	for _, st := range steps {
		p.hdns.set(st.answer...)
		p.gdns.set(st.answer...)
		var hm, gm []string
		waitFor(t, func() bool {
			hm, gm = messages(p.herr.String()), messages(p.gerr.String())
			return len(hm) >= st.msgs && len(gm) >= st.msgs && p.state(p.hs) == p.state(p.gs)
		}, st.name+": both print their messages and agree on the server's state")
		if p.unordered {
			hm, gm = slices.Sorted(slices.Values(hm)), slices.Sorted(slices.Values(gm))
		}
		if strings.Join(hm, "\n") != strings.Join(gm, "\n") {
			t.Fatalf("%s: messages differ\n--- haproxy\n%s\n--- gohaka\n%s", st.name, strings.Join(hm, "\n"), strings.Join(gm, "\n"))
		}
		if h, g := p.state(p.hs), p.state(p.gs); h != g {
			t.Fatalf("%s: show servers state\nhaproxy %s\ngohaka  %s", st.name, h, g)
		}
		for i := 0; i < 4; i++ {
			h, herr1 := nameFrom(netip.Addr{}, p.hp)
			g, gerr1 := nameFrom(netip.Addr{}, p.gp)
			ok := func(got string) bool {
				return got == "" && len(st.want) == 0 || got != "" && slices.Contains(st.want, got)
			}
			if !ok(h) || !ok(g) {
				t.Fatalf("%s: a connection got %q (%v) through haproxy, %q (%v) through gohaka, want one of %q", st.name, h, herr1, g, gerr1, st.want)
			}
		}
	}
	t.Logf("messages of both:\n%s", strings.Join(messages(p.herr.String()), "\n"))
}

// messages are a process's messages without haproxy's
// "[WARNING]  (pid) : " and gohaka's own lines.
func messages(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, ") : "); strings.HasPrefix(l, "[") && i > 0 {
			l = l[i+4:]
		}
		// gohaka's own line for each connection it finds no server for
		own := strings.HasPrefix(l, "backend '") && strings.Contains(l, "': no server is available")
		if l != "" && !strings.HasPrefix(l, "[NOTICE]") && !own {
			out = append(out, l)
		}
	}
	return out
}

// state is the `show servers state` lines of the listen l.
func (p *resolversPair) state(sock string) string {
	var out []string
	for _, l := range strings.Split(cliQuery(p.t, "unix:"+sock, "show servers state"), "\n") {
		if f := strings.Fields(l); len(f) > 10 && f[1] == "l" {
			f[9] = "T" // seconds since the last change
			out = append(out, strings.Join(f, " "))
		}
	}
	return strings.Join(out, "\n")
}

// compareQueries: the queries themselves, byte for byte but for their IDs.
func (p *resolversPair) compareQueries() {
	hdns, gdns, t := p.hdns, p.gdns, p.t
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeAAAA, dnsmessage.TypeA} {
		h, g := hdns.firstQuery(typ), gdns.firstQuery(typ)
		if len(h) == 0 || !bytes.Equal(h, g) {
			t.Errorf("first %v query\nhaproxy % x\ngohaka  % x", typ, h, g)
		}
	}
}

// compareCounters: the kinds of answers each counted.
func (p *resolversPair) compareCounters() {
	t, hs, gs := p.t, p.hs, p.gs
	// the kinds of answers each counted (the counts themselves depend on
	// timing): a name server's counter is non-zero through both or neither
	kinds := func(sock string) string {
		var out []string
		for _, l := range strings.Split(cliQuery(t, "unix:"+sock, "show resolvers stub"), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && strings.HasPrefix(l, "  ") {
				out = append(out, fmt.Sprintf("%s%v", f[0], f[1] != "0"))
			} else if l != "" {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	// the answers cut short reach both (invalid, counted, nothing else)
	waitFor(t, func() bool {
		h, g := kinds(hs), kinds(gs)
		return h == g && strings.Contains(h, "invalid:true")
	}, "both count the answers that do not parse")
	if h, g := kinds(hs), kinds(gs); h != g || !strings.Contains(h, "invalid:true") {
		t.Errorf("show resolvers stub (true: counted)\n--- haproxy\n%s\n--- gohaka\n%s", h, g)
	}
	t.Logf("both counted: %s", strings.ReplaceAll(kinds(hs), "\n", " "))
	if h, g := cliQuery(t, "unix:"+hs, "show resolvers nosuch"), cliQuery(t, "unix:"+gs, "show resolvers nosuch"); h != g {
		t.Errorf("show resolvers of an unknown section: haproxy %q, gohaka %q", h, g)
	}
}

// TestParseResolvConf: parse-resolv-conf takes the name servers of
// resolv.conf where the line is, named by their address, and the
// implicit section "default" has them too, as `show resolvers` lists
// them in haproxy.
func TestParseResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("# test\nsearch example.test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := resolvConf
	resolvConf = p
	defer func() { resolvConf = old }()
	r := startRuntime(t, "resolvers dns\n    parse-resolv-conf\n    nameserver own 192.0.2.54:5353\n"+tcpConfig(freePort(t), "    server s1 192.0.2.1:80\n", ""))
	var got []string
	for _, l := range strings.Split(r.showResolvers(""), "\n") {
		if strings.HasPrefix(l, "Resolvers section ") || strings.HasPrefix(l, " nameserver ") {
			got = append(got, l)
		}
	}
	want := []string{"Resolvers section dns", " nameserver 192.0.2.53:", " nameserver 2001:db8::53:", " nameserver own:",
		"Resolvers section default", " nameserver 192.0.2.53:", " nameserver 2001:db8::53:"}
	if !slices.Equal(got, want) {
		t.Errorf("show resolvers sections and name servers:\n%q\nwant\n%q", got, want)
	}
	if r.showResolvers("nosuch") != "Can't find that resolvers section\n" {
		t.Errorf("an unknown section: %q", r.showResolvers("nosuch"))
	}
}
