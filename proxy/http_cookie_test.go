package proxy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const httpCookieConfig = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option redispatch

frontend fe
    bind 127.0.0.1:%[1]d
    use_backend be_prefix if { path_beg /prefix }
    use_backend be_rewrite if { path_beg /rewrite }
    use_backend be_plain if { path_beg /plain }
    use_backend be_down if { path_beg /down }
    use_backend be_post if { path_beg /post }
    default_backend be_insert

backend be_insert
    cookie SERVERID insert indirect nocache httponly secure domain .example.com
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2

backend be_plain
    cookie SRV insert
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2

backend be_prefix
    cookie JSESSIONID prefix
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2

backend be_rewrite
    cookie JSESSIONID rewrite
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2

backend be_post
    cookie SRV insert postonly secure attr "SameSite=Lax" attr Partitioned
    server s1 127.0.0.1:%[2]d cookie c1
    server s2 127.0.0.1:%[3]d cookie c2

backend be_down
    cookie SERVERID insert indirect
    server s1 127.0.0.1:%[2]d cookie c1 check inter 100ms fall 1
    server s2 127.0.0.1:%[4]d cookie c2 check inter 100ms fall 1
`

// TestHTTPCookiesSameAsHAProxy runs cookie insert (indirect, nocache,
// httponly, secure, domain, postonly, attr), plain insert, prefix and rewrite through real
// haproxy and gohaka: the Set-Cookie headers, the cookies the servers get
// and the server each request sticks to must be the same.
func TestHTTPCookiesSameAsHAProxy(t *testing.T) {
	a, b := httpEchoServer(t, "A"), httpEchoServer(t, "B")
	dead := deadPort(t)
	hp, gp := freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(httpCookieConfig, hp, a, b, dead), hp)
	startRuntime(t, fmt.Sprintf(httpCookieConfig, gp, a, b, dead))
	time.Sleep(500 * time.Millisecond) // the checks mark be_down/s2 down
	h := "Host: a.example\r\nConnection: close\r\n"
	reqs := []string{
		"GET /i HTTP/1.1\r\n" + h + "\r\n",
		"GET /i HTTP/1.1\r\n" + h + "Cookie: SERVERID=c2\r\n\r\n",
		"GET /i HTTP/1.1\r\n" + h + "Cookie: a=1; SERVERID=c1; b=2\r\n\r\n",
		"GET /i HTTP/1.1\r\n" + h + "Cookie: SERVERID=zz\r\n\r\n",
		"POST /i HTTP/1.1\r\n" + h + "Cookie: SERVERID=c2\r\nContent-Length: 2\r\n\r\nok",
		"GET /plain HTTP/1.1\r\n" + h + "\r\n",
		"GET /plain HTTP/1.1\r\n" + h + "Cookie: SRV=c2\r\n\r\n",
		"GET /prefix/setcookie HTTP/1.1\r\n" + h + "\r\n",
		"GET /prefix HTTP/1.1\r\n" + h + "Cookie: JSESSIONID=c2~abc\r\n\r\n",
		"GET /prefix HTTP/1.1\r\n" + h + "Cookie: JSESSIONID=abc\r\n\r\n",
		"GET /rewrite/setcookie HTTP/1.1\r\n" + h + "\r\n",
		"GET /rewrite HTTP/1.1\r\n" + h + "Cookie: JSESSIONID=c2\r\n\r\n",
		"GET /down HTTP/1.1\r\n" + h + "Cookie: SERVERID=c2\r\n\r\n",
		"GET /post HTTP/1.1\r\n" + h + "\r\n",
		"POST /post HTTP/1.1\r\n" + h + "Content-Length: 2\r\n\r\nok",
		"POST /post HTTP/1.1\r\n" + h + "Cookie: SRV=c1\r\nContent-Length: 2\r\n\r\nok",
	}
	for _, rq := range reqs {
		for i := 0; i < 2; i++ { // twice: the round robin moves on
			ho := rawExchange(t, hp, rq+"", 2*time.Second)
			g := rawExchange(t, gp, rq, 2*time.Second)
			if ho != g {
				t.Errorf("%q:\nhaproxy: %q\ngohaka:  %q", strings.SplitN(rq, "\r\n", 2)[0]+" "+rq[strings.Index(rq, "\r\n"):], clip(ho), clip(g))
			}
		}
	}
}
