package main

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy"
)

// refusedAt splits a runtime refusal "file:line:col: message".
var refusedAt = regexp.MustCompile(`^(.*?):(\d+):(\d+): (.*)$`)

// runtimeRefusal builds the forwarding runtime from cfg without starting
// it, as `gohaka run` would, and turns a refusal of something gohaka
// does not do yet into a not-implemented warning at its place: check
// never passes cleanly what run then refuses. Other failures (a missing
// certificate under --offline, say) are the parser's to report.
func runtimeRefusal(cfg *parser.Config) (parser.Diag, bool) {
	if len(cfg.Proxies) == 0 {
		return parser.Diag{}, false
	}
	_, err := proxy.New(cfg, proxy.Options{})
	if err == nil || !strings.Contains(err.Error(), "gohaka") {
		return parser.Diag{}, false
	}
	d := parser.Diag{Sev: parser.Warning, NotImpl: true, Msg: "gohaka run refuses this config: " + err.Error()}
	if m := refusedAt.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		d.Pos = parser.Pos{File: m[1], Line: line, Col: col}
		d.Msg = "gohaka run refuses this config: " + m[4]
	}
	return d, true
}
