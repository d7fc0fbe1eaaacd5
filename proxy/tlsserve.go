package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// serverTLS builds the client side of a `server ... ssl` line: `verify
// none|required` (required by default, as haproxy's ssl-server-verify),
// `ca-file`, `sni str(NAME)`, `verifyhost`, `crt`, `alpn`, versions.
func serverTLS(g *parser.Global, s *parser.Server) (*tls.Config, error) {
	opts := s.Options
	verify := "required"
	for _, l := range g.Settings {
		if len(l.Words) == 2 && l.Words[0] == "ssl-server-verify" {
			verify = l.Words[1]
		}
	}
	if v := opts["verify"]; len(v) > 0 {
		verify = v[len(v)-1]
	}
	c := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	applyVersionOpts(c, defaultOptions(g, "server"))
	applyVersionOpts(c, opts)
	if v := opts["sni"]; len(v) > 0 {
		if name, ok := strings.CutPrefix(v[0], "str("); ok {
			c.ServerName = strings.TrimSuffix(name, ")")
		}
	}
	if v := opts["crt"]; len(v) > 0 {
		cert, err := loadPEM(resolveBase(g.CrtBase, v[0]))
		if err != nil {
			return nil, fmt.Errorf("%s: server '%s': %v", s.Pos, s.Name, err)
		}
		c.Certificates = []tls.Certificate{*cert}
	}
	if verify == "none" {
		return c, nil
	}
	ca := opts["ca-file"]
	if len(ca) == 0 {
		return nil, fmt.Errorf("%s: server '%s': verify is enabled by default but no CA file specified; set 'verify none' or a 'ca-file'", s.Pos, s.Name)
	}
	pemData, err := os.ReadFile(resolveBase(g.CaBase, ca[0]))
	if err != nil {
		return nil, fmt.Errorf("%s: server '%s': ca-file: %v", s.Pos, s.Name, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("%s: server '%s': no certificate in ca-file '%s'", s.Pos, s.Name, ca[0])
	}
	host := c.ServerName
	if v := opts["verifyhost"]; len(v) > 0 {
		host = v[0]
	}
	// haproxy checks the chain, and the name only when sni or verifyhost
	// gives one
	c.VerifyConnection = func(st tls.ConnectionState) error {
		if len(st.PeerCertificates) == 0 {
			return errors.New("no server certificate")
		}
		inter := x509.NewCertPool()
		for _, ic := range st.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
		return err
	}
	return c, nil
}

// handshake runs the server side of TLS on an accepted connection within
// timeout (timeout client).
func handshake(c net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	tc := tls.Server(c, cfg)
	// a deadline rather than a context, which would close the socket on
	// timeout: logHandshake still reads what the kernel received
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
		defer c.SetDeadline(time.Time{})
	}
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// halfCloser is a stream that can end its write side: TCP, unix and TLS
// connections.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// streamPump forwards a session of which one side is TLS (so neither the
// event loop nor splice can see its bytes): a goroutine per direction,
// idle timeouts per side, half-close passed on.
func streamPump(a, b halfCloser, to [2]halfTimeouts, end endFunc) {
	type result struct {
		n   int64
		err error
	}
	up := make(chan result, 1)
	copyHalf := func(src, dst halfCloser, idle time.Duration) (int64, error) {
		bp := bufPool.Get()
		defer bufPool.Put(bp)
		var n int64
		for {
			if idle > 0 {
				src.SetReadDeadline(time.Now().Add(idle))
			}
			m, err := src.Read(*bp)
			if m > 0 {
				if idle > 0 {
					dst.SetWriteDeadline(time.Now().Add(idle))
				}
				if _, werr := dst.Write((*bp)[:m]); werr != nil {
					return n, werr
				}
				n += int64(m)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				dst.CloseWrite()
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	}
	go func() {
		n, err := copyHalf(a, b, to[0].idle)
		if err != nil {
			a.Close()
			b.Close()
		}
		up <- result{n, err}
	}()
	down, derr := copyHalf(b, a, to[1].idle)
	if derr != nil {
		a.Close()
		b.Close()
	}
	u := <-up
	a.Close()
	b.Close()
	err, clientSide := u.err, true
	if err == nil {
		err, clientSide = derr, false
	}
	end(u.n, down, err, clientSide)
}

// pumpTLS forwards a session with TLS on either side: the server side
// handshake runs first (within timeout connect), then streamPump.
func (r *Runtime) pumpTLS(fe *frontend, be *backend, sv *server, c net.Conn, rc *releasingConn, ci connInfo, _ *tls.Conn, end endFunc) {
	var srvConn halfCloser = rc.TCPConn
	fail := func(err error) {
		c.Close()
		rc.TCPConn.Close()
		end(0, 0, err, false)
	}
	if sv.srv.SendProxy || sv.srv.SendProxyV2 {
		if _, err := rc.TCPConn.Write(proxyHeader(sv.srv.SendProxyV2, ci.src, ci.dst)); err != nil {
			fail(err)
			return
		}
	}
	if sv.tls != nil {
		tc, err := r.serverHandshake(be, sv, rc.TCPConn, ci)
		if err != nil {
			fail(err)
			return
		}
		srvConn = tc
	}
	cc, ok := c.(halfCloser)
	if !ok {
		fail(errors.New("client connection cannot half-close"))
		return
	}
	t := fe.px.Timeouts
	bt := be.px.Timeouts
	to := [2]halfTimeouts{{idle: t.Client}, {idle: bt.Server}}
	if bt.Tunnel > 0 {
		to[0].idle, to[1].idle = bt.Tunnel, bt.Tunnel
	}
	streamPump(cc, srvConn, to, end)
}

// serverHandshake runs the client side of TLS to a `server ... ssl` within
// timeout connect; `sni ssl_fc_sni` passes the client's server name on.
func (r *Runtime) serverHandshake(be *backend, sv *server, c net.Conn, ci connInfo) (*tls.Conn, error) {
	cfg := sv.tls
	if v := sv.srv.Options["sni"]; len(v) > 0 && v[0] == "ssl_fc_sni" && ci.sni != "" {
		cfg = cfg.Clone()
		cfg.ServerName = ci.sni
	}
	tc := tls.Client(c, cfg)
	ctx := context.Background()
	if d := be.px.Timeouts.Connect; d > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		r.connErrf(be, "server '%s': SSL handshake failure: %v", sv.srv.Name, err)
		return nil, err
	}
	return tc, nil
}
