package check

import (
	"strconv"
	"strings"
	"time"
)

// Status is the outcome code of one check, named as haproxy names it in its
// logs and in the check_status column of the stats CSV.
type Status uint8

// Check statuses, in haproxy's order (the order matters: statuses from
// StatusL7OK on carry a code in log lines).
const (
	StatusUnknown  Status = iota // UNK: no result yet
	StatusInit                   // INI: initializing
	StatusChecked                // CHECKED: agent reply without a health word
	StatusHANA                   // HANA: health analyze (observe)
	StatusSockErr                // SOCKERR: socket error
	StatusL4OK                   // L4OK: connection accepted
	StatusL4TOUT                 // L4TOUT: connect timeout
	StatusL4CON                  // L4CON: connection refused or other L4 error
	StatusL6OK                   // L6OK: TLS/SSL hello answered
	StatusL6TOUT                 // L6TOUT: layer 6 timeout
	StatusL6RSP                  // L6RSP: invalid layer 6 reply
	StatusL7TOUT                 // L7TOUT: layer 7 timeout
	StatusL7RSP                  // L7RSP: invalid layer 7 reply
	StatusL7OK                   // L7OK: layer 7 check passed
	StatusL7OKC                  // L7OKC: conditionally passed (disable-on-404)
	StatusL7STS                  // L7STS: wrong status (HTTP code, agent down, ...)
	StatusProcErr                // PROCERR: external check error
	StatusProcTOUT               // PROCTOUT: external check timeout
	StatusProcOK                 // PROCOK: external check passed
)

// Outcome says what a status means for the health counters.
type Outcome uint8

// Outcomes of a check.
const (
	OutcomeNone     Outcome = iota // not a finished check (UNK, INI)
	OutcomeNeutral                 // no health change (CHECKED)
	OutcomeFailed                  // counts as a failure
	OutcomePassed                  // counts as a success
	OutcomeCondPass                // success that asks for the NOLB state
)

type statusInfo struct {
	name, desc string
	outcome    Outcome
}

var statusTable = [...]statusInfo{
	StatusUnknown:  {"UNK", "Unknown", OutcomeNone},
	StatusInit:     {"INI", "Initializing", OutcomeNone},
	StatusChecked:  {"CHECKED", "No status change", OutcomeNeutral},
	StatusHANA:     {"HANA", "Health analyze", OutcomeFailed},
	StatusSockErr:  {"SOCKERR", "Socket error", OutcomeFailed},
	StatusL4OK:     {"L4OK", "Layer4 check passed", OutcomePassed},
	StatusL4TOUT:   {"L4TOUT", "Layer4 timeout", OutcomeFailed},
	StatusL4CON:    {"L4CON", "Layer4 connection problem", OutcomeFailed},
	StatusL6OK:     {"L6OK", "Layer6 check passed", OutcomePassed},
	StatusL6TOUT:   {"L6TOUT", "Layer6 timeout", OutcomeFailed},
	StatusL6RSP:    {"L6RSP", "Layer6 invalid response", OutcomeFailed},
	StatusL7TOUT:   {"L7TOUT", "Layer7 timeout", OutcomeFailed},
	StatusL7RSP:    {"L7RSP", "Layer7 invalid response", OutcomeFailed},
	StatusL7OK:     {"L7OK", "Layer7 check passed", OutcomePassed},
	StatusL7OKC:    {"L7OKC", "Layer7 check conditionally passed", OutcomeCondPass},
	StatusL7STS:    {"L7STS", "Layer7 wrong status", OutcomeFailed},
	StatusProcErr:  {"PROCERR", "External check error", OutcomeFailed},
	StatusProcTOUT: {"PROCTOUT", "External check timeout", OutcomeFailed},
	StatusProcOK:   {"PROCOK", "External check passed", OutcomePassed},
}

func (s Status) info() statusInfo {
	if int(s) < len(statusTable) {
		return statusTable[s]
	}
	return statusTable[StatusUnknown]
}

// String returns haproxy's short name, e.g. "L4CON".
func (s Status) String() string { return s.info().name }

// Desc returns haproxy's description, e.g. "Layer4 connection problem", the
// text that follows "reason:" in log lines.
func (s Status) Desc() string { return s.info().desc }

// Outcome tells how the status counts for rise/fall.
func (s Status) Outcome() Outcome { return s.info().outcome }

// HasCode reports whether log lines show a "code:" for this status.
func (s Status) HasCode() bool { return s >= StatusL7OK }

// ParseStatus maps a short name ("L7OK") back to its Status.
func ParseStatus(name string) (Status, bool) {
	for i, si := range statusTable {
		if strings.EqualFold(si.name, name) {
			return Status(i), true
		}
	}
	return StatusUnknown, false
}

// Result is what one probe run found.
type Result struct {
	Status   Status
	Code     int           // HTTP status, LDAP/SMTP/MySQL code, 0 when none
	Info     string        // haproxy's "info" text, may be empty
	Duration time.Duration // time from the start of the check to its verdict
	// Reply is the parsed agent reply, set only by the agent probe when the
	// agent answered a line.
	Reply *AgentReply
}

// Passed reports whether the result counts as a success (L7OKC included).
func (r Result) Passed() bool {
	o := r.Status.Outcome()
	return o == OutcomePassed || o == OutcomeCondPass
}

// Text renders the result as haproxy does after "reason: " in its logs:
// `Layer4 connection problem, info: "Connection refused", check duration: 0ms`.
func (r Result) Text() string {
	var b strings.Builder
	b.WriteString(r.Status.Desc())
	if r.Status.HasCode() {
		b.WriteString(", code: ")
		b.WriteString(strconv.Itoa(r.Code))
	}
	if r.Info != "" {
		b.WriteString(`, info: "`)
		b.WriteString(r.Info)
		b.WriteString(`"`)
	}
	if r.Duration >= 0 {
		b.WriteString(", check duration: ")
		b.WriteString(strconv.FormatInt(r.Duration.Milliseconds(), 10))
		b.WriteString("ms")
	}
	return b.String()
}
