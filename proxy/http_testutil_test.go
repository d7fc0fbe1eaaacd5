package proxy

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohaka/gohaka/proxy/h1"
)

// httpEchoServer is a keep-alive HTTP/1.1 backend that answers every
// request with its name and the head and body it received. Paths select
// other answers: /close (no length, then close), /chunked (a chunked
// answer), /204, /ws (101 Switching Protocols then echo).
func httpEchoServer(t *testing.T, name string) int {
	return serveEach(t, func(c net.Conn) {
		go echoHTTPConn(c, name)
	})
}

func echoHTTPConn(c net.Conn, name string) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	n := 0
	var m h1.Msg
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		err := h1.ParseRequest(buf[:n], &m, 1<<20)
		if err == h1.ErrIncomplete {
			k, rerr := c.Read(buf[n:])
			if rerr != nil {
				return
			}
			n += k
			continue
		}
		if err != nil {
			c.Write([]byte("HTTP/1.1 400 Bad\r\ncontent-length: 0\r\n\r\n"))
			return
		}
		head := append([]byte{}, buf[:m.HeadLen]...)
		path := string(m.URI)
		if m.Expect100 {
			c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
		}
		// read the body
		var body []byte
		rest := buf[m.HeadLen:n]
		switch {
		case m.Chunked:
			var ck h1.Chunks
			for {
				k, err := ck.Feed(rest)
				if err != nil {
					return
				}
				body = append(body, rest[:k]...)
				if ck.Done() {
					rest = rest[k:]
					break
				}
				tmp := make([]byte, 4096)
				r, rerr := c.Read(tmp)
				if rerr != nil {
					return
				}
				rest = tmp[:r]
			}
		case m.ContentLength > 0:
			for int64(len(rest)) < m.ContentLength {
				tmp := make([]byte, 4096)
				r, rerr := c.Read(tmp)
				if rerr != nil {
					return
				}
				rest = append(append([]byte{}, rest...), tmp[:r]...)
			}
			body = rest[:m.ContentLength]
			rest = rest[m.ContentLength:]
		}
		rest = append([]byte{}, rest...)
		n = copy(buf, rest)
		payload := []byte("server " + name + "\n")
		payload = append(payload, head...)
		payload = append(payload, body...)
		switch {
		case strings.HasPrefix(path, "/slow"):
			time.Sleep(time.Second)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		case strings.HasPrefix(path, "/badresp"):
			fmt.Fprintf(c, "HTTP/1.1 abc\r\n\r\n")
			return
		case strings.HasPrefix(path, "/empty"):
			return
		case strings.Contains(path, "/setcookie"):
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Server: %s\r\nSet-Cookie: JSESSIONID=abc; Path=/\r\nContent-Length: %d\r\n\r\n%s", name, len(payload), payload)
		case strings.HasPrefix(path, "/close"):
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Server: %s\r\n\r\n%s", name, payload)
			return
		case strings.HasPrefix(path, "/chunked"):
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Server: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", name, len(payload), payload)
		case strings.HasPrefix(path, "/204"):
			fmt.Fprintf(c, "HTTP/1.1 204 No Content\r\nX-Server: %s\r\n\r\n", name)
		case strings.HasPrefix(path, "/ws"):
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
			c.SetReadDeadline(time.Time{})
			for {
				k, err := c.Read(buf)
				if err != nil {
					return
				}
				c.Write(bytes.ToUpper(buf[:k]))
			}
		default:
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Server: %s\r\nX-Server-Del: gone\r\nContent-Length: %d\r\n\r\n%s", name, len(payload), payload)
		}
		if m.ConnClose {
			return
		}
	}
}

// rawExchange sends raw bytes on a new connection and returns all the
// client got until the proxy closed or wait passed.
func rawExchange(t *testing.T, port int, req string, wait time.Duration) string {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(req))
	c.SetReadDeadline(time.Now().Add(wait))
	var out []byte
	tmp := make([]byte, 64<<10)
	for {
		k, err := c.Read(tmp)
		out = append(out, tmp[:k]...)
		if err != nil {
			break
		}
	}
	return string(out)
}

var statusRe = regexp.MustCompile(`HTTP/1\.[01] (\d{3})`)

// statuses lists the status codes of the responses in a raw exchange.
func statuses(out string) string {
	var s []string
	for _, m := range statusRe.FindAllStringSubmatch(out, -1) {
		s = append(s, m[1])
	}
	return strings.Join(s, " ")
}

// startBoth runs haproxy and gohaka with the same config: cfg's first
// verb is the listening port, args fill the rest.
func startBoth(t *testing.T, cfg string, args ...any) (hp, gp int) {
	hp, gp = freePort(t), freePort(t)
	runHAProxy(t, fmt.Sprintf(cfg, append([]any{hp}, args...)...), hp)
	startRuntime(t, fmt.Sprintf(cfg, append([]any{gp}, args...)...))
	return hp, gp
}

// linesWith is the lines of a raw exchange that start with one of the
// prefixes, joined: what a comparison looks at.
func linesWith(out string, prefixes ...string) string {
	var keep []string
	for _, l := range strings.Split(out, "\r\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				keep = append(keep, l)
				break
			}
		}
	}
	return strings.Join(keep, " | ")
}

// hitCounter counts the requests a test server got, by path.
type hitCounter struct {
	mu sync.Mutex
	m  map[string]int
}

// add counts one more request for path and returns its number.
func (h *hitCounter) add(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]int{}
	}
	h.m[path]++
	return h.m[path]
}

// snapshot is a copy of the counts.
func (h *hitCounter) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.m {
		out[k] = v
	}
	return out
}

// readHead reads from c, after the bytes already got, until a request
// head is complete: the head, what came after it, false when c ended.
func readHead(c net.Conn, got string) (head, rest string, ok bool) {
	buf := make([]byte, 4096)
	for !strings.Contains(got, "\r\n\r\n") {
		k, err := c.Read(buf)
		if err != nil {
			return "", "", false
		}
		got += string(buf[:k])
	}
	i := strings.Index(got, "\r\n\r\n")
	return got[:i+4], got[i+4:], true
}

// answerHeads is a loopback server, a goroutine per connection, that
// answers each request head with what answer says; keep false closes the
// connection after that answer.
func answerHeads(t *testing.T, answer func(head string) (resp string, keep bool)) int {
	return serveEach(t, func(c net.Conn) {
		go func() {
			defer c.Close()
			got := ""
			for {
				head, rest, ok := readHead(c, got)
				if !ok {
					return
				}
				got = rest
				resp, keep := answer(head)
				c.Write([]byte(resp))
				if !keep {
					return
				}
			}
		}()
	})
}
