package balance

import (
	"container/list"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// StickTable remembers the server each client address went to
// (`stick-table type ip|ipv6` with `stick on src`): an entry lasts
// expire after it was last stored or matched, and the least recently
// used goes when the table holds size entries. It is safe for
// concurrent use (backends naming the same table share it).
type StickTable struct {
	mu     sync.Mutex
	size   int
	expire time.Duration
	now    func() time.Time
	byKey  map[netip.Addr]*list.Element
	lru    list.List // front: most recently used
}

type stickEntry struct {
	key  netip.Addr
	srv  string // the server's name: a table may serve several backends
	id   int    // and its id
	seen time.Time
}

// NewStickTable makes a table of at most size entries (0: unbounded)
// living expire each (0: forever); now is the clock (nil: time.Now).
func NewStickTable(size int, expire time.Duration, now func() time.Time) *StickTable {
	if now == nil {
		now = time.Now
	}
	return &StickTable{size: size, expire: expire, now: now, byKey: map[netip.Addr]*list.Element{}}
}

// Len is the number of live and not yet purged entries.
func (t *StickTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

// Get returns the server stored for key, refreshing its entry.
func (t *StickTable) Get(key netip.Addr) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.live(key)
	if e == nil {
		return "", false
	}
	ent := e.Value.(*stickEntry)
	ent.seen = t.now()
	t.lru.MoveToFront(e)
	return ent.srv, true
}

// ServerID returns the id of the server stored for key without
// refreshing its entry (the table_server_id converter).
func (t *StickTable) ServerID(key netip.Addr) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.live(key); e != nil {
		return e.Value.(*stickEntry).id, true
	}
	return 0, false
}

// live returns key's entry, nil when there is none or it has expired
// (then removed); t.mu is held.
func (t *StickTable) live(key netip.Addr) *list.Element {
	e, ok := t.byKey[key]
	if !ok {
		return nil
	}
	if t.expire > 0 && t.now().Sub(e.Value.(*stickEntry).seen) >= t.expire {
		t.lru.Remove(e)
		delete(t.byKey, key)
		return nil
	}
	return e
}

// Put stores the server (its name and id) for key.
func (t *StickTable) Put(key netip.Addr, srv string, id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if e, ok := t.byKey[key]; ok {
		ent := e.Value.(*stickEntry)
		ent.srv, ent.id, ent.seen = srv, id, now
		t.lru.MoveToFront(e)
		return
	}
	for t.size > 0 && t.lru.Len() >= t.size {
		old := t.lru.Back()
		t.lru.Remove(old)
		delete(t.byKey, old.Value.(*stickEntry).key)
	}
	t.byKey[key] = t.lru.PushFront(&stickEntry{key: key, srv: srv, id: id, seen: now})
}

// StickEntry is one live entry of a table, as `show table` shows it.
type StickEntry struct {
	Key      netip.Addr
	Server   string
	ServerID int
	Expire   time.Duration // left to live (0: none)
}

// Entries are the live entries by key order.
func (t *StickTable) Entries() []StickEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var out []StickEntry
	for e := t.lru.Front(); e != nil; e = e.Next() {
		ent := e.Value.(*stickEntry)
		left := time.Duration(0)
		if t.expire > 0 {
			if left = t.expire - now.Sub(ent.seen); left <= 0 {
				continue
			}
		}
		out = append(out, StickEntry{Key: ent.key, Server: ent.srv, ServerID: ent.id, Expire: left})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.Less(out[j].Key) })
	return out
}

// SetStick makes the balancer match and store client addresses in t
// (`stick on src`): a client whose server is in the table and usable
// goes there, others are balanced and remembered.
func (b *Balancer) SetStick(t *StickTable) { b.stick = t }

// sticky is Pick's look in the stick table.
func (b *Balancer) sticky(src netip.Addr) int {
	name, ok := b.stick.Get(src)
	if !ok {
		return -1
	}
	for i, s := range b.srv {
		if s.Name == name && s.State == Up && s.Weight > 0 {
			return i
		}
	}
	return -1
}
