package proxy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/check"
	"github.com/gohaka/gohaka/parser"
	"golang.org/x/sys/unix"
)

// Row types of the stats CSV (the `type` column).
const (
	rowFrontend = 0
	rowBackend  = 1
	rowServer   = 2
)

// statRow is one line of the stats CSV: its type and its fields by
// column name. Columns absent from the map print as haproxy prints them
// for the row type: "0" where haproxy keeps a counter, empty elsewhere.
type statRow struct {
	typ      int
	hasCheck bool
	f        map[string]string
	// http mode rows (stats pages) add the http columns
	http       bool
	noDowntime bool // a backend without servers
	// for the stats page
	px  string
	sv  string
	bal balance.State
}

// condCols are columns that have a value only in some rows of a type
// (a server's maxconn, an admin-level address, ...): they print when set.
var condCols = map[string]bool{"slim": true, "qlimit": true, "addr": true, "algo": true, "throttle": true,
	"check_code": true, "cookie": true, "tracked": true, "last_chk": true}

// fields renders the row in column order.
func (row *statRow) fields() []string {
	t := "FBS"[row.typ]
	out := make([]string, len(statCols))
	for i, c := range statCols {
		v, ok := row.f[c.name]
		on := strings.IndexByte(c.on, t) >= 0 || row.typ == rowServer && row.hasCheck && strings.IndexByte(c.on, 'c') >= 0 ||
			row.http && httpCols[c.name] && ok
		if row.noDowntime && c.name == "downtime" {
			on = false
		}
		switch {
		case on && ok:
			out[i] = v
		case on:
			out[i] = "0"
		case ok && condCols[c.name]:
			out[i] = v
		}
	}
	return out
}

// statHeader is the first line of `show stat`.
func statHeader() string {
	var b strings.Builder
	b.WriteString("# ")
	for _, c := range statCols {
		b.WriteString(c.name)
		b.WriteByte(',')
	}
	b.WriteByte('\n')
	return b.String()
}

// StatCSV renders `show stat`: the header and one line per frontend,
// server and backend, in configuration order. legends adds the server
// addresses and balance algorithms, as haproxy shows them to runtime API
// clients of level operator or admin and on pages with `stats
// show-legends`.
func (r *Runtime) StatCSV(legends bool) string {
	var b strings.Builder
	b.WriteString(statHeader())
	for _, row := range r.statRows(legends) {
		b.WriteString(strings.Join(row.fields(), ","))
		b.WriteString(",\n")
	}
	return b.String()
}

func u(v int64) string            { return strconv.FormatInt(v, 10) }
func ui(v int) string             { return strconv.Itoa(v) }
func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// defaultMaxconn is the maxconn haproxy derives when none is set: about
// half the open-file limit, less a few descriptors it keeps for itself.
func defaultMaxconn() int {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur == unix.RLIM_INFINITY {
		return 4096
	}
	return max(int(rl.Cur)-31, 2) / 2
}

// globalMaxconn is the process maxconn now.
func (r *Runtime) globalMaxconn() int {
	if n := r.global.limitNow(); n > 0 {
		return n
	}
	return defaultMaxconn()
}

// statRows builds the rows in configuration order.
func (r *Runtime) statRows(legends bool) []*statRow {
	now := time.Now()
	var rows []*statRow
	for _, px := range r.obs.proxies {
		if p := r.obs.page(px); p != nil {
			rows = append(rows, r.pageRows(p, now)...)
			continue
		}
		if fe := r.frontendOf(px); fe != nil {
			rows = append(rows, r.frontendRow(fe, now))
		}
		if be := r.backends[px.Name]; be != nil && be.px == px {
			srows, brow := r.backendRows(be, legends, now)
			rows = append(rows, srows...)
			rows = append(rows, brow)
		}
	}
	return rows
}

func (r *Runtime) frontendOf(px *parser.Proxy) *frontend {
	for _, fe := range r.frontends {
		if fe.px == px {
			return fe
		}
	}
	return nil
}

func commonFields(f map[string]string, c *counters, now time.Time) {
	f["scur"] = u(c.scur.Load())
	f["smax"] = u(c.smax.Load())
	f["stot"] = u(c.stot.Load())
	f["bin"] = u(c.bin.Load())
	f["bout"] = u(c.bout.Load())
	f["dresp"] = u(c.dresp.Load())
	rate, rmax := c.sessRate.get(now)
	f["rate"] = ui(int(rate))
	f["rate_max"] = ui(int(rmax))
	f["pid"] = "1"
	f["-"] = "-"
}

func (r *Runtime) frontendRow(fe *frontend, now time.Time) *statRow {
	c := &fe.ctr
	f := map[string]string{"pxname": fe.px.Name, "svname": "FRONTEND", "type": "0", "mode": fe.px.Mode}
	commonFields(f, c, now)
	slim := fe.slots.limitNow()
	if slim == 0 {
		slim = r.globalMaxconn()
	}
	f["slim"] = ui(slim)
	f["dreq"] = u(c.dreq.Load())
	f["ereq"] = u(c.ereq.Load())
	f["dcon"] = u(c.dcon.Load())
	f["dses"] = u(c.dses.Load())
	f["status"] = "OPEN"
	if r.stopping.Load() {
		f["status"] = "STOP"
	}
	f["iid"] = ui(r.obs.ids[fe.px])
	f["sid"] = "0"
	cr, cmax := c.connRate.get(now)
	f["conn_rate"], f["conn_rate_max"] = ui(int(cr)), ui(int(cmax))
	f["conn_tot"] = u(c.connTot.Load())
	isHTTP := fe.http != nil
	if isHTTP {
		httpFields(f, c, rowFrontend, now)
	}
	return &statRow{typ: rowFrontend, f: f, px: fe.px.Name, sv: "FRONTEND", http: isHTTP}
}

func timeFields(f map[string]string, c *counters) {
	n := c.timedSessions.Load()
	q, qm := c.qtime.avg(n)
	ct, cm := c.ctime.avg(n)
	t, tm := c.ttime.avg(n)
	if n == 0 {
		q, ct, t = 0, 0, 0
	}
	f["qtime"], f["ctime"], f["rtime"], f["ttime"] = u(int64(q)), u(int64(ct)), "0", u(int64(t))
	f["qtime_max"], f["ctime_max"], f["rtime_max"], f["ttime_max"] = u(int64(qm)), u(int64(cm)), "0", u(int64(tm))
	f["lastsess"] = "-1"
	if ls := c.lastSess.Load(); ls != 0 {
		f["lastsess"] = secs(time.Since(time.Unix(0, ls)))
	}
	f["econ"], f["eresp"] = u(c.econ.Load()), u(c.eresp.Load())
	f["wretr"], f["wredis"] = u(c.wretr.Load()), u(c.wredis.Load())
	f["lbtot"] = u(c.lbtot.Load())
	f["cli_abrt"], f["srv_abrt"] = u(c.cliAbrt.Load()), u(c.srvAbrt.Load())
	f["connect"] = u(c.connects.Load())
	f["qmax"] = u(c.qmax.Load())
}

// serverStatus is the status column of a server row, in haproxy's words.
func serverStatus(st *srvState) string {
	switch {
	case st.cfgMaint || st.maint:
		return "MAINT"
	case st.resMaint:
		return "MAINT (resolution)"
	case !st.hasCheck:
		switch {
		case st.checkSt == check.StateMaint:
			return "MAINT"
		case st.checkSt == check.StateDown:
			return "DOWN"
		case st.drain || st.checkSt == check.StateDrain:
			return "DRAIN"
		}
		return "no check"
	}
	switch st.checkSt {
	case check.StateMaint:
		return "MAINT"
	case check.StateDown:
		if st.health > 0 {
			return fmt.Sprintf("DOWN %d/%d", st.health, st.rise)
		}
		return "DOWN"
	case check.StateNoLB:
		return "NOLB"
	}
	if st.drain || st.checkSt == check.StateDrain {
		return "DRAIN"
	}
	if st.health < st.rise+st.fall-1 {
		return fmt.Sprintf("UP %d/%d", st.health-st.rise+1, st.fall)
	}
	return "UP"
}

func (r *Runtime) backendRows(be *backend, legends bool, now time.Time) ([]*statRow, *statRow) {
	var rows []*statRow
	be.mu.Lock()
	bals := append([]balance.Server(nil), be.bal.Servers()...)
	be.mu.Unlock()
	iid := ui(r.obs.ids[be.px])
	act, bck, wact, wbck, qcur := 0, 0, 0, 0, 0
	for i, sv := range be.servers {
		st := sv.st
		c := &st.ctr
		f := map[string]string{"pxname": be.px.Name, "svname": sv.srv.Name, "type": "2", "mode": be.px.Mode, "iid": iid}
		commonFields(f, c, now)
		q := sv.limit.queued()
		qcur += q
		f["qcur"] = ui(q)
		_, mc := sv.limit.current()
		if mc > 0 {
			f["slim"] = ui(mc)
		}
		if sv.srv.Maxqueue > 0 {
			f["qlimit"] = ui(sv.srv.Maxqueue)
		}
		timeFields(f, c)
		f["sid"] = ui(r.obs.srvID(be, i))
		st.mu.Lock()
		f["status"] = serverStatus(st)
		f["weight"] = ui(bals[i].Weight)
		f["uweight"] = ui(bals[i].Weight)
		if sv.srv.Backup {
			f["act"], f["bck"] = "0", "1"
		} else {
			f["act"], f["bck"] = "1", "0"
		}
		f["lastchg"] = secs(now.Sub(st.lastChgOr(r.obs.start)))
		if st.hasCheck {
			f["chkfail"], f["chkdown"] = u(st.chkfail), u(st.chkdown)
			f["downtime"] = secs(st.downFor(now))
			f["check_rise"], f["check_fall"], f["check_health"] = ui(st.rise), ui(st.fall), ui(st.health)
			if st.checked {
				f["check_status"] = st.result.Status.String()
				if st.result.Status.HasCode() {
					f["check_code"] = ui(st.result.Code)
				}
				f["check_duration"] = u(st.result.Duration.Milliseconds())
				f["check_desc"] = st.result.Status.Desc()
				f["last_chk"] = st.result.Info
			} else {
				f["check_status"] = "INI"
				f["check_desc"] = "Initializing"
				f["check_duration"] = ""
			}
		}
		eff := st.effective()
		st.mu.Unlock()
		if eff == balance.Up && bals[i].Weight > 0 {
			if sv.srv.Backup {
				bck++
				wbck += bals[i].Weight
			} else {
				act++
				wact += bals[i].Weight
			}
		}
		if legends {
			f["addr"] = sv.address()
		}
		used := ui(int(c.scur.Load()))
		f["srv_icur"], f["idle_conn_cur"], f["safe_conn_cur"], f["used_conn_cur"], f["need_conn_est"] = "0", "0", "0", used, used
		if be.http != nil {
			httpFields(f, c, rowServer, now)
		}
		rows = append(rows, &statRow{typ: rowServer, hasCheck: st.hasCheck, f: f, px: be.px.Name, sv: sv.srv.Name, bal: eff, http: be.http != nil})
	}
	c := &be.ctr
	f := map[string]string{"pxname": be.px.Name, "svname": "BACKEND", "type": "1", "mode": be.px.Mode, "iid": iid, "sid": "0"}
	commonFields(f, c, now)
	timeFields(f, c)
	f["qcur"] = ui(qcur)
	f["dreq"] = u(c.dreq.Load())
	f["slim"] = ui(be.fullconn)
	f["act"], f["bck"] = ui(act), ui(bck)
	w := wact
	if act == 0 {
		w = wbck
	}
	f["weight"], f["uweight"] = ui(w), ui(w)
	f["status"] = "UP"
	if act+bck == 0 && len(be.servers) > 0 { // haproxy shows a backend without servers UP
		f["status"] = "DOWN"
	}
	chkdown, lastChg, downtime := be.availability(now)
	if lastChg.IsZero() {
		lastChg = r.obs.start
	}
	f["chkdown"], f["lastchg"], f["downtime"] = u(chkdown), secs(now.Sub(lastChg)), secs(downtime)
	if len(be.servers) == 0 {
		f["downtime"] = "" // as haproxy shows a backend without servers
	}
	if !legends {
	} else if algo := be.px.Balance.Algo; algo != "" {
		f["algo"] = algo
	} else if be.px.DefaultsSection() != nil {
		f["algo"] = "roundrobin"
	}
	if be.http != nil {
		httpFields(f, c, rowBackend, now)
	}
	return rows, &statRow{typ: rowBackend, f: f, px: be.px.Name, sv: "BACKEND", http: be.http != nil}
}

// lastChgOr is the time of the last state change, or start.
func (st *srvState) lastChgOr(start time.Time) time.Time {
	if st.lastChg.IsZero() {
		return start
	}
	return st.lastChg
}

var pid = os.Getpid()

// colIndex is the position of a column in the CSV.
func colIndex(name string) int {
	for i, c := range statCols {
		if c.name == name {
			return i
		}
	}
	panic("no stats column " + name)
}
