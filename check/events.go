package check

import (
	"strconv"
	"strings"
)

// Event is what one result (or administrative change) did to a server.
type Event struct {
	Server   string // "backend/server"
	Backup   bool
	Agent    bool  // the result came from the agent check
	From, To State // server state before and after; equal when unchanged
	Result   Result
	// Health, Rise and Fall are the counter of the check that produced the
	// event (the agent's when Agent is set), after the result.
	Health, Rise, Fall int
	Weight             int  // current weight after the event
	Maxconn            int  // agent-set maxconn, 0 when never set
	WeightChanged      bool // an agent reply changed the weight
	MaxconnChanged     bool // an agent reply changed maxconn
	// Report is set when haproxy logs this result under
	// "option log-health-checks" (status or counter changed).
	Report bool
	// Failed is set when the result counted as a failed check (haproxy's
	// chkfail counter).
	Failed bool
}

// Changed reports whether the server's state changed.
func (e Event) Changed() bool { return e.From != e.To }

// HealthLog renders the line haproxy logs for this result with
// "option log-health-checks", e.g. `Health check for server be/s1 failed,
// reason: Layer4 connection problem, info: "Connection refused", check
// duration: 0ms, status: 0/2 DOWN.`
func (e Event) HealthLog() string {
	var b strings.Builder
	if e.Agent {
		b.WriteString("Agent check for ")
	} else {
		b.WriteString("Health check for ")
	}
	if e.Backup {
		b.WriteString("backup ")
	}
	b.WriteString("server ")
	b.WriteString(e.Server)
	o := e.Result.Status.Outcome()
	if o == OutcomeCondPass {
		b.WriteString(" conditionally")
	}
	if o == OutcomePassed || o == OutcomeCondPass {
		b.WriteString(" succeeded")
	} else {
		b.WriteString(" failed")
	}
	b.WriteString(", reason: ")
	b.WriteString(e.Result.Text())
	b.WriteString(", status: ")
	if e.Health >= e.Rise {
		b.WriteString(strconv.Itoa(e.Health - e.Rise + 1))
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(e.Fall))
		if e.Weight > 0 {
			b.WriteString(" UP.")
		} else {
			b.WriteString(" DRAIN.")
		}
	} else {
		b.WriteString(strconv.Itoa(e.Health))
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(e.Rise))
		b.WriteString(" DOWN.")
	}
	return b.String()
}

// StateLog renders the head of haproxy's state-change line, e.g.
// `Server be/s1 is DOWN, reason: Layer4 connection problem, info:
// "Connection refused", check duration: 0ms`. haproxy omits the reason when
// option log-health-checks already logged it (withReason=false). The caller
// appends the counts: for a server going away ". N active and M backup
// servers left. S sessions active, R requeued, Q remaining in queue.", for
// one coming back ". N active and M backup servers online. R sessions
// requeued, Q total in queue." It returns "" when the state did not change.
func (e Event) StateLog(withReason bool) string {
	if !e.Changed() {
		return ""
	}
	head := "Server "
	if e.Backup {
		head = "Backup Server "
	}
	head += e.Server
	reason := ""
	if withReason && e.Result.Status.Outcome() != OutcomeNone {
		reason = ", reason: " + e.Result.Text()
	}
	switch {
	case e.To == StateMaint:
		return head + " is going DOWN for maintenance"
	case e.From == StateMaint && e.To == StateUp:
		return head + " is UP/READY (leaving forced maintenance)"
	case e.From == StateMaint:
		return head + " is " + e.To.String() + " (leaving forced maintenance)"
	case e.To == StateDrain:
		return head + " enters drain state"
	case e.From == StateDrain && e.To == StateUp:
		return head + " is UP (leaving forced drain)"
	case e.To == StateDown:
		return head + " is DOWN" + reason
	case e.To == StateNoLB:
		return head + " is stopping" + reason
	}
	return head + " is UP" + reason
}
