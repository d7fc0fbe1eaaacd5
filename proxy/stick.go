package proxy

import (
	"fmt"
	"strings"
	"time"

	"github.com/gohaka/gohaka/balance"
	"github.com/gohaka/gohaka/parser"
)

// setupSticks gives the backends with `stick on src` (or stick match /
// stick store-request src) the stick table they name, their own by
// default: clients then go back to the server they went to, until the
// entry expires. One table object per name, shared by the backends that
// name it. Tables of type ip and ipv6 only.
func (r *Runtime) setupSticks(cfg *parser.Config) error {
	tables := map[string]*balance.StickTable{}
	defer func() { r.sticks = listSticks(cfg, tables) }()
	for _, be := range r.backends {
		for _, l := range be.px.Settings {
			if len(l.Words) < 2 || !strings.HasPrefix(l.Words[0], "stick ") || l.Words[1] != "src" {
				continue
			}
			name, cond := be.px.Name, false
			for i := 2; i < len(l.Words); i++ {
				if l.Words[i] == "table" && i+1 < len(l.Words) {
					name = l.Words[i+1]
					i++
					continue
				}
				cond = true
			}
			if cond {
				continue // not implemented: check warned
			}
			t := tables[name]
			if t == nil {
				def := stickTableLine(cfg, name)
				if def == nil {
					return fmt.Errorf("%s: %s: no stick-table '%s'", l.Pos[0], l.Words[0], name)
				}
				var err error
				if t, err = newStickTable(def); err != nil {
					return err
				}
				tables[name] = t
			}
			be.bal.SetStick(t)
		}
	}
	return nil
}

// stickInfo is a stick table as `show table` lists it; t is nil when no
// stick rule fills it.
type stickInfo struct {
	name, typ string
	size      int64
	t         *balance.StickTable
}

// listSticks lists the proxies' stick tables, the last one configured
// first, as haproxy lists them.
func listSticks(cfg *parser.Config, filled map[string]*balance.StickTable) []*stickInfo {
	var out []*stickInfo
	for _, px := range cfg.Proxies {
		if px.StickTable == nil || px.Disabled {
			continue
		}
		spec, _ := readStickTable(px.StickTable)
		out = append([]*stickInfo{{name: px.Name, typ: spec.typ, size: spec.size, t: filled[px.Name]}}, out...)
	}
	return out
}

// showTable is `show table [NAME]`: the tables with their use, or one
// table's entries.
func (r *Runtime) showTable(name string) string {
	var b strings.Builder
	for _, si := range r.sticks {
		if name != "" && si.name != name {
			continue
		}
		if t := r.ctrTables[si.name]; t != nil { // counters: stktable.go
			if name == "" {
				b.WriteString(t.show(false))
				continue
			}
			return t.show(true)
		}
		var ents []balance.StickEntry
		if si.t != nil {
			ents = si.t.Entries()
		}
		fmt.Fprintf(&b, "# table: %s, type: %s, size:%d, used:%d\n", si.name, si.typ, si.size, len(ents))
		if name == "" {
			continue
		}
		for i, e := range ents {
			fmt.Fprintf(&b, "%#x: key=%s use=0 exp=%d server_id=%d server_key=%s\n", 0x10000+i*0x70, e.Key, e.Expire.Milliseconds(), e.ServerID, e.Server)
		}
		return b.String()
	}
	if name != "" {
		return "No such table\n"
	}
	return b.String()
}

// stickNamed is the table called name, nil if none.
func (r *Runtime) stickNamed(name string) *stickInfo {
	for _, si := range r.sticks {
		if si.name == name {
			return si
		}
	}
	return nil
}

// stickTableLine finds the stick-table line of a proxy, or of a peers
// section's table ("peers/table").
func stickTableLine(cfg *parser.Config, name string) *parser.Line {
	for _, px := range cfg.Proxies {
		if px.Name == name && px.StickTable != nil {
			return px.StickTable
		}
	}
	for _, o := range cfg.Others {
		if o.Kind != "peers" {
			continue
		}
		for _, l := range o.Lines {
			if l.Words[0] == "table" && len(l.Words) > 1 && o.Name+"/"+l.Words[1] == name {
				// `table NAME type ...`: the stick-table words after the name
				return &parser.Line{Words: append([]string{"stick-table"}, l.Words[2:]...), Pos: l.Pos}
			}
		}
	}
	return nil
}

// stickSpec is what a stick-table line says.
type stickSpec struct {
	typ    string
	size   int64
	expire time.Duration
}

// readStickTable reads `stick-table type T size N [expire D] ...`.
func readStickTable(l *parser.Line) (stickSpec, error) {
	var sp stickSpec
	w := l.Words
	for i := 1; i+1 < len(w); i++ {
		var err error
		switch w[i] {
		case "type":
			sp.typ = w[i+1]
		case "size":
			sp.size, err = parser.ParseSize(w[i+1])
		case "expire":
			sp.expire, err = parser.ParseTime(w[i+1])
		default:
			continue
		}
		if err != nil {
			return sp, fmt.Errorf("%s: stick-table %s: %v", l.Pos[0], w[i], err)
		}
		i++
	}
	return sp, nil
}

// newStickTable makes the table of a stick-table line of type ip or ipv6.
func newStickTable(l *parser.Line) (*balance.StickTable, error) {
	sp, err := readStickTable(l)
	if err != nil {
		return nil, err
	}
	if sp.typ != "ip" && sp.typ != "ipv6" {
		return nil, fmt.Errorf("%s: stick-table type %s: only ip and ipv6 tables are available in gohaka yet (for stick on src)", l.Pos[0], sp.typ)
	}
	return balance.NewStickTable(int(sp.size), sp.expire, nil), nil
}
