package check

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// SMTPProbe is "option smtpchk [HELO|EHLO domain]": a 2xx banner, then the
// greeting command must be answered 2xx; QUIT is sent afterwards.
func SMTPProbe(cmd, domain string) Probe {
	codeLine := func(in []byte) (int, string) {
		l := firstLine(in)
		c, _ := strconv.Atoi(l[:3])
		return c, strings.TrimLeft(l[min(4, len(l)):], " ")
	}
	reply := func(in []byte, final bool) (bool, Result) {
		if len(in) < 4 && !final {
			return true, Result{}
		}
		if len(in) < 4 || !isDigits(in[:3]) || !strings.ContainsRune(" -\r", rune(in[3])) {
			return false, Result{Status: StatusL7RSP, Info: firstLine(in)}
		}
		c, text := codeLine(in)
		if in[0] != '2' {
			return false, Result{Status: StatusL7STS, Code: c, Info: text}
		}
		return false, Result{Status: StatusL7OK, Code: c, Info: text}
	}
	// The banner is checked in two steps (shape, then 2xx) as haproxy
	// does, so that step numbers in messages agree.
	shape := func(in []byte, final bool) (bool, Result) {
		if len(in) < 4 && !final {
			return true, Result{}
		}
		if len(in) < 4 || !isDigits(in[:3]) || !strings.ContainsRune(" \r", rune(in[3])) {
			return false, Result{Status: StatusL7RSP, Info: firstLine(in)}
		}
		return false, Result{Status: StatusL7OK}
	}
	return &Script{Kind: "smtpchk", Rules: []Rule{
		{Kind: RuleConnect, Linger: true},
		custom(shape, StatusL7RSP),
		custom(reply, StatusL7STS),
		{Kind: RuleSend, Data: []byte(cmd + " " + domain + "\r\n")},
		custom(reply, StatusL7STS),
		{Kind: RuleSend, Data: []byte("QUIT\r\n")},
		custom(reply, StatusL7STS),
	}}
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PgSQLProbe is "option pgsql-check user U": a StartupMessage must be
// answered by an Authentication request, not an ErrorResponse.
func PgSQLProbe(user string) Probe {
	msg := []byte{0, 0, 0, 0, 0, 3, 0, 0}
	msg = append(msg, "user\x00"+user+"\x00\x00"...)
	binary.BigEndian.PutUint32(msg, uint32(len(msg)))
	return builtin("pgsql-check",
		Rule{Kind: RuleSend, Data: msg},
		custom(func(in []byte, final bool) (bool, Result) {
			if len(in) < 9 && !final {
				return true, Result{}
			}
			if len(in) >= 1 && in[0] == 'E' {
				info := ""
				if len(in) > 6 {
					info, _, _ = strings.Cut(string(in[6:]), "\x00")
				}
				return false, Result{Status: StatusL7RSP, Info: info}
			}
			if len(in) >= 9 && in[0] == 'R' {
				return false, Result{Status: StatusL7OK, Info: "PostgreSQL server is ok"}
			}
			return false, Result{Status: StatusL7STS, Info: "PostgreSQL unknown error"}
		}, StatusL7RSP))
}

// MySQLLogin returns the login packet (sequence 1) for user followed by a
// COM_QUIT packet, in the post-4.1 or pre-4.1 client format.
func MySQLLogin(user string, post41 bool) []byte {
	var p []byte
	if post41 {
		p = binary.LittleEndian.AppendUint32(p, 0x00008200) // PROTOCOL_41 | SECURE_CONNECTION
		p = binary.LittleEndian.AppendUint32(p, 0x01008000) // max packet, as haproxy sends it
		p = append(p, 0x21)                                 // charset utf8
		p = append(p, make([]byte, 23)...)
	} else {
		p = append(p, 0x00, 0x80)       // SECURE_CONNECTION
		p = append(p, 0x00, 0x00, 0x01) // max packet
	}
	p = append(p, user...)
	p = append(p, 0, 0)
	out := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), 1}
	out = append(out, p...)
	return append(out, 1, 0, 0, 0, 1)
}

// mysqlPacket checks that in holds one complete packet and returns its
// payload.
func mysqlPacket(in []byte) (payload []byte, complete bool) {
	if len(in) < 4 {
		return nil, false
	}
	n := int(in[0]) | int(in[1])<<8 | int(in[2])<<16
	if len(in) < 4+n {
		return nil, false
	}
	return in[4 : 4+n], true
}

func mysqlVerdict(in []byte, final bool, greeting bool) (bool, Result) {
	p, ok := mysqlPacket(in)
	if !ok {
		if !final {
			return true, Result{}
		}
		return false, Result{Status: StatusL7RSP, Info: "Received an incomplete MySQL packet"}
	}
	if len(p) >= 3 && p[0] == 0xff {
		code := int(p[1]) | int(p[2])<<8
		msg := p[3:]
		return false, Result{Status: StatusL7STS, Code: code, Info: string(msg)}
	}
	if greeting {
		if len(p) < 1 || p[0] != 0x0a {
			return false, Result{Status: StatusL7RSP, Info: "Unsupported MySQL protocol version"}
		}
		ver := p[1:]
		if i := strings.IndexByte(string(ver), 0); i >= 0 {
			ver = ver[:i]
		}
		return false, Result{Status: StatusL7OK, Info: string(ver)}
	}
	return false, Result{Status: StatusL7OK}
}

// MySQLProbe is "option mysql-check [user U [post-41|pre-41]]": without a
// user only the server greeting is checked; with one, haproxy logs in with
// an empty password and quits.
func MySQLProbe(user string, post41 bool) Probe {
	rules := []Rule{
		{Kind: RuleConnect, Linger: true},
		custom(func(in []byte, final bool) (bool, Result) { return mysqlVerdict(in, final, true) }, StatusL7RSP),
	}
	if user != "" {
		rules = append(rules,
			Rule{Kind: RuleSend, Data: MySQLLogin(user, post41)},
			custom(func(in []byte, final bool) (bool, Result) { return mysqlVerdict(in, final, false) }, StatusL7RSP))
	}
	return &Script{Kind: "mysql-check", Rules: rules}
}
