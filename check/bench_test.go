package check

import (
	"context"
	"net"
	"testing"
	"time"
)

func BenchmarkObserve(b *testing.B) {
	s := NewServer(Params{Name: "be/s1", Check: true, Agent: true})
	fail := Result{Status: StatusL4CON, Info: "Connection refused"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if i%4 == 0 {
			s.Observe(false, fail)
		} else {
			s.Observe(false, resOK)
		}
	}
}

func BenchmarkParseAgentReply(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ParseAgentReply("up 75% maxconn:30 # all good\n").Result()
	}
}

// BenchmarkHTTPProbeLoopback measures one full "option httpchk" check
// (connect, request, response, verdict) against a loopback server.
func BenchmarkHTTPProbeLoopback(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	resp := httpReply("200 OK", "ok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 512)
				c.Read(buf)
				c.Write(resp)
				c.Close()
			}()
		}
	}()
	p, _ := Build(Spec{Type: "httpchk"})
	t := Target{Addr: ln.Addr().String(), Timeouts: Timeouts{Inter: 2 * time.Second}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := p.Run(ctx, t); r.Status != StatusL7OK {
			b.Fatal(r.Text())
		}
	}
}
