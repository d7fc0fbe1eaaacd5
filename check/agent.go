package check

import "bytes"

// AgentProbe is haproxy's agent-check: connect to the agent (Target.Addr
// carries agent-addr/agent-port), send agent-send when set, and read one
// line. The Result carries the parsed reply; its status is L7OK for "up",
// L7STS for down/fail/stopped and CHECKED when the line has no health word.
// Failing to reach the agent gives L4CON/L4TOUT/L7RSP, which never mark a
// server down.
func AgentProbe(send string) Probe {
	rules := []Rule{{Kind: RuleConnect}}
	if send != "" {
		rules = append(rules, Rule{Kind: RuleSend, Data: []byte(send)})
	}
	rules = append(rules, custom(func(in []byte, final bool) (bool, Result) {
		if !final && bytes.IndexAny(in, "\r\n") < 0 {
			return true, Result{}
		}
		return false, ParseAgentReply(string(in)).Result()
	}, StatusL7RSP))
	return &Script{Kind: "agent", Rules: rules}
}
