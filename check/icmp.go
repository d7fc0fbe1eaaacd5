package check

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

var icmpSeq atomic.Uint32

// ICMPProbe sends one ICMP echo request to the host of Target.Addr (a port,
// if any, is ignored) and waits for the matching echo reply; it is the
// layer-3 check keepalived's PING_CHECK does. It uses an unprivileged ping
// socket when net.ipv4.ping_group_range allows, a raw socket otherwise.
// Success is L4OK, no reply in time L4TOUT, a socket error L4CON.
func ICMPProbe() Probe {
	return ProbeFunc(func(ctx context.Context, t Target) Result {
		start := time.Now()
		r := pingOnce(ctx, t)
		r.Duration = time.Since(start)
		return r
	})
}

func pingOnce(ctx context.Context, t Target) Result {
	host := t.Addr
	if h, _, err := net.SplitHostPort(t.Addr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return Result{Status: StatusL4CON, Info: "invalid address " + host}
	}
	v4 := ip.To4() != nil
	conn, raw, err := openPing(v4)
	if err != nil {
		return Result{Status: StatusSockErr, Info: errText(err)}
	}
	defer conn.Close()
	deadline := time.Now().Add(t.Timeouts.ConnectTimeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	id := uint16(os.Getpid())
	seq := uint16(icmpSeq.Add(1))
	typ := byte(8) // echo request
	if !v4 {
		typ = 128
	}
	payload := []byte("gohaka-icmp-check")
	msg := []byte{typ, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}
	msg = append(msg, payload...)
	if v4 {
		binary.BigEndian.PutUint16(msg[2:], inetChecksum(msg))
	}
	var dst net.Addr = &net.UDPAddr{IP: ip}
	if raw {
		dst = &net.IPAddr{IP: ip}
	}
	if _, err := conn.WriteTo(msg, dst); err != nil {
		return Result{Status: StatusL4CON, Info: errText(err)}
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) {
				return Result{Status: StatusL4TOUT}
			}
			return Result{Status: StatusL4CON, Info: errText(err)}
		}
		b := buf[:n]
		if raw && v4 && len(b) > 20 && b[0]>>4 == 4 {
			b = b[int(b[0]&0x0f)*4:]
		}
		if len(b) < 8 {
			continue
		}
		reply := byte(0)
		if !v4 {
			reply = 129
		}
		if b[0] != reply {
			continue
		}
		gotSeq := binary.BigEndian.Uint16(b[6:])
		// ping sockets rewrite the identifier; match on sequence then.
		if gotSeq != seq || (raw && binary.BigEndian.Uint16(b[4:]) != id) {
			continue
		}
		return Result{Status: StatusL4OK}
	}
}

// openPing opens an ICMP socket: a ping socket (SOCK_DGRAM) when allowed,
// else a raw one. raw tells which.
func openPing(v4 bool) (net.PacketConn, bool, error) {
	fam, proto := syscall.AF_INET, syscall.IPPROTO_ICMP
	if !v4 {
		fam, proto = syscall.AF_INET6, syscall.IPPROTO_ICMPV6
	}
	fd, err := syscall.Socket(fam, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
	if err == nil {
		f := os.NewFile(uintptr(fd), "icmp")
		c, err := net.FilePacketConn(f)
		f.Close()
		if err == nil {
			return c, false, nil
		}
	}
	network := "ip4:icmp"
	if !v4 {
		network = "ip6:ipv6-icmp"
	}
	c, err2 := net.ListenPacket(network, "")
	if err2 != nil {
		return nil, false, errors.Join(err, err2)
	}
	return c, true, nil
}

// inetChecksum is the RFC 1071 checksum.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
