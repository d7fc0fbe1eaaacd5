package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// stkReads are the stick-counter fetch names (after sc_, scN_ or src_)
// that read one kind of data.
var stkReads = map[string]ctrKind{
	"conn_cnt": dConnCnt, "conn_cur": dConnCur, "conn_rate": dConnRate,
	"sess_cnt": dSessCnt, "sess_rate": dSessRate,
	"http_req_cnt": dHTTPReqCnt, "http_req_rate": dHTTPReqRate,
	"http_err_cnt": dHTTPErrCnt, "http_err_rate": dHTTPErrRate,
	"http_fail_cnt": dHTTPFailCnt, "http_fail_rate": dHTTPFailRate,
	"bytes_in_rate": dBytesInRate, "bytes_out_rate": dBytesOutRate,
	"kbytes_in": dBytesInCnt, "kbytes_out": dBytesOutCnt,
	"get_gpc0": dGPC0, "get_gpc1": dGPC1, "gpc0_rate": dGPC0Rate, "gpc1_rate": dGPC1Rate,
	"get_gpt0": dGPT0,
}

// stkOps are the fetches that change a counter: they return its new
// value (inc) or the one it had (clr).
var stkOps = map[string][2]ctrKind{
	"inc_gpc0": {dGPC0, dGPC0Rate}, "inc_gpc1": {dGPC1, dGPC1Rate},
	"clr_gpc0": {dGPC0, dGPC0Rate}, "clr_gpc1": {dGPC1, dGPC1Rate},
}

// stkFetch compiles a stick-counter fetch: sc_X(N[,table]),
// scN_X([table]) or src_X([table]); ok is false when name is none (rt
// nil: only that is told).
func stkFetch(name, arg string, rt *Runtime) (fn fetchFn, method string, ok bool, err error) {
	prefix, what, found := strings.Cut(name, "_")
	if !found {
		return nil, "", false, nil
	}
	_, read := stkReads[what]
	_, op := stkOps[what]
	special := what == "trackers" || what == "tracked" && prefix != "src"
	if !read && !op && !special {
		return nil, "", false, nil
	}
	n, table := -1, ""
	switch prefix {
	case "sc":
		num, rest, _ := strings.Cut(arg, ",")
		if n, err = strconv.Atoi(strings.TrimSpace(num)); err != nil || n < 0 || n > 2 {
			return nil, "", true, fmt.Errorf("fetch '%s': the counter number must be 0, 1 or 2", name)
		}
		table = strings.TrimSpace(rest)
	case "sc0", "sc1", "sc2":
		n, table = int(prefix[2]-'0'), arg
	case "src":
		table = arg
	default:
		return nil, "", false, nil
	}
	if rt == nil { // only asked whether name is one
		return nil, "", true, nil
	}
	var t *ctrTable
	if table == "" && n < 0 {
		table = rt.compilePx.Name
	}
	if table != "" {
		if t, err = rt.ctrTableFor(table, rt.compilePx.Pos); err != nil {
			return nil, "", true, err
		}
	}
	// entry finds the entry the fetch is about; found false: no value.
	// src_inc_gpc* and src_clr_gpc* make the client's entry if need be.
	ensure := op && n < 0
	entry := func(q *hreq) (stkctr, bool) {
		if n < 0 { // src_: the client's address in t
			key, ok := t.key([]byte(q.ci.src.Addr().Unmap().String()))
			if !ok {
				return stkctr{}, false
			}
			now := time.Now()
			t.mu.Lock()
			e := t.get(key, ensure, now)
			if e != nil && ensure {
				t.touch(e, now)
			}
			t.mu.Unlock()
			return stkctr{t, e}, true
		}
		c := tracked(&q.sc, q.ci.sc, n)
		if c.e == nil {
			return c, false
		}
		if t != nil && t != c.t { // the tracked key, looked up in t
			c.t.mu.Lock()
			key := c.e.key
			c.t.mu.Unlock()
			t.mu.Lock()
			e := t.get(key, false, time.Now())
			t.mu.Unlock()
			return stkctr{t, e}, true
		}
		return c, true
	}
	switch {
	case what == "tracked":
		return boolFetch(func(q *hreq) bool { return tracked(&q.sc, q.ci.sc, n).e != nil }), "bool", true, nil
	case what == "trackers":
		return valueFn(entry, func(t *ctrTable, e *ctrEntry) (int64, bool) { return int64(e.refs), true }), "int", true, nil
	case op:
		kinds, clr := stkOps[what], strings.HasPrefix(what, "clr_")
		return valueFn(entry, func(t *ctrTable, e *ctrEntry) (int64, bool) {
			old, stored := t.value(e, kinds[0])
			if clr {
				t.add(e, kinds[0], -old)
				return old, stored
			}
			t.add(e, kinds[0], 1)
			t.add(e, kinds[1], 1)
			v, _ := t.value(e, kinds[0])
			return v, stored
		}), "int", true, nil
	}
	k := stkReads[what]
	kb := strings.HasPrefix(what, "kbytes_")
	return valueFn(entry, func(t *ctrTable, e *ctrEntry) (int64, bool) {
		v, stored := t.value(e, k)
		if kb {
			v >>= 10
		}
		return v, stored
	}), "int", true, nil
}

// valueFn makes a fetch of an entry's data: no value when entry finds
// none to look at, 0 for a key the table does not hold, else what get
// returns (under the table's lock) if it has a value.
func valueFn(entry func(*hreq) (stkctr, bool), get func(*ctrTable, *ctrEntry) (int64, bool)) fetchFn {
	return func(q *hreq, f func([]byte) bool) {
		c, ok := entry(q)
		if !ok {
			return
		}
		v, has := int64(0), true
		if c.e != nil {
			c.t.mu.Lock()
			v, has = get(c.t, c.e)
			c.t.mu.Unlock()
		}
		if has {
			f(strconv.AppendInt(nil, v, 10))
		}
	}
}

// tableConv compiles a table_X(table) converter: the sample is a key of
// the table, the value that key's data (0 when the table lacks the key,
// none when it does not store X); nil and no error when c is none.
func (rt *Runtime) tableConv(c string, pos parser.Pos) (convFn, error) {
	name, arg, _ := strings.Cut(strings.TrimSuffix(c, ")"), "(")
	name = strings.TrimSpace(name)
	if name == "in_table" && rt != nil { // whether the sample is a key of the table
		t, err := rt.ctrTableFor(strings.TrimSpace(arg), pos)
		if err != nil {
			return nil, err
		}
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			if has, _ := t.holds(in); has {
				return append(out, '1'), true
			}
			return append(out, '0'), true
		}, nil
	}
	what, ok := strings.CutPrefix(name, "table_")
	if !ok || rt == nil {
		return nil, nil
	}
	if what == "server_id" {
		return rt.tableServerID(strings.TrimSpace(arg), pos)
	}
	switch what {
	case "gpc0", "gpc1", "gpt0":
		what = "get_" + what
	}
	k, read := stkReads[what]
	if !read && what != "trackers" {
		return nil, nil
	}
	t, err := rt.ctrTableFor(strings.TrimSpace(arg), pos)
	if err != nil {
		return nil, err
	}
	kb := strings.HasPrefix(what, "kbytes_")
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		key, ok := t.key(in)
		if !ok {
			return out, false
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		e := t.get(key, false, time.Now())
		switch {
		case e == nil:
			return append(out, '0'), true
		case what == "trackers":
			return strconv.AppendInt(out, int64(e.refs), 10), true
		}
		v, stored := t.value(e, k)
		if kb {
			v >>= 10
		}
		return strconv.AppendInt(out, v, 10), stored
	}, nil
}

// tableServerID compiles table_server_id(table): the id of the server a
// key sticks to in a table that `stick on src` fills, 0 for a key the
// table lacks. A table that stores no server ids (counters only) gives
// 0 for a key it lacks and no value for one it has, as haproxy 2.6 does.
func (rt *Runtime) tableServerID(name string, pos parser.Pos) (convFn, error) {
	for _, si := range rt.sticks {
		if si.name != name || si.t == nil {
			continue
		}
		st := si.t
		return func(_ *hreq, out, in []byte) ([]byte, bool) {
			a, err := netip.ParseAddr(string(in))
			if err != nil {
				return out, false
			}
			id, _ := st.ServerID(a.Unmap())
			return strconv.AppendInt(out, int64(id), 10), true
		}, nil
	}
	t, err := rt.ctrTableFor(name, pos)
	if err != nil {
		return nil, err
	}
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		if has, ok := t.holds(in); ok && !has {
			return append(out, '0'), true
		}
		return out, false
	}, nil
}

// holds reports whether the sample in, as a key of t (ok: it is one),
// has an entry there.
func (t *ctrTable) holds(in []byte) (has, ok bool) {
	key, ok := t.key(in)
	if !ok {
		return false, false
	}
	t.mu.Lock()
	e := t.get(key, false, time.Now())
	t.mu.Unlock()
	return e != nil, true
}
