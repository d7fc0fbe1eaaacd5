package proxy

import (
	"bytes"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// haproxy's `option httplog` and `option httplog clf` formats.
const (
	httpLogFormat    = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	httpLogFormatCLF = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
)

// requestFormat is the log-format of an http frontend's requests, "" when
// they are not logged line by line.
func requestFormat(px *parser.Proxy) string {
	switch {
	case px.LogFormat != "":
		return px.LogFormat
	case px.OptionOn("httplog"):
		for _, a := range px.Options["httplog"].Args {
			if a == "clf" {
				return httpLogFormatCLF
			}
		}
		return httpLogFormat
	case px.OptionOn("tcplog"):
		return tcpLogFormat
	}
	return ""
}

// httpTx is what the log line of one http request reports.
type httpTx struct {
	id               int64     // %rt
	uid              string    // %ID
	accept           time.Time // the stream's start: accept, or the previous request's end
	first            time.Time // the first byte of the request
	headDone         time.Time
	end              time.Time
	tw, tc, tr       time.Duration
	server           bool // a server connection was used (Tw/Tc valid)
	connFailed       bool // a server was picked but the connection failed (Tw valid)
	gotResp          bool // Tr valid
	status           int
	in, out          int64
	beName           string // the backend, or the frontend when none was reached
	sv               *server
	term             string
	retries          int
	redispatched     bool
	method, uri, ver []byte
	badReq           bool
	noTR             bool     // tarpit, reject: TR and Tq are -1, as in haproxy
	tarpit           bool     // Tw is the time held in the tarpit
	reqCaps, resCaps []string // captured headers, nil when none are configured
	cached           bool     // answered from the cache: the server is <CACHE>
}

// logRequest emits the request's log line where the frontend logs.
func (h *hconn) logRequest(tx *httpTx) {
	ls := h.r.obs.logs
	px := h.fe.px
	if ls == nil || ls.byProxy[px] == nil {
		return
	}
	format := requestFormat(px)
	if format == "" {
		return
	}
	if px.OptionOn("dontlognull") && tx.in == 0 {
		return
	}
	v, _ := ls.counts.LoadOrStore(px, new(atomic.Int64))
	h.r.mu.Lock()
	ac := len(h.r.sessions)
	h.r.mu.Unlock()
	lv := &logVars{r: h.r, s: h.s, end: tx.end, ac: ac, lc: v.(*atomic.Int64).Add(1) - 1, tx: tx}
	ls.emit(px, levelInfo, tx.end, renderLogFormat(format, lv))
}

// Kinds of log values: how quoting and separators treat them.
const (
	lvNum  = iota // never quoted
	lvStr         // quoted with +Q
	lvNull        // an absent string: "-", or "" when quoted
	lvNone        // prints nothing and leaves the separator state (no captures)
	lvList        // \x00-separated strings, printed space-separated, each quoted with +Q
)

func msOr(d time.Duration, ok bool) string {
	if !ok {
		return "-1"
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// httpValue gives the http variables of a request's log line.
func (tx *httpTx) value(name string) (string, int, bool) {
	switch name {
	case "ST":
		return strconv.Itoa(tx.status), lvNum, true
	case "B":
		return strconv.FormatInt(tx.out, 10), lvNum, true
	case "U":
		return strconv.FormatInt(tx.in, 10), lvNum, true
	case "TR":
		if tx.badReq || tx.noTR {
			return "-1", lvNum, true
		}
		return msOr(tx.headDone.Sub(tx.first), true), lvNum, true
	case "Ti":
		return msOr(tx.first.Sub(tx.accept), true), lvNum, true
	case "Tq":
		if tx.badReq || tx.noTR {
			return "-1", lvNum, true
		}
		return msOr(tx.headDone.Sub(tx.accept), true), lvNum, true
	case "Th":
		return "0", lvNum, true
	case "Tw":
		return msOr(tx.tw, tx.server || tx.connFailed || tx.tarpit), lvNum, true
	case "Tc":
		return msOr(tx.tc, tx.server), lvNum, true
	case "Tr":
		return msOr(tx.tr, tx.gotResp), lvNum, true
	case "Ta":
		return msOr(tx.end.Sub(tx.first), true), lvNum, true
	case "Tt":
		return msOr(tx.end.Sub(tx.accept), true), lvNum, true
	case "Td":
		if !tx.gotResp {
			return "-1", lvNum, true
		}
		return msOr(tx.end.Sub(tx.accept)-tx.headDone.Sub(tx.accept)-tx.tw-tx.tc-tx.tr, true), lvNum, true
	case "tr":
		return tx.first.Format("02/Jan/2006:15:04:05.000"), lvNum, true
	case "trg":
		return tx.first.UTC().Format("02/Jan/2006:15:04:05 -0700"), lvNum, true
	case "trl":
		return tx.first.Format("02/Jan/2006:15:04:05 -0700"), lvNum, true
	case "t":
		return tx.accept.Format("02/Jan/2006:15:04:05.000"), lvNum, true
	case "ms":
		return strconv.Itoa(tx.accept.Nanosecond() / 1e6 % 1000), lvNum, true
	case "r":
		if tx.badReq {
			return "<BADREQ>", lvStr, true
		}
		b := append(append(append(append(append([]byte{}, tx.method...), ' '), tx.uri...), ' '), tx.ver...)
		return string(b), lvStr, true
	case "HM", "HU", "HP", "HPO", "HQ", "HV":
		if tx.badReq {
			return "<BADREQ>", lvStr, true
		}
		return string(tx.uriPart(name)), lvStr, true
	case "CC", "CS":
		return "-", lvNull, true
	case "hr", "hs", "hrl", "hsl":
		caps := tx.reqCaps
		if name[1] == 's' {
			caps = tx.resCaps
		}
		if caps == nil {
			return "", lvNone, true
		}
		if len(name) == 2 {
			return capturesBraced(caps), lvNum, true
		}
		enc := make([]string, len(caps))
		for i, v := range caps {
			enc[i] = encodeCapture(v)
		}
		return strings.Join(enc, "\x00"), lvList, true
	case "ts":
		return tx.term[:2], lvNum, true
	case "tsc":
		return tx.term, lvNum, true
	case "b":
		return tx.beName, lvStr, true
	case "s":
		if tx.cached {
			return "<CACHE>", lvStr, true
		}
		if tx.sv == nil {
			return "<NOSRV>", lvStr, true
		}
		return tx.sv.srv.Name, lvStr, true
	case "rc":
		if tx.redispatched {
			return "+" + strconv.Itoa(tx.retries), lvNum, true
		}
		return strconv.Itoa(tx.retries), lvNum, true
	case "rt":
		return strconv.FormatInt(tx.id-1, 10), lvNum, true
	case "Ts":
		return strconv.FormatInt(tx.accept.Unix(), 10), lvNum, true
	case "ID":
		if tx.uid == "" {
			return "", lvNull, true
		}
		return tx.uid, lvStr, true
	case "si", "sp":
		if tx.sv == nil {
			return "-", lvStr, true
		}
	}
	return "", 0, false
}

// uriPart is %HM, %HU, %HP, %HPO, %HQ or %HV.
func (tx *httpTx) uriPart(name string) []byte {
	u := tx.uri
	switch name {
	case "HM":
		return tx.method
	case "HV":
		return tx.ver
	case "HU":
		return u
	case "HQ":
		if i := bytes.IndexByte(u, '?'); i >= 0 {
			return u[i:]
		}
		return nil
	}
	if i := bytes.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if name == "HPO" {
		q := hreq{uri: u, ci: &connInfo{}}
		return q.path()
	}
	return u
}
