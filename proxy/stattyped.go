package proxy

import (
	"fmt"
	"strconv"
	"strings"
)

// statTags gives, per row type and column, haproxy 2.6's typed-output
// tags (origin, nature, scope) and value type, as `show stat typed`
// prints them (read from haproxy 2.6.12's output). The entries marked
// "assumed" are columns that were empty in the sample and carry the tags
// of their frontend/backend twin.
var statTags = map[string]string{
	"B.pxname":                           "KNS:str",
	"B.svname":                           "KNS:str",
	"B.qcur":                             "MGP:u32",
	"B.qmax":                             "MMP:u32",
	"B.scur":                             "MGP:u32",
	"B.smax":                             "MMP:u32",
	"B.slim":                             "CLP:u32",
	"B.stot":                             "MCP:u64",
	"B.bin":                              "MCP:u64",
	"B.bout":                             "MCP:u64",
	"B.dreq":                             "MCP:u64",
	"B.dresp":                            "MCP:u64",
	"B.econ":                             "MCP:u64",
	"B.eresp":                            "MCP:u64",
	"B.wretr":                            "MCP:u64",
	"B.wredis":                           "MCP:u64",
	"B.status":                           "SGP:str",
	"B.weight":                           "MaP:u32",
	"B.act":                              "MGP:u32",
	"B.bck":                              "MGP:u32",
	"B.chkdown":                          "MCP:u64",
	"B.lastchg":                          "MAP:u32",
	"B.downtime":                         "MCP:u32",
	"B.pid":                              "KGP:u32",
	"B.iid":                              "KGS:u32",
	"B.sid":                              "KGS:u32",
	"B.lbtot":                            "MCP:u64",
	"B.type":                             "CGS:u32",
	"B.rate":                             "MGP:u32",
	"B.rate_max":                         "MGP:u32",
	"B.cli_abrt":                         "MCP:u64",
	"B.srv_abrt":                         "MCP:u64",
	"B.comp_in":                          "MCP:u64",
	"B.comp_out":                         "MCP:u64",
	"B.comp_byp":                         "MCP:u64",
	"B.comp_rsp":                         "MCP:u64",
	"B.lastsess":                         "MAP:s32",
	"B.qtime":                            "MaP:u32",
	"B.ctime":                            "MaP:u32",
	"B.rtime":                            "MaP:u32",
	"B.ttime":                            "MaP:u32",
	"B.mode":                             "CGS:str",
	"B.algo":                             "CGS:str",
	"B.wrew":                             "MCP:u64",
	"B.connect":                          "MCP:u64",
	"B.reuse":                            "MCP:u64",
	"B.qtime_max":                        "MMP:u32",
	"B.ctime_max":                        "MMP:u32",
	"B.rtime_max":                        "MMP:u32",
	"B.ttime_max":                        "MMP:u32",
	"B.eint":                             "MCP:u64",
	"B.uweight":                          "MaP:u32",
	"B.agg_server_status":                "MGP:u32",
	"B.agg_server_check_status":          "MGP:u32",
	"B.agg_check_status":                 "MGP:u32",
	"B.ssl_sess":                         "MCP:u64",
	"B.ssl_reused_sess":                  "MCP:u64",
	"B.ssl_failed_handshake":             "MCP:u64",
	"B.h2_headers_rcvd":                  "MCP:u64",
	"B.h2_data_rcvd":                     "MCP:u64",
	"B.h2_settings_rcvd":                 "MCP:u64",
	"B.h2_rst_stream_rcvd":               "MCP:u64",
	"B.h2_goaway_rcvd":                   "MCP:u64",
	"B.h2_detected_conn_protocol_errors": "MCP:u64",
	"B.h2_detected_strm_protocol_errors": "MCP:u64",
	"B.h2_rst_stream_resp":               "MCP:u64",
	"B.h2_goaway_resp":                   "MCP:u64",
	"B.h2_open_connections":              "MGP:u64",
	"B.h2_backend_open_streams":          "MGP:u64",
	"B.h2_total_connections":             "MCP:u64",
	"B.h2_backend_total_streams":         "MCP:u64",
	"B.h1_open_connections":              "MGP:u64",
	"B.h1_open_streams":                  "MGP:u64",
	"B.h1_total_connections":             "MCP:u64",
	"B.h1_total_streams":                 "MCP:u64",
	"B.h1_bytes_in":                      "MCP:u64",
	"B.h1_bytes_out":                     "MCP:u64",
	"B.h1_spliced_bytes_in":              "MCP:u64",
	"B.h1_spliced_bytes_out":             "MCP:u64",
	"F.pxname":                           "KNS:str",
	"F.svname":                           "KNS:str",
	"F.scur":                             "MGP:u32",
	"F.smax":                             "MMP:u32",
	"F.slim":                             "CLP:u32",
	"F.stot":                             "MCP:u64",
	"F.bin":                              "MCP:u64",
	"F.bout":                             "MCP:u64",
	"F.dreq":                             "MCP:u64",
	"F.dresp":                            "MCP:u64",
	"F.ereq":                             "MCP:u64",
	"F.status":                           "SGP:str",
	"F.pid":                              "KGP:u32",
	"F.iid":                              "KGS:u32",
	"F.sid":                              "KGS:u32",
	"F.type":                             "CGS:u32",
	"F.rate":                             "MRP:u32",
	"F.rate_lim":                         "CLP:u32",
	"F.rate_max":                         "MMP:u32",
	"F.req_rate":                         "MRP:u32",
	"F.req_rate_max":                     "MMP:u32",
	"F.req_tot":                          "MCP:u64",
	"F.comp_in":                          "MCP:u64",
	"F.comp_out":                         "MCP:u64",
	"F.comp_byp":                         "MCP:u64",
	"F.comp_rsp":                         "MCP:u64",
	"F.mode":                             "CGS:str",
	"F.conn_rate":                        "MRP:u32",
	"F.conn_rate_max":                    "MMP:u32",
	"F.conn_tot":                         "MCP:u64",
	"F.dcon":                             "MCP:u64",
	"F.dses":                             "MCP:u64",
	"F.wrew":                             "MCP:u64",
	"F.eint":                             "MCP:u64",
	"F.ssl_sess":                         "MCP:u64",
	"F.ssl_reused_sess":                  "MCP:u64",
	"F.ssl_failed_handshake":             "MCP:u64",
	"F.h2_headers_rcvd":                  "MCP:u64",
	"F.h2_data_rcvd":                     "MCP:u64",
	"F.h2_settings_rcvd":                 "MCP:u64",
	"F.h2_rst_stream_rcvd":               "MCP:u64",
	"F.h2_goaway_rcvd":                   "MCP:u64",
	"F.h2_detected_conn_protocol_errors": "MCP:u64",
	"F.h2_detected_strm_protocol_errors": "MCP:u64",
	"F.h2_rst_stream_resp":               "MCP:u64",
	"F.h2_goaway_resp":                   "MCP:u64",
	"F.h2_open_connections":              "MGP:u64",
	"F.h2_backend_open_streams":          "MGP:u64",
	"F.h2_total_connections":             "MCP:u64",
	"F.h2_backend_total_streams":         "MCP:u64",
	"F.h1_open_connections":              "MGP:u64",
	"F.h1_open_streams":                  "MGP:u64",
	"F.h1_total_connections":             "MCP:u64",
	"F.h1_total_streams":                 "MCP:u64",
	"F.h1_bytes_in":                      "MCP:u64",
	"F.h1_bytes_out":                     "MCP:u64",
	"F.h1_spliced_bytes_in":              "MCP:u64",
	"F.h1_spliced_bytes_out":             "MCP:u64",
	"S.pxname":                           "KNS:str",
	"S.svname":                           "KNS:str",
	"S.qcur":                             "MGP:u32",
	"S.qmax":                             "MMP:u32",
	"S.scur":                             "MGP:u32",
	"S.smax":                             "MMP:u32",
	"S.stot":                             "MCP:u64",
	"S.bin":                              "MCP:u64",
	"S.bout":                             "MCP:u64",
	"S.dresp":                            "MCP:u64",
	"S.econ":                             "MCP:u64",
	"S.eresp":                            "MCP:u64",
	"S.wretr":                            "MCP:u64",
	"S.wredis":                           "MCP:u64",
	"S.status":                           "SGP:str",
	"S.weight":                           "MaP:u32",
	"S.act":                              "SGP:u32",
	"S.bck":                              "SGP:u32",
	"S.lastchg":                          "MAP:u32",
	"S.pid":                              "KGP:u32",
	"S.iid":                              "KGS:u32",
	"S.sid":                              "KGS:u32",
	"S.lbtot":                            "MCP:u64",
	"S.type":                             "CGS:u32",
	"S.rate":                             "MRP:u32",
	"S.rate_max":                         "MMP:u32",
	"S.cli_abrt":                         "MCP:u64",
	"S.srv_abrt":                         "MCP:u64",
	"S.lastsess":                         "MAP:s32",
	"S.qtime":                            "MaP:u32",
	"S.ctime":                            "MaP:u32",
	"S.rtime":                            "MaP:u32",
	"S.ttime":                            "MaP:u32",
	"S.addr":                             "CGS:str",
	"S.mode":                             "CGS:str",
	"S.wrew":                             "MCP:u64",
	"S.connect":                          "MCP:u64",
	"S.reuse":                            "MCP:u64",
	"S.srv_icur":                         "MGP:u32",
	"S.qtime_max":                        "MMP:u32",
	"S.ctime_max":                        "MMP:u32",
	"S.rtime_max":                        "MMP:u32",
	"S.ttime_max":                        "MMP:u32",
	"S.eint":                             "MCP:u64",
	"S.idle_conn_cur":                    "MGP:u32",
	"S.safe_conn_cur":                    "MGP:u32",
	"S.used_conn_cur":                    "MGP:u32",
	"S.need_conn_est":                    "MGP:u32",
	"S.uweight":                          "MaP:u32",
	"S.ssl_sess":                         "MCP:u64",
	"S.ssl_reused_sess":                  "MCP:u64",
	"S.ssl_failed_handshake":             "MCP:u64",
	"S.chkfail":                          "MCP:u64",
	"S.chkdown":                          "MCP:u64",
	"S.downtime":                         "MCP:u32",
	"S.check_status":                     "MOP:str",
	"S.check_duration":                   "MDP:u64",
	"S.last_chk":                         "MOP:str",
	"S.check_desc":                       "MOP:str",
	"S.check_rise":                       "CGS:u32",
	"S.check_fall":                       "CGS:u32",
	"S.check_health":                     "CGS:u32", "S.slim": "CLP:u32", // assumed
	"S.qlimit":     "CLP:u32", // assumed
	"S.check_code": "MOP:u32", // assumed
	"S.throttle":   "MAP:u32", // assumed
}

var (
	originNames = map[byte]string{'C': "Config", 'K': "Key", 'M': "Metric", 'S': "Status"}
	natureNames = map[byte]string{'A': "Age", 'C': "Counter", 'D': "Duration", 'G': "Gauge", 'L': "Limit", 'M': "Max", 'N': "Name", 'O': "Output", 'R': "Rate", 'a': "Avg"}
	scopeNames  = map[byte]string{'P': "Process", 'S': "Service"}
)

// typedFields yields the non-empty fields of a row with their position,
// tags and type.
func typedFields(row *statRow, fn func(pos int, name, tags, typ, val string)) {
	t := string("FBS"[row.typ])
	pos := 0
	for i, v := range row.fields() {
		name := statCols[i].name
		if name == "-" {
			continue // the CSV's separator before the module columns has no position
		}
		pos++
		if _, set := row.f[name]; v == "" && !(set && name == "last_chk") {
			continue // an empty string haproxy still sets: the last check's info
		}
		tt, ok := statTags[t+"."+name]
		if !ok {
			continue
		}
		tags, typ, _ := strings.Cut(tt, ":")
		fn(pos-1, name, tags, typ, v)
	}
}

func rowIDs(row *statRow) (iid, sid string) {
	iid = row.f["iid"]
	sid = row.f["sid"]
	if sid == "" {
		sid = "0"
	}
	return
}

// statTyped renders `show stat typed`.
func statTyped(rows []*statRow) string {
	var b strings.Builder
	for _, row := range rows {
		iid, sid := rowIDs(row)
		t := "FBS"[row.typ]
		typedFields(row, func(pos int, name, tags, typ, val string) {
			fmt.Fprintf(&b, "%c.%s.%s.%d.%s.1:%s:%s:%s\n", t, iid, sid, pos, name, tags, typ, val)
		})
	}
	return b.String()
}

// statJSON renders `show stat json`.
func statJSON(rows []*statRow) string {
	var b strings.Builder
	b.WriteString("[")
	for ri, row := range rows {
		if ri > 0 {
			b.WriteString(",")
		}
		iid, sid := rowIDs(row)
		obj := [...]string{"Frontend", "Backend", "Server"}[row.typ]
		b.WriteString("[")
		first := true
		typedFields(row, func(pos int, name, tags, typ, val string) {
			if !first {
				b.WriteString(",")
			}
			first = false
			jv := val
			if typ == "str" {
				jv = strconv.Quote(val)
			}
			fmt.Fprintf(&b, `{"objType":"%s","proxyId":%s,"id":%s,"field":{"pos":%d,"name":"%s"},"processNum":1,"tags":{"origin":"%s","nature":"%s","scope":"%s"},"value":{"type":"%s","value":%s}}`,
				obj, iid, sid, pos, name, originNames[tags[0]], natureNames[tags[1]], scopeNames[tags[2]], typ, jv)
		})
		b.WriteString("]")
	}
	b.WriteString("]\n")
	return b.String()
}
