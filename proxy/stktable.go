package proxy

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// Stick counters: the entries of a stick-table that track-sc rules
// track, with the data its `store` list names (counters and rates).

// ctrKind is one data type a stick table can store, in haproxy's order
// (the order `show table` prints them in).
type ctrKind int

const (
	dGPT0 ctrKind = iota
	dGPC0
	dGPC0Rate
	dConnCnt
	dConnRate
	dConnCur
	dSessCnt
	dSessRate
	dHTTPReqCnt
	dHTTPReqRate
	dHTTPErrCnt
	dHTTPErrRate
	dBytesInCnt
	dBytesInRate
	dBytesOutCnt
	dBytesOutRate
	dGPC1
	dGPC1Rate
	dHTTPFailCnt
	dHTTPFailRate
	nCtrKinds
)

// ctrNames are the store-list names of the kinds.
var ctrNames = [nCtrKinds]string{"gpt0", "gpc0", "gpc0_rate", "conn_cnt", "conn_rate", "conn_cur",
	"sess_cnt", "sess_rate", "http_req_cnt", "http_req_rate", "http_err_cnt", "http_err_rate",
	"bytes_in_cnt", "bytes_in_rate", "bytes_out_cnt", "bytes_out_rate", "gpc1", "gpc1_rate",
	"http_fail_cnt", "http_fail_rate"}

// isRate tells the kinds that are rates over a period.
func (k ctrKind) isRate() bool { return strings.HasSuffix(ctrNames[k], "_rate") }

// ctrTable is a stick table of counters.
type ctrTable struct {
	name   string
	typ    string // ip, ipv6, integer, string
	keyLen int    // string tables: keys are cut to it
	size   int
	expire time.Duration
	// slot is where a kind's value is in an entry's data (-1: not
	// stored); a rate takes three slots: period start (ms), count of the
	// current period, count of the previous one
	slot   [nCtrKinds]int
	period [nCtrKinds]int64 // ms, of the rates
	nslots int
	epoch  time.Time

	mu sync.Mutex
	m  map[string]*ctrEntry
}

// ctrEntry is one key's data; refs counts those tracking it.
type ctrEntry struct {
	key  string
	refs int
	exp  time.Time
	d    []int64
}

// newCtrTable reads a stick-table line's type, size, expire and store
// list into a table of counters.
func newCtrTable(name string, l *parser.Line) (*ctrTable, error) {
	sp, err := readStickTable(l)
	if err != nil {
		return nil, err
	}
	t := &ctrTable{name: name, typ: sp.typ, keyLen: 32, size: int(sp.size), expire: sp.expire,
		m: map[string]*ctrEntry{}, epoch: time.Now().Add(-time.Millisecond)}
	for i := range t.slot {
		t.slot[i] = -1
	}
	switch sp.typ {
	case "ip", "ipv6", "integer", "string":
	default:
		return nil, fmt.Errorf("%s: stick-table type %s: gohaka's stick counters take ip, ipv6, integer and string tables", l.Pos[0], sp.typ)
	}
	w := l.Words
	for i := 1; i+1 < len(w); i++ {
		switch w[i] {
		case "len":
			if t.keyLen, err = strconv.Atoi(w[i+1]); err != nil || t.keyLen <= 0 {
				return nil, fmt.Errorf("%s: stick-table len '%s' is not a positive number", l.Pos[0], w[i+1])
			}
		case "store":
			for _, s := range strings.Split(w[i+1], ",") {
				if err := t.addStore(s); err != nil {
					return nil, fmt.Errorf("%s: stick-table store: %v", l.Pos[0], err)
				}
			}
		}
	}
	return t, nil
}

// addStore adds one item of a store list: a kind, a rate with its period.
func (t *ctrTable) addStore(s string) error {
	name, per, isFn := strings.Cut(s, "(")
	if name == "server_id" || name == "server_key" {
		return nil // persistence (stick on): not a counter
	}
	for k := ctrKind(0); k < nCtrKinds; k++ {
		if ctrNames[k] != name {
			continue
		}
		if k.isRate() {
			d, err := parser.ParseTime(strings.TrimSuffix(per, ")"))
			if !isFn || err != nil || d <= 0 {
				return fmt.Errorf("'%s' needs a period, as in %s(10s)", name, name)
			}
			t.period[k] = d.Milliseconds()
			t.slot[k] = t.nslots
			t.nslots += 3
			return nil
		}
		t.slot[k] = t.nslots
		t.nslots++
		return nil
	}
	return fmt.Errorf("'%s' is not a data type gohaka's stick counters store (%s are)", name, strings.Join(ctrNames[:], ", "))
}

// now is the table's clock in ms (never 0: 0 marks an unstarted rate).
func (t *ctrTable) now() int64 { return time.Since(t.epoch).Milliseconds() }

// key turns a sample into the table's key; false when it cannot be one
// (an IPv6 address in an ip table, a word in an integer table).
func (t *ctrTable) key(v []byte) (string, bool) {
	switch t.typ {
	case "ip", "ipv6":
		a, err := netip.ParseAddr(string(v))
		if err != nil {
			return "", false
		}
		if t.typ == "ip" {
			if a = a.Unmap(); !a.Is4() {
				return "", false
			}
		} else if a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
		return a.String(), true
	case "integer":
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 32)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	}
	if len(v) > t.keyLen {
		v = v[:t.keyLen]
	}
	return string(v), true
}

// get returns key's entry, made if there is none and ensured (nil when
// the table is full of tracked entries). Under t.mu.
func (t *ctrTable) get(key string, ensure bool, now time.Time) *ctrEntry {
	e := t.m[key]
	if e != nil && e.refs == 0 && t.expire > 0 && now.After(e.exp) {
		delete(t.m, key) // expired: as if gone
		e = nil
	}
	if e != nil || !ensure {
		return e
	}
	if len(t.m) >= t.size && !t.purge(now) {
		return nil
	}
	e = &ctrEntry{key: key, d: make([]int64, t.nslots)}
	t.touch(e, now)
	t.m[key] = e
	return e
}

// purge makes room in a full table: the expired entries go, else the
// untracked one that expires first; false when every entry is tracked.
func (t *ctrTable) purge(now time.Time) bool {
	var oldest *ctrEntry
	freed := false
	for k, e := range t.m {
		if e.refs > 0 {
			continue
		}
		if t.expire > 0 && now.After(e.exp) {
			delete(t.m, k)
			freed = true
		} else if oldest == nil || e.exp.Before(oldest.exp) {
			oldest = e
		}
	}
	if !freed && oldest != nil {
		delete(t.m, oldest.key)
		freed = true
	}
	return freed
}

// touch restarts an entry's expiry.
func (t *ctrTable) touch(e *ctrEntry, now time.Time) {
	e.exp = now.Add(t.expire)
}

// add adds n to a counter or rate of e, if the table stores it. Under t.mu.
func (t *ctrTable) add(e *ctrEntry, k ctrKind, n int64) {
	s := t.slot[k]
	if s < 0 {
		return
	}
	if !k.isRate() {
		e.d[s] += n
		return
	}
	now, p := t.now(), t.period[k]
	d := e.d[s : s+3]
	if d[0] == 0 {
		d[0] = now
	}
	if el := now - d[0]; el >= p {
		if el >= 2*p {
			d[2] = 0
		} else {
			d[2] = d[1]
		}
		d[1] = 0
		d[0] += el / p * p
	}
	d[1] += n
}

// value reads a counter or rate of e; false when the table does not
// store it. Under t.mu.
func (t *ctrTable) value(e *ctrEntry, k ctrKind) (int64, bool) {
	s := t.slot[k]
	if s < 0 {
		return 0, false
	}
	if !k.isRate() {
		return e.d[s], true
	}
	d, p := e.d[s:s+3], t.period[k]
	if d[0] == 0 {
		return 0, true
	}
	el, cur, prev := t.now()-d[0], d[1], d[2]
	if el >= p {
		prev, cur, el = cur, 0, el-p
		if el >= p {
			prev = 0
		}
	}
	return cur + prev*(p-el)/p, true
}

// clear empties the table but for the entries being tracked (`clear
// table`).
func (t *ctrTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if e.refs == 0 {
			delete(t.m, k)
		}
	}
}

// show is the table for `show table`: its line and, with entries, one
// line per entry in key order.
func (t *ctrTable) show(entries bool) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	var live []*ctrEntry
	for _, e := range t.m {
		if e.refs > 0 || t.expire == 0 || !now.After(e.exp) {
			live = append(live, e)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# table: %s, type: %s, size:%d, used:%d\n", t.name, t.typ, t.size, len(live))
	if !entries {
		return b.String()
	}
	sort.Slice(live, func(i, j int) bool { return t.less(live[i].key, live[j].key) })
	for i, e := range live {
		fmt.Fprintf(&b, "%#x: key=%s use=%d exp=%d", 0x10000+i*0x70, e.key, e.refs, max(e.exp.Sub(now).Milliseconds(), 0))
		for k := ctrKind(0); k < nCtrKinds; k++ {
			v, ok := t.value(e, k)
			switch {
			case !ok:
			case k.isRate():
				fmt.Fprintf(&b, " %s(%d)=%d", ctrNames[k], t.period[k], v)
			default:
				fmt.Fprintf(&b, " %s=%d", ctrNames[k], v)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// less orders keys as the table's tree does: addresses by their bytes,
// integers by value, strings bytewise.
func (t *ctrTable) less(a, b string) bool {
	switch t.typ {
	case "ip", "ipv6":
		return netip.MustParseAddr(a).Less(netip.MustParseAddr(b))
	case "integer":
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x < y
	}
	return a < b
}
