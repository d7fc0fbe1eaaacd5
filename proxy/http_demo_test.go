package proxy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestDemoConfig runs testdata/demo/haproxy.cfg (ports moved to free ones)
// and checks what the README shows: round robin between the two gohaka
// "servers", the redirect, the deny, the stats port's 503, and that a
// server whose check fails is left out.
func TestDemoConfig(t *testing.T) {
	text, err := os.ReadFile("../testdata/demo/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(text)
	ports := map[string]int{}
	for _, p := range []string{"8080", "8081", "8082", "8404"} {
		ports[p] = freePort(t)
		cfg = strings.ReplaceAll(cfg, "127.0.0.1:"+p, fmt.Sprintf("127.0.0.1:%d", ports[p]))
	}
	startRuntime(t, cfg)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(port int, path string) (int, string) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	var seq []string
	for i := 0; i < 4; i++ {
		_, body := get(ports["8080"], "/")
		seq = append(seq, strings.TrimSpace(body))
	}
	if s := strings.Join(seq, ","); s != "server A,server B,server A,server B" {
		t.Errorf("round robin: %s", s)
	}
	if st, _ := get(ports["8080"], "/home"); st != 302 {
		t.Errorf("/home: %d", st)
	}
	if st, _ := get(ports["8080"], "/admin"); st != 403 {
		t.Errorf("/admin: %d", st)
	}
	if st, body := get(ports["8404"], "/"); st != 200 || !strings.Contains(body, "web1") || !strings.Contains(body, "web2") {
		t.Errorf("stats page: %d, lists web1 and web2: %v", st, strings.Contains(body, "web1") && strings.Contains(body, "web2"))
	}
}

// TestHTTPHealthCheckLeavesDownServerOut: a server whose HTTP check fails
// gets no request once it is marked down; the other takes them all.
func TestHTTPHealthCheckLeavesDownServerOut(t *testing.T) {
	a := httpEchoServer(t, "A")
	dead := deadPort(t)
	fp := freePort(t)
	r := startRuntime(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    timeout check 500ms
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    option httpchk GET /health
    server a 127.0.0.1:%d check inter 100ms fall 1 rise 1
    server d 127.0.0.1:%d check inter 100ms fall 1 rise 1
`, fp, a, dead))
	be := r.backends["be"]
	waitFor(t, func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return be.bal.Servers()[1].State != 0
	}, "server d marked down")
	for i := 0; i < 10; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", fp))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Server") != "A" {
			t.Fatalf("request %d: %d from %q", i, resp.StatusCode, resp.Header.Get("X-Server"))
		}
	}
}
