package proxy

import (
	"fmt"
	"strings"
	"time"
)

// HTTPLog is what `option httplog` reports for one request; http mode
// fills it and Line renders haproxy's default httplog layout:
//
//	%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
type HTTPLog struct {
	Client               string    // ip:port
	Received             time.Time // %tr: the first byte of the request
	Frontend             string    // %ft (with "~" for TLS)
	Backend, Server      string    // "<NOSRV>" when none
	TR, Tw, Tc, Tr, Ta   int       // milliseconds, -1 when the phase was not reached
	Status               int       // %ST
	Bytes                int64     // %B
	ReqCookie, ResCookie string    // %CC %CS ("-" when none)
	TermState            string    // %tsc, 4 characters
	Act, Fe, Be, Srv     int       // %ac %fc %bc %sc
	Retries              string    // %rc, "+N" after a redispatch
	SrvQueue, BeQueue    int       // %sq %bq
	ReqHeaders           []string  // %hr: captured request headers, nil when none are captured
	ResHeaders           []string  // %hs
	RequestLine          string    // %r
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Line renders the log line (without the syslog header).
func (h HTTPLog) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s %s/%s %d/%d/%d/%d/%d %d %d %s %s %s %d/%d/%d/%d/%s %d/%d",
		h.Client, h.Received.Format("02/Jan/2006:15:04:05.000"), h.Frontend, h.Backend, orDash(h.Server),
		h.TR, h.Tw, h.Tc, h.Tr, h.Ta, h.Status, h.Bytes, orDash(h.ReqCookie), orDash(h.ResCookie),
		orDash(h.TermState), h.Act, h.Fe, h.Be, h.Srv, orDash(h.Retries), h.SrvQueue, h.BeQueue)
	for _, caps := range [][]string{h.ReqHeaders, h.ResHeaders} {
		if caps != nil {
			b.WriteString(" {" + strings.Join(caps, "|") + "}")
		}
	}
	fmt.Fprintf(&b, " \"%s\"", h.RequestLine)
	return b.String()
}
