package proxy

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohaka/gohaka/parser"
)

// observability is what the runtime keeps for the stats CSV, the runtime
// API, the stats page and the logs.
type observability struct {
	cfg     *parser.Config
	start   time.Time
	proxies []*parser.Proxy // served proxies, in configuration order
	ids     map[*parser.Proxy]int
	nextSID atomic.Int64

	cliMu sync.Mutex
	cli   []net.Listener
	cliWG sync.WaitGroup

	logs  *logSet
	pages []*statsPage

	httpPages sync.Map     // *parser.Proxy -> *statsPage: stats pages the http engine serves
	cumReq    atomic.Int64 // http requests and CLI connections since start (show info CumReq)
	captures  sync.Map     // *parser.Proxy -> *captureSpec

	extraMu      sync.Mutex
	extraMetrics func() string
}

// init numbers the proxies as haproxy does: explicit `id`s are kept, the
// others take the lowest free numbers in configuration order, from 1, or
// from 2 when the global section has a `stats socket` (its CLI proxy holds
// the first number).
func (o *observability) init(cfg *parser.Config) {
	o.cfg = cfg
	o.start = time.Now()
	o.logs = newLogSet(cfg, nil)
	o.ids = map[*parser.Proxy]int{}
	used := map[int]bool{}
	if len(cfg.Global.StatsSockets) > 0 {
		used[1] = true
	}
	for _, px := range cfg.Proxies {
		if px.Cap&parser.CapDefaults != 0 || px.Disabled {
			continue
		}
		o.proxies = append(o.proxies, px)
		if px.ID > 0 {
			o.ids[px] = px.ID
			used[px.ID] = true
		}
	}
	next := 1
	for _, px := range o.proxies {
		if o.ids[px] > 0 {
			continue
		}
		for used[next] {
			next++
		}
		o.ids[px] = next
		used[next] = true
	}
}

// srvID is a server's id: its `id` option or its rank in the backend.
func (o *observability) srvID(be *backend, i int) int {
	if v := be.servers[i].srv.Options["id"]; len(v) > 0 {
		if n, err := strconv.Atoi(v[0]); err == nil {
			return n
		}
	}
	return i + 1
}
