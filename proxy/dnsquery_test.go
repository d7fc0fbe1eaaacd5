package proxy

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// answerTo builds a response to q through the test's stub name server.
func answerTo(t testing.TB, q []byte, answer ...string) []byte {
	s := &stubDNS{first: map[dnsmessage.Type][]byte{}}
	s.set(answer...)
	out := s.reply(q)
	if out == nil {
		t.Fatal("no answer built")
	}
	return out
}

// TestParseDNSAnswer reads the answers a resolution meets: addresses of
// the question's type only, the rcode of NX, a response to another name
// refused.
func TestParseDNSAnswer(t *testing.T) {
	q, err := dnsQuery(7, "app.test", dnsmessage.TypeA, 512)
	if err != nil {
		t.Fatal(err)
	}
	a, err := parseDNSAnswer(answerTo(t, q, "192.0.2.7", "2001:db8::7", "192.0.2.8"), "app.test")
	if err != nil || a.id != 7 || a.typ != dnsmessage.TypeA || len(a.addrs) != 2 || a.addrs[1] != netip.MustParseAddr("192.0.2.8") {
		t.Fatalf("A answer: %+v %v", a, err)
	}
	a, err = parseDNSAnswer(answerTo(t, q, "nx"), "APP.test.")
	if err != nil || a.rcode != dnsmessage.RCodeNameError || len(a.addrs) != 0 {
		t.Fatalf("NX answer: %+v %v", a, err)
	}
	if _, err := parseDNSAnswer(answerTo(t, q, "192.0.2.7"), "other.test"); err == nil {
		t.Fatal("an answer about another name was taken")
	}
	if _, err := parseDNSAnswer(q, "app.test"); err == nil {
		t.Fatal("a query was taken for an answer")
	}
}

// FuzzParseDNSAnswer: whatever a name server (or anyone) sends, reading
// it never panics, and addresses come only of the question's type.
func FuzzParseDNSAnswer(f *testing.F) {
	q, _ := dnsQuery(1, "app.test", dnsmessage.TypeAAAA, 512)
	f.Add(q)
	f.Add(answerTo(f, q, "2001:db8::1", "192.0.2.1"))
	f.Add(answerTo(f, q, "refused"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, err := parseDNSAnswer(msg, "app.test")
		if err != nil {
			return
		}
		for _, ip := range a.addrs {
			if ip.Is4() != (a.typ == dnsmessage.TypeA) {
				t.Fatalf("%v address in a %v answer", ip, a.typ)
			}
		}
	})
}
