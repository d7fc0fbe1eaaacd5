package proxy

import (
	"fmt"
	"html"
	"os"
	"strings"
	"time"
)

// pageView is how a request asked to see the page.
type pageView struct {
	uri             string
	admin, refresh  bool
	upOnly, noMaint bool
	done            string
}

// pageCSS colours the rows by state, in the spirit of haproxy's page:
// green up, yellow going down, orange going up, red down, blue draining,
// brown maintenance.
const pageCSS = `body{font-family:arial,helvetica,sans-serif;font-size:12px;background:#fff;color:#000}
h1{font-size:x-large;margin:0 0 .3em} h2{font-size:16px;margin:1em 0 .2em;color:#b00040;background:#e8e8d0;padding:2px 4px}
table{border-collapse:collapse;margin-bottom:.5em} th,td{border:1px solid #999;padding:1px 4px;font-size:11px;text-align:right}
th{background:#20d0d0} td.name{text-align:left;font-weight:bold}
tr.frontend,tr.backend{background:#e0e0ff} .up{background:#c0ffc0} .nocheck{background:#e0ffe0}
.goingdown{background:#ffffa0} .goingup{background:#ffd020} .down{background:#ff9090}
.drain{background:#a0a0ff} .maint{background:#c07820} .bedown{background:#ff9090}
.legend span{padding:0 6px;margin-right:4px;border:1px solid #999} .msg{background:#c0ffc0;padding:3px}`

// rowClass is a row's CSS class (and data-state) from its status.
func rowClass(row *statRow) string {
	st := row.f["status"]
	switch row.typ {
	case rowFrontend:
		return "frontend"
	case rowBackend:
		if st == "DOWN" {
			return "bedown"
		}
		return "backend"
	}
	switch {
	case st == "MAINT":
		return "maint"
	case st == "DRAIN" || st == "NOLB":
		return "drain"
	case st == "no check":
		return "nocheck"
	case strings.HasPrefix(st, "UP "):
		return "goingdown"
	case strings.HasPrefix(st, "DOWN "):
		return "goingup"
	case st == "DOWN":
		return "down"
	}
	return "up"
}

var pageCols = []struct{ title, col string }{
	{"Queue cur", "qcur"}, {"Queue max", "qmax"}, {"Queue limit", "qlimit"},
	{"Sess rate", "rate"}, {"Rate max", "rate_max"},
	{"Sessions cur", "scur"}, {"Sessions max", "smax"}, {"Limit", "slim"}, {"Total", "stot"}, {"LbTot", "lbtot"}, {"Last", "lastsess"},
	{"Bytes in", "bin"}, {"Bytes out", "bout"},
	{"Denied req", "dreq"}, {"Denied resp", "dresp"},
	{"Errors req", "ereq"}, {"Errors conn", "econ"}, {"Errors resp", "eresp"},
	{"Retr", "wretr"}, {"Redis", "wredis"},
	{"Status", "status"}, {"LastChk", "check_status"}, {"Wght", "weight"}, {"Act", "act"}, {"Bck", "bck"},
	{"Chk", "chkfail"}, {"Dwn", "chkdown"}, {"Dwntme", "downtime"},
}

// renderPage writes the HTML stats page.
func (r *Runtime) renderPage(p *statsPage, rows []*statRow, v pageView) string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Statistics Report for gohaka</title>\n")
	if v.refresh {
		fmt.Fprintf(&b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", int(p.px.Stats.Refresh/time.Second))
	}
	fmt.Fprintf(&b, "<style>%s</style></head><body>\n", pageCSS)
	b.WriteString("<h1>gohaka statistics")
	if !p.px.Stats.HideVersion {
		fmt.Fprintf(&b, " <small>version %s</small>", esc(Version))
	}
	b.WriteString("</h1>\n")
	up := time.Since(r.obs.start)
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "<p>pid = %d, uptime = %s, node = %s", pid, humanTime(up), esc(host))
	if !p.px.Stats.HideVersion {
		fmt.Fprintf(&b, ", system limits: maxconn = %d", r.globalMaxconn())
	}
	if v.refresh {
		fmt.Fprintf(&b, ", refresh every %s (<a href=\"%s;norefresh\">stop</a>)", humanTime(p.px.Stats.Refresh), esc(v.uri))
	}
	fmt.Fprintf(&b, ". <a href=\"%s;csv\">CSV export</a> <a href=\"%s;json\">JSON export</a></p>\n", esc(v.uri), esc(v.uri))
	if v.done != "" {
		msg := map[string]string{"DONE": "Action processed successfully.", "PART": "Action partially processed.",
			"NONE": "Nothing has changed.", "ERRP": "Action not processed: invalid parameters."}[v.done]
		fmt.Fprintf(&b, "<p class=\"msg\">%s</p>\n", esc(msg))
	}
	if p.px.Stats.ShowLegends {
		b.WriteString("<p class=\"legend\">")
		for _, c := range []string{"up", "goingdown", "goingup", "down", "drain", "maint", "nocheck"} {
			fmt.Fprintf(&b, "<span class=\"%s\">%s</span>", c, c)
		}
		b.WriteString("</p>\n")
	}
	// rows grouped by proxy, in order
	var cur string
	open := false
	for _, row := range rows {
		if row.typ == rowServer && (v.upOnly && row.bal != 0 || v.noMaint && row.f["status"] == "MAINT") {
			continue
		}
		if row.px != cur {
			if open {
				b.WriteString("</table>\n")
				if v.admin {
					b.WriteString(adminForm())
				}
				b.WriteString("</form>\n")
			}
			cur, open = row.px, true
			fmt.Fprintf(&b, "<h2 id=\"%s\">%s</h2>\n<form method=\"post\" action=\"%s\"><input type=\"hidden\" name=\"b\" value=\"%s\">\n<table class=\"proxy\" data-proxy=\"%s\"><tr><th></th><th>Name</th>",
				esc(row.px), esc(row.px), esc(v.uri), esc(row.px), esc(row.px))
			for _, c := range pageCols {
				fmt.Fprintf(&b, "<th>%s</th>", c.title)
			}
			b.WriteString("</tr>\n")
		}
		cls := rowClass(row)
		fmt.Fprintf(&b, "<tr class=\"%s\" data-proxy=\"%s\" data-name=\"%s\" data-state=\"%s\"><td>", cls, esc(row.px), esc(row.sv), esc(row.f["status"]))
		if v.admin && row.typ == rowServer {
			fmt.Fprintf(&b, "<input type=\"checkbox\" name=\"s\" value=\"%s\">", esc(row.sv))
		}
		fmt.Fprintf(&b, "</td><td class=\"name\">%s</td>", esc(displayName(row)))
		for _, c := range pageCols {
			val := row.f[c.col]
			switch c.col {
			case "downtime", "lastsess":
				if val != "" && val != "-1" {
					val = humanTime(time.Duration(atoiDefault(val)) * time.Second)
				} else if val == "-1" {
					val = ""
				}
			case "check_status":
				if val != "" && row.f["check_duration"] != "" {
					val += " in " + row.f["check_duration"] + "ms"
				}
			case "status":
				if row.typ == rowServer && row.f["lastchg"] != "" {
					val += " " + humanTime(time.Duration(atoiDefault(row.f["lastchg"]))*time.Second)
				}
			}
			fmt.Fprintf(&b, "<td>%s</td>", esc(val))
		}
		b.WriteString("</tr>\n")
	}
	if open {
		b.WriteString("</table>\n")
		if v.admin {
			b.WriteString(adminForm())
		}
		b.WriteString("</form>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

func displayName(row *statRow) string {
	switch row.typ {
	case rowFrontend:
		return "Frontend"
	case rowBackend:
		return "Backend"
	}
	return row.sv
}

func adminForm() string {
	return `<p>Choose the action to perform on the checked servers: <select name="action">` +
		`<option value="">Choose an action</option><option value="ready">Set state to READY</option>` +
		`<option value="drain">Set state to DRAIN</option><option value="maint">Set state to MAINT</option>` +
		`</select> <input type="submit" value="Apply"></p>` + "\n"
}

func atoiDefault(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
