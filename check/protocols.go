package check

import (
	"encoding/binary"
	"strings"
	"time"
)

// This file holds the built-in check protocols of haproxy 2.6 as rule
// scripts. Step numbers in their messages count the connect rule as step 1.

func builtin(kind string, rules ...Rule) *Script {
	return &Script{Kind: kind, Rules: append([]Rule{{Kind: RuleConnect}}, rules...)}
}

func custom(f func(in []byte, final bool) (bool, Result), err Status) Rule {
	return Rule{Kind: RuleExpect, Expect: &Expect{Kind: ExpectCustom, MinRecv: -1, Custom: f, ErrStatus: err}}
}

// sslCiphers are the 39 SSLv3 cipher suites of haproxy's ssl-hello-chk.
var sslCiphers = func() []uint16 {
	var c []uint16
	for i := uint16(0x01); i <= 0x1b; i++ {
		c = append(c, i)
	}
	for i := uint16(0x2f); i <= 0x3a; i++ {
		c = append(c, i)
	}
	return c
}()

// SSLHello returns the SSLv3 ClientHello haproxy sends for ssl-hello-chk:
// its random is the Unix time (4 bytes) then "HAPROXYSSLCHK\n" twice.
func SSLHello(now time.Time) []byte {
	body := []byte{0x01, 0, 0, 0, 0x03, 0x00}
	body = binary.BigEndian.AppendUint32(body, uint32(now.Unix()))
	body = append(body, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n"...)
	body = append(body, 0) // session id length
	body = binary.BigEndian.AppendUint16(body, uint16(2*len(sslCiphers)))
	for _, c := range sslCiphers {
		body = binary.BigEndian.AppendUint16(body, c)
	}
	body = append(body, 1, 0) // one compression method: null
	hl := len(body) - 4
	body[1], body[2], body[3] = byte(hl>>16), byte(hl>>8), byte(hl)
	rec := []byte{0x16, 0x03, 0x00, byte(len(body) >> 8), byte(len(body))}
	return append(rec, body...)
}

// SSLHelloProbe is "option ssl-hello-chk": any TLS/SSL record of type alert
// (0x15) or handshake (0x16) in reply passes at layer 6.
func SSLHelloProbe() Probe {
	return builtin("ssl-hello-chk",
		Rule{Kind: RuleSend, Dyn: SSLHello},
		Rule{Kind: RuleExpect, Expect: &Expect{Kind: ExpectCustom, MinRecv: 5, ErrStatus: StatusL6RSP, ToutStatus: StatusL6TOUT,
			Custom: func(in []byte, final bool) (bool, Result) {
				if len(in) < 5 {
					return true, Result{}
				}
				if in[0] == 0x15 || in[0] == 0x16 {
					return false, Result{Status: StatusL6OK}
				}
				return false, Result{Status: StatusL6RSP}
			}}})
}

// firstLine returns b up to its first CR or LF.
func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// RedisProbe is "option redis-check": PING must be answered "+PONG".
func RedisProbe() Probe {
	return builtin("redis-check",
		Rule{Kind: RuleSend, Data: []byte("*1\r\n$4\r\nPING\r\n")},
		custom(func(in []byte, final bool) (bool, Result) {
			if strings.Contains(string(in), "+PONG\r\n") {
				return false, Result{Status: StatusL7OK, Info: "Redis server is ok"}
			}
			if !final {
				return true, Result{}
			}
			return false, Result{Status: StatusL7STS, Info: firstLine(in)}
		}, StatusL7STS))
}

// ldapBind is an anonymous LDAPv3 simple bind request, message id 1.
var ldapBind = []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}

// LDAPProbe is "option ldap-check": an anonymous bind whose BindResponse
// must carry resultCode 0.
func LDAPProbe() Probe {
	return builtin("ldap-check",
		Rule{Kind: RuleSend, Data: ldapBind},
		custom(func(in []byte, final bool) (bool, Result) {
			if len(in) < 14 && !final {
				return true, Result{}
			}
			code, ok := parseBindResponse(in)
			switch {
			case !ok:
				return false, Result{Status: StatusL7RSP, Info: "Not LDAPv3 protocol"}
			case code != 0:
				return false, Result{Status: StatusL7STS, Code: code, Info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"}
			}
			return false, Result{Status: StatusL7OK, Info: "Success"}
		}, StatusL7RSP))
}

// berLen reads a BER length at b[i]; it returns the length and the index
// after it.
func berLen(b []byte, i int) (n, next int, ok bool) {
	if i >= len(b) {
		return 0, 0, false
	}
	if b[i] < 0x80 {
		return int(b[i]), i + 1, true
	}
	k := int(b[i] & 0x7f)
	if k == 0 || k > 4 || i+1+k > len(b) {
		return 0, 0, false
	}
	for _, c := range b[i+1 : i+1+k] {
		n = n<<8 | int(c)
	}
	return n, i + 1 + k, true
}

// parseBindResponse finds the resultCode of an LDAP BindResponse.
func parseBindResponse(b []byte) (code int, ok bool) {
	if len(b) < 14 || b[0] != 0x30 {
		return 0, false
	}
	_, i, ok := berLen(b, 1)
	if !ok || i+2 >= len(b) || b[i] != 0x02 {
		return 0, false
	}
	idLen := int(b[i+1])
	i += 2 + idLen
	if i >= len(b) || b[i] != 0x61 {
		return 0, false
	}
	_, i, ok = berLen(b, i+1)
	if !ok || i+2 >= len(b) || b[i] != 0x0a || b[i+1] != 0x01 {
		return 0, false
	}
	return int(b[i+2]), true
}
