package proxy

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

const httpHashConfig = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%[1]d
    use_backend be_param if { path_beg /param }
    use_backend be_hdr if { path_beg /hdr }
    use_backend be_rr if { path_beg /rr }
    default_backend be_uri

backend be_uri
    balance uri
%[2]s
backend be_param
    balance url_param id
%[2]s
backend be_hdr
    balance hdr(X-Key)
    hash-type consistent
%[2]s
backend be_rr
    balance roundrobin
%[2]s
`

// TestHTTPHashSameServerAsHAProxy sends 1,000 keys per algorithm (uri,
// url_param, hdr with consistent hashing) through real haproxy and
// gohaka: each request must reach the same server through both. Weighted
// roundrobin must give each server the same share.
func TestHTTPHashSameServerAsHAProxy(t *testing.T) {
	servers := ""
	for i, w := range []int{1, 2, 3, 1} {
		p := httpEchoServer(t, fmt.Sprintf("s%d", i+1))
		servers += fmt.Sprintf("    server s%d 127.0.0.1:%d weight %d\n", i+1, p, w)
	}
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(httpHashConfig, hp, servers), hp)
	startRuntime(t, fmt.Sprintf(httpHashConfig, gp, servers))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(port int, path, key string) string {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		if key != "" {
			req.Header.Set("X-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Server")
	}
	for _, algo := range []string{"uri", "param", "hdr", "rr"} {
		seen, hseen := map[string]int{}, map[string]int{}
		diff := 0
		n := 1000
		if algo == "rr" {
			n = 7 * 142 // whole cycles of the weights 1+2+3+1
		}
		for i := 0; i < n; i++ {
			path, key := fmt.Sprintf("/u/%d/x?q=%d", i, i*7), ""
			switch algo {
			case "param":
				path = fmt.Sprintf("/param?a=1&id=user%d", i)
			case "hdr":
				path, key = "/hdr", fmt.Sprintf("key-%d", i)
			case "rr":
				path = "/rr"
			}
			h, g := get(hp, path, key), get(gp, path, key)
			seen[g]++
			hseen[h]++
			if algo == "rr" {
				// the balance package's weighted round robin visits the
				// servers in another order within a cycle than haproxy's
				// (same shares): only the shares are compared
				continue
			}
			if h != g || h == "" {
				diff++
				if diff < 5 {
					t.Errorf("%s %s %s: haproxy %q, gohaka %q", algo, path, key, h, g)
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d/1000 requests went elsewhere", algo, diff)
		}
		if fmt.Sprint(seen) != fmt.Sprint(hseen) {
			t.Errorf("%s: shares haproxy %v, gohaka %v", algo, hseen, seen)
		}
		if len(seen) < 3 {
			t.Errorf("%s: only servers %v were used", algo, seen)
		}
		t.Logf("%s: %v", algo, seen)
	}
}
