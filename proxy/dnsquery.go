package proxy

import (
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsQuery builds the query a resolution sends: one question (name, of
// type A or AAAA), recursion desired, and an EDNS record announcing the
// section's accepted_payload_size, as haproxy sends it.
func dnsQuery(id uint16, name string, typ dnsmessage.Type, payload int) ([]byte, error) {
	qn, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: qn, Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(payload, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// dnsAnswer is what one response says of a question.
type dnsAnswer struct {
	id        uint16
	typ       dnsmessage.Type // the question's type
	rcode     dnsmessage.RCode
	addrs     []netip.Addr // records of the question's type, in order
	cname     bool         // the answer went through an alias
	truncated bool
	// srv are the SRV records of an SRV question, in order; extra the
	// addresses the additional section gives for names (lower case, no
	// final dot)
	srv   []srvRecord
	extra map[string][]netip.Addr
}

// srvRecord is one SRV record: a target (lower case, no final dot) and
// its port and weight.
type srvRecord struct {
	target string
	port   int
	weight int
}

var errNotAnswer = errors.New("not an answer to the question")

// parseDNSAnswer reads a response to a question about name; a message
// that is not a response, asks something else or does not parse is an
// error (counted as invalid, never trusted).
func parseDNSAnswer(msg []byte, name string) (dnsAnswer, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return dnsAnswer{}, err
	}
	a := dnsAnswer{id: h.ID, rcode: h.RCode, truncated: h.Truncated}
	if !h.Response {
		return a, errNotAnswer
	}
	q, err := p.Question()
	if err != nil {
		return a, err
	}
	if !strings.EqualFold(q.Name.String(), fqdn(name)) || q.Class != dnsmessage.ClassINET {
		return a, errNotAnswer
	}
	a.typ = q.Type
	if err := p.SkipAllQuestions(); err != nil {
		return a, err
	}
	for {
		rh, err := p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return a, err
		}
		switch {
		case rh.Type == a.typ && (a.typ == dnsmessage.TypeA || a.typ == dnsmessage.TypeAAAA):
			ip, err := readAddr(&p, rh.Type)
			if err != nil {
				return a, err
			}
			a.addrs = append(a.addrs, ip)
		case rh.Type == dnsmessage.TypeSRV && a.typ == dnsmessage.TypeSRV:
			r, err := p.SRVResource()
			if err != nil {
				return a, err
			}
			a.srv = append(a.srv, srvRecord{target: dnsName(r.Target), port: int(r.Port), weight: int(r.Weight)})
		default:
			a.cname = a.cname || rh.Type == dnsmessage.TypeCNAME
			if err := p.SkipAnswer(); err != nil {
				return a, err
			}
		}
	}
	if a.typ != dnsmessage.TypeSRV {
		return a, nil
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return a, err
	}
	for {
		rh, err := p.AdditionalHeader()
		if err == dnsmessage.ErrSectionDone {
			return a, nil
		}
		if err != nil {
			return a, err
		}
		if rh.Type != dnsmessage.TypeA && rh.Type != dnsmessage.TypeAAAA {
			if err := p.SkipAdditional(); err != nil {
				return a, err
			}
			continue
		}
		ip, err := readAddr(&p, rh.Type)
		if err != nil {
			return a, err
		}
		if a.extra == nil {
			a.extra = map[string][]netip.Addr{}
		}
		n := dnsName(rh.Name)
		a.extra[n] = append(a.extra[n], ip)
	}
}

// readAddr reads the A or AAAA record (typ) whose header p just read.
func readAddr(p *dnsmessage.Parser, typ dnsmessage.Type) (netip.Addr, error) {
	if typ == dnsmessage.TypeA {
		r, err := p.AResource()
		return netip.AddrFrom4(r.A), err
	}
	r, err := p.AAAAResource()
	return netip.AddrFrom16(r.AAAA), err
}

// dnsName is a name as gohaka compares it: lower case, no final dot.
func dnsName(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}
