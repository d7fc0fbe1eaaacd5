package proxy

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStickOnSrcAsHAProxy: with `stick-table type ip` and `stick on
// src` (tcp mode, roundrobin over three servers), six client addresses
// get the servers haproxy 2.6 gives them: balanced the first time, the
// same one while their entry lives, balanced again once it expired; in
// mode http too; `show table` and `show table l` list the same entries
// (pointers and lifetimes blanked). A stick rule naming a table that does not exist is
// refused by check (parser test) and one of an unsupported type at start.
func TestStickOnSrcAsHAProxy(t *testing.T) {
	tcpSrv := nameBackends(t, 3)
	httpSrv := []int{statusServer(t, "s1"), statusServer(t, "s2"), statusServer(t, "s3")}
	sockDir := t.TempDir()
	for _, mode := range []string{"tcp", "http"} {
		srv := tcpSrv
		if mode == "http" {
			srv = httpSrv
		}
		cfg := func(p int) string {
			return fmt.Sprintf("global\n    stats socket %s/%s%d.sock level admin\n", sockDir, mode, p) + fmt.Sprintf("defaults\n    mode %s\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"+
				"listen l\n    bind 127.0.0.1:%d\n    balance roundrobin\n    stick-table type ip size 100 expire 1500ms\n    stick on src\n"+
				"    server s1 127.0.0.1:%d\n    server s2 127.0.0.1:%d\n    server s3 127.0.0.1:%d\n", mode, p, srv[0], srv[1], srv[2])
		}
		// pointers, lifetimes and counts blanked; the entry of the listener
		// probe (127.0.0.1) may have expired in one and not the other
		probe := regexp.MustCompile(`(?m)^0x[0-9a-f]+: key=127\.0\.0\.1 .*\n`)
		ptr, exp, used := regexp.MustCompile(`0x[0-9a-f]+:`), regexp.MustCompile(`exp=\d+`), regexp.MustCompile(`used:\d+`)
		norm := func(s string) string {
			return used.ReplaceAllString(exp.ReplaceAllString(ptr.ReplaceAllString(probe.ReplaceAllString(s, ""), "PTR:"), "exp=N"), "used:N")
		}
		run := func(p int) string {
			var out []string
			get := func(ip string) string {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
				c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				if mode == "http" {
					io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
				}
				b, _ := io.ReadAll(c)
				return strings.TrimSpace(string(b[max(0, len(b)-3):]))
			}
			ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}
			for round := 0; round < 3; round++ {
				if round == 2 {
					time.Sleep(1700 * time.Millisecond) // the entries expire
					ips = []string{"127.0.0.7", "127.0.0.2", "127.0.0.5"}
				}
				for _, ip := range ips {
					out = append(out, ip[8:]+"="+get(ip))
				}
				out = append(out, "|")
				if round == 1 { // the tables as the CLI shows them, entry lifetimes blanked
					sock := fmt.Sprintf("unix:%s/%s%d.sock", sockDir, mode, p)
					out = append(out, norm(cliQuery(t, sock, "show table")), norm(cliQuery(t, sock, "show table l")))
				}
			}
			return strings.Join(out, " ")
		}
		hp, gp := freePort(t), freePort(t)
		runHAProxy(t, cfg(hp), hp)
		startRuntime(t, cfg(gp))
		h := run(hp)
		portOpen(gp) // as runHAProxy looked at its port just before (in tcp mode, a connection balanced and stuck like any)
		g := run(gp)
		if h != g {
			t.Errorf("%s mode:\nhaproxy %s\ngohaka  %s", mode, h, g)
		}
		t.Logf("%s mode: %s", mode, g)
	}
}
