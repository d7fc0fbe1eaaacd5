package check

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotImplemented marks a configuration gohaka accepts but does not fully
// honour. Build returns it wrapped, together with a usable probe, so that
// the caller can warn with the line and go on.
var ErrNotImplemented = errors.New("not implemented")

// Spec is a backend's health check as configured: the check option, its
// arguments, and the http-check / tcp-check lines in order.
type Spec struct {
	// Type is "" (plain connect check), "httpchk", "tcp-check",
	// "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check",
	// "smtpchk" or "ldap-check".
	Type string
	// Args are the words after the option name ("option httpchk GET /").
	Args []string
	// HTTPCheck and TCPCheck hold one line per rule; a leading
	// "http-check"/"tcp-check" word is allowed and skipped.
	HTTPCheck [][]string
	TCPCheck  [][]string
	// DisableOn404 is "http-check disable-on-404".
	DisableOn404 bool
}

// Build compiles the spec into a probe. Unknown options are errors naming
// the word, so that the caller can report them with the line; parts that
// are accepted but ignored come back as an error wrapping
// ErrNotImplemented next to a usable probe.
func Build(spec Spec) (Probe, error) {
	switch spec.Type {
	case "":
		return TCPProbe(), nil
	case "tcp-check":
		return buildTCPCheck(spec.TCPCheck)
	case "httpchk":
		return buildHTTPCheck(spec)
	case "ssl-hello-chk":
		return SSLHelloProbe(), nil
	case "redis-check":
		return RedisProbe(), nil
	case "ldap-check":
		return LDAPProbe(), nil
	case "smtpchk":
		cmd, dom := "HELO", "localhost"
		if len(spec.Args) >= 2 && (strings.EqualFold(spec.Args[0], "HELO") || strings.EqualFold(spec.Args[0], "EHLO")) {
			cmd, dom = spec.Args[0], spec.Args[1]
		}
		return SMTPProbe(cmd, dom), nil
	case "pgsql-check":
		if len(spec.Args) < 2 || spec.Args[0] != "user" {
			return nil, fmt.Errorf("option pgsql-check needs 'user <username>'")
		}
		return PgSQLProbe(spec.Args[1]), nil
	case "mysql-check":
		user, post41 := "", true
		if len(spec.Args) >= 2 && spec.Args[0] == "user" {
			user = spec.Args[1]
			if len(spec.Args) >= 3 {
				switch spec.Args[2] {
				case "post-41":
				case "pre-41":
					post41 = false
				default:
					return nil, fmt.Errorf("option mysql-check: unknown argument %q", spec.Args[2])
				}
			}
		} else if len(spec.Args) > 0 {
			return nil, fmt.Errorf("option mysql-check: unknown argument %q", spec.Args[0])
		}
		return MySQLProbe(user, post41), nil
	}
	return nil, fmt.Errorf("check type %q is not implemented", spec.Type)
}
