package proxy

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/gohaka/gohaka/parser"
	"github.com/gohaka/gohaka/proxy/h1"
)

// TestHTTPMatchers checks the match methods and fetches on one request
// (the differential test checks the common ones against haproxy).
func TestHTTPMatchers(t *testing.T) {
	q := &hreq{method: []byte("GET"), uri: []byte("http://h.example/a/b/c.php?x=1&id=42"), major: 1, minor: 1, ci: &connInfo{},
		hdrs: []h1.Header{{Name: []byte("Host"), Value: []byte("www.Example.com")}, {Name: []byte("X-L"), Value: []byte("a, b")},
			{Name: []byte("X-F"), Value: []byte("192.0.2.7")}, {Name: []byte("X-6"), Value: []byte("2001:db8::1")},
			{Name: []byte("X-P"), Value: []byte("192.0.2.7:80")}, {Name: []byte("X-B"), Value: []byte("[2001:db8::1]:80")}}}
	cases := []struct {
		fetch  string
		flags  []string
		values []string
		want   bool
	}{
		{"path", nil, []string{"/a/b/c.php"}, true},
		{"path_beg", nil, []string{"/a/"}, true},
		{"path_end", nil, []string{".php"}, true},
		{"path_dir", nil, []string{"b"}, true},
		{"path_dir", nil, []string{"a/b"}, true},
		{"path_dir", nil, []string{"c"}, false},
		{"path_sub", nil, []string{"b/c"}, true},
		{"path_reg", nil, []string{`^/a/.*\.php$`}, true},
		{"path_len", nil, []string{"10"}, true},
		{"url_param(id)", nil, []string{"42"}, true},
		{"urlp(x)", []string{"-m", "int"}, []string{"ge", "1"}, true},
		{"query", []string{"-m", "sub"}, []string{"id="}, true},
		{"hdr(host)", nil, []string{"www.example.com"}, false},
		{"hdr(host)", []string{"-i"}, []string{"www.example.com"}, true},
		{"hdr_dom(host)", []string{"-i"}, []string{"example.com"}, true},
		{"hdr_dom(host)", nil, []string{"xample.com"}, false},
		{"hdr_cnt(x-l)", nil, []string{"2"}, true},
		{"req.fhdr(x-l)", nil, []string{"a, b"}, true},
		{"hdr(x-l)", nil, []string{"b"}, true},
		{"hdr(x-none)", []string{"-m", "found"}, nil, false},
		{"hdr(x-l)", []string{"-m", "found"}, nil, true},
		{"hdr_len(host)", nil, []string{"10:20"}, true},
		{"method", nil, []string{"GET"}, true},
		{"method", []string{"-i"}, []string{"get"}, false},
		{"base", []string{"-m", "beg", "-i"}, []string{"www.example.com/a"}, true},
		{"url", []string{"-m", "end"}, []string{"id=42"}, true},
		{"always_false", nil, nil, false},
		{"hdr(x-f)", []string{"-m", "ip"}, []string{"192.0.2.0/24"}, true},
		{"hdr(x-f)", []string{"-m", "ip"}, []string{"192.0.2.0/255.255.255.0"}, true},
		{"hdr(x-f)", []string{"-m", "ip"}, []string{"192.0.2.7"}, true},
		{"hdr(x-f)", []string{"-m", "ip"}, []string{"192.0.3.0/24", "10.0.0.0/8"}, false},
		{"hdr(x-6)", []string{"-m", "ip"}, []string{"2001:db8::/32"}, true},
		{"hdr(x-6)", []string{"-m", "ip"}, []string{"192.0.2.0/24"}, false},
		{"hdr(host)", []string{"-m", "ip"}, []string{"0.0.0.0/0"}, false},
		{"hdr(x-p)", []string{"-m", "ip"}, []string{"192.0.2.0/24"}, true},   // 192.0.2.7:80 (haproxy reads the address)
		{"hdr(x-b)", []string{"-m", "ip"}, []string{"2001:db8::/32"}, false}, // [2001:db8::1]:80 is not one
		{"HTTP_1.1", nil, nil, true},
	}
	for _, c := range cases {
		m, err := compileHTTP(c.fetch, c.flags, c.values, parser.Pos{}, nil)
		if err != nil {
			t.Errorf("%s: %v", c.fetch, err)
			continue
		}
		if got := m.match(q); got != c.want {
			t.Errorf("%s %v %v: %v, want %v", c.fetch, c.flags, c.values, got, c.want)
		}
	}
}

// TestHTTPMatchIPAsHAProxy: `-m ip` on a header gives the same verdicts
// as haproxy 2.6 for networks, masks, IPv6, mapped addresses, lists and
// values with something after the address.
func TestHTTPMatchIPAsHAProxy(t *testing.T) {
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n" +
		"    http-request return status 200 content-type text/plain string in if { req.hdr(x-f) -m ip 192.0.2.0/24 2001:db8::/32 10.1.0.0/255.255.0.0 }\n" +
		"    http-request return status 403 content-type text/plain string out\n"
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, hp), hp)
	startRuntime(t, fmt.Sprintf(cfg, gp))
	for _, v := range []string{"192.0.2.7", "192.0.3.7", "2001:db8::5", "::ffff:192.0.2.9", "10.1.2.3",
		"192.0.2.7, 10.9.9.9", "10.9.9.9, 192.0.2.7", "junk", "192.0.2.7:80", "192.0.2.7x", "[2001:db8::1]:80",
		"192.0.2", "2001:db8::1%eth0", "192.0.2.7/32"} {
		req := "GET / HTTP/1.1\r\nHost: h\r\nX-F: " + v + "\r\nConnection: close\r\n\r\n"
		ha, gh := statuses(rawExchange(t, hp, req, 2*time.Second)), statuses(rawExchange(t, gp, req, 2*time.Second))
		if ha != gh {
			t.Errorf("X-F: %s: haproxy %s, gohaka %s", v, ha, gh)
		}
	}
}

// TestHreqResetClearsEverything: reset (field by field, for speed) leaves
// no field of the previous request behind, fields added later included.
func TestHreqResetClearsEverything(t *testing.T) {
	h := &hconn{fe: &frontend{http: &httpFE{}}, reqs: 3} // not the first request: firstReq false
	h.ob.cc = &countConn{}
	q := &h.q
	// every field of q set to something that is not its reset value
	v := reflect.ValueOf(q).Elem()
	var dirty func(name string, f reflect.Value)
	dirty = func(name string, f reflect.Value) {
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(7)
		case reflect.String:
			f.SetString("old")
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Func:
			f.Set(reflect.MakeFunc(f.Type(), func([]reflect.Value) []reflect.Value { return []reflect.Value{reflect.ValueOf(true)} }))
		case reflect.Array: // of structs: each field of each element
			for j := 0; j < f.Len(); j++ {
				e := f.Index(j)
				for k := 0; k < e.NumField(); k++ {
					dirty(name, reflect.NewAt(e.Field(k).Type(), unsafe.Pointer(e.Field(k).UnsafeAddr())).Elem())
				}
			}
		default:
			t.Fatalf("hreq.%s: kind %v not handled by this test", name, f.Kind())
		}
	}
	for i := 0; i < v.NumField(); i++ {
		dirty(v.Type().Field(i).Name, reflect.NewAt(v.Field(i).Type(), unsafe.Pointer(v.Field(i).UnsafeAddr())).Elem())
	}
	q.reset(h, h.fe)
	want := hreq{ci: &h.ci, rt: h.r, fe: h.fe, arena: h.arena[:0], conv: h.conv[:0], caps: &h.ob.reqVals, rcaps: &h.ob.cc.resVals, vars: q.vars[:0], cacheTx: &h.cache, ob: &h.ob}
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		got := reflect.NewAt(v.Field(i).Type(), unsafe.Pointer(v.Field(i).UnsafeAddr())).Elem()
		w := reflect.ValueOf(&want).Elem().Field(i)
		w = reflect.NewAt(w.Type(), unsafe.Pointer(w.UnsafeAddr())).Elem()
		switch got.Kind() {
		case reflect.Slice:
			if got.Len() != w.Len() {
				t.Errorf("hreq.%s: %d elements after reset, want %d", name, got.Len(), w.Len())
			}
		case reflect.Func:
			if !got.IsNil() {
				t.Errorf("hreq.%s: still set after reset", name)
			}
		default:
			if !reflect.DeepEqual(got.Interface(), w.Interface()) {
				t.Errorf("hreq.%s = %v after reset, want %v", name, got.Interface(), w.Interface())
			}
		}
	}
}
