package proxy

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUniqueIDAsHAProxy: unique-id-format (with the +X hex flag and
// without), unique-id-header to the server, %[unique-id] and %ID give
// the values haproxy 2.6 gives, once the client port, time and pid (which
// differ between the two runs) are checked and blanked.
func TestUniqueIDAsHAProxy(t *testing.T) {
	sp := answerHeads(t, func(head string) (string, bool) {
		body := "no header"
		if id := regexp.MustCompile(`(?i)\r\nx-request-id: ([^\r]*)`).FindStringSubmatch(head); id != nil {
			body = id[1]
		}
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body), true
	})
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend hex\n    bind 127.0.0.1:%d\n    unique-id-format %%{+X}o\\ %%ci:%%cp_%%fi:%%fp_%%Ts_%%rt:%%pid\n    unique-id-header X-Request-ID\n" +
		"    http-request return status 200 content-type text/plain lf-string \"%%[unique-id]\" if { path /fetch }\n    default_backend be\n" +
		"frontend dec\n    bind 127.0.0.1:%d\n    unique-id-format %%ci:%%cp_%%fi:%%fp_%%Ts_%%rt\n    unique-id-header X-Request-ID\n    default_backend be\n" +
		"backend be\n    server s 127.0.0.1:%d\n"
	norm := func(v string, cport, fport int, hexed bool) string {
		cp, fp, ts := fmt.Sprint(cport), fmt.Sprint(fport), `\d{10}`
		if hexed {
			cp, fp, ts = fmt.Sprintf("%04X", cport), fmt.Sprintf("%04X", fport), `[0-9A-F]{8}`
		}
		v = strings.Replace(v, ":"+cp+"_", ":CP_", 1)
		v = strings.Replace(v, ":"+fp+"_", ":FP_", 1)
		v = regexp.MustCompile(`_`+ts+`_`).ReplaceAllString(v, "_TS_")
		return regexp.MustCompile(`:[0-9A-F]+$`).ReplaceAllString(v, ":PID")
	}
	run := func(start func(cfg string, ports [2]int)) []string {
		ports := [2]int{freePort(t), freePort(t)}
		start(fmt.Sprintf(cfg, ports[0], ports[1], sp), ports)
		var out []string
		for k, p := range ports {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				t.Fatal(err)
			}
			cport := c.LocalAddr().(*net.TCPAddr).Port
			for _, path := range []string{"/a", "/fetch", "/b"} {
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path)
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				_, body, _ := strings.Cut(string(buf[:n]), "\r\n\r\n")
				out = append(out, fmt.Sprintf("%d %s: %s", k, path, norm(body, cport, p, k == 0)))
			}
			c.Close()
		}
		return out
	}
	ha := run(func(cfg string, ports [2]int) { runHAProxy(t, cfg, ports[0]) })
	gh := run(func(cfg string, ports [2]int) { startRuntime(t, cfg) })
	if strings.Join(ha, "\n") != strings.Join(gh, "\n") {
		t.Errorf("unique ids:\nhaproxy:\n%s\ngohaka:\n%s", strings.Join(ha, "\n"), strings.Join(gh, "\n"))
	}
}
