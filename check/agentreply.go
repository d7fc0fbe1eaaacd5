package check

import (
	"strconv"
	"strings"
)

// AgentReply is one parsed line of an agent-check answer.
type AgentReply struct {
	Health        string // "up", "down", "stopped", "fail" as written, or ""
	Admin         string // "ready", "drain", "maint" (lower case) or ""
	WeightPercent int    // -1 when absent
	Maxconn       int    // -1 when absent
	Desc          string // text after a word starting with '#'
	Err           string // first word that was not understood
	Warning       string // problem with the weight word
}

// ParseAgentReply parses one agent line as haproxy 2.6 does: words are
// separated by spaces, tabs or commas and are case-insensitive; "N%" sets
// the weight relative to the configured one, "maxconn:N" the maxconn,
// ready/drain/maint the administrative mode, up/down/stopped/fail the
// health, and a word starting with '#' begins a description. The line ends
// at the first CR or LF.
func ParseAgentReply(line string) *AgentReply {
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	a := &AgentReply{WeightPercent: -1, Maxconn: -1}
	rest := line
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			break
		}
		if rest[0] == '#' {
			a.Desc = strings.TrimLeft(rest[1:], " \t")
			break
		}
		end := strings.IndexAny(rest, " \t,")
		if end < 0 {
			end = len(rest)
		}
		w := rest[:end]
		rest = rest[end:]
		lw := strings.ToLower(w)
		switch {
		case lw == "ready" || lw == "drain" || lw == "maint":
			a.Admin = lw
		case lw == "up" || lw == "down" || lw == "stopped" || lw == "fail":
			a.Health = w
		case strings.HasPrefix(lw, "maxconn:"):
			if n, err := strconv.Atoi(w[len("maxconn:"):]); err == nil && n >= 0 {
				a.Maxconn = n
			} else if a.Err == "" {
				a.Err = w
			}
		case w[0] >= '0' && w[0] <= '9' && strings.Contains(w, "%"):
			a.parseWeight(w)
		default:
			if a.Err == "" {
				a.Err = w
			}
		}
	}
	return a
}

func (a *AgentReply) parseWeight(w string) {
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(w[:i])
	if err != nil || n > 1<<20 {
		n = 1 << 20 // clamped later to MaxWeight
	}
	if w[i:] != "%" {
		a.Warning = "Trailing garbage in weight string"
		return
	}
	a.WeightPercent = n
}

// Result turns the reply into the check result haproxy records for it.
func (a *AgentReply) Result() Result {
	r := Result{Status: StatusChecked, Reply: a}
	if a.Health != "" {
		r.Status = StatusL7STS
		if strings.EqualFold(a.Health, "up") {
			r.Status = StatusL7OK
		}
		msg := a.Desc
		if msg == "" || r.Status == StatusL7OK {
			if a.Err != "" {
				msg = a.Err
			} else if a.Warning != "" {
				msg = a.Warning
			}
		}
		r.Info = "via agent : " + a.Health
		if msg != "" {
			r.Info += " (" + msg + ")"
		}
		return r
	}
	if a.Err != "" {
		r.Info = "agent reports an error : " + a.Err
	} else if a.Warning != "" {
		r.Info = "agent warns : " + a.Warning
	}
	return r
}
