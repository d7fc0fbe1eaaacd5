package parser

// This file warns, as haproxy -c does, about rules written after rules
// of a kind that runs later: they still run first.

// ruleOrder lists rule kinds in the order haproxy runs them; a rule of a
// kind warns about the first kind after it that the proxy already has.
var ruleOrder = []string{"tcp-request connection", "tcp-request session", "tcp-request content", "monitor fail",
	"http-request", "redirect", "use_backend", "use-server"}

// ruleShown is how haproxy names the rule being placed (its first word,
// but for monitor fail) and the article it gives the rule placed before.
var ruleShown = map[string]string{"tcp-request connection": "tcp-request", "tcp-request session": "tcp-request",
	"tcp-request content": "tcp-request", "monitor fail": "monitor fail", "http-request": "http-request", "redirect": "redirect"}

// warnMisplaced warns when a rule of kind key follows one of a kind that
// runs after it; seen records the kinds the proxy has so far.
func (r *haReader) warnMisplaced(px *Proxy, key string, at Pos) {
	shown, ok := ruleShown[key]
	if !ok {
		return
	}
	after := false
	for _, k := range ruleOrder {
		if k == key {
			after = true
			continue
		}
		if !after || !px.ruleSeen[k] {
			continue
		}
		article := "a"
		if k == "http-request" {
			article = "an"
		}
		r.d.Warnf(at, "a '%s' rule placed after %s '%s' rule will still be processed before.", shown, article, k)
		return
	}
}

// noteRule records that the proxy has a rule of kind key.
func (px *Proxy) noteRule(key string) {
	for _, k := range ruleOrder {
		if k == key {
			if px.ruleSeen == nil {
				px.ruleSeen = map[string]bool{}
			}
			px.ruleSeen[k] = true
		}
	}
}
