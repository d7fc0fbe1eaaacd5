package check

import "strings"

func words(s string) []string { return strings.Fields(s) }

// diffCases lists the checks compared with haproxy. backend is haproxy
// text; spec is what the lead's config mapping hands to Build for it.
func diffCases() []diffCase {
	ok200 := reply(untilHTTPRequest, string(httpReply("200 OK", "ok")))
	sslMask := func(b []byte) []byte { // the 4-byte Unix time in the random
		if len(b) >= 15 {
			copy(b[11:15], "TIME")
		}
		return b
	}
	mysqlGreeting := func() []byte {
		p := []byte("\x0a5.7.0-test\x00\x01\x00\x00\x00abcdefgh\x00\xff\xf7\x21\x02\x00\xff\x81\x15")
		p = append(p, make([]byte, 10)...)
		p = append(p, "ijklmnopqrst\x00mysql_native_password\x00"...)
		return append([]byte{byte(len(p)), 0, 0, 0}, p...)
	}()
	mysqlOK := "\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00"
	mysqlErr := "\x16\x00\x00\x02\xff\x15\x04#28000Access denied"
	cs := []diffCase{
		{name: "plain_l4ok", spec: Spec{}, server: serverScript{}, noBytes: true},
		{name: "httpchk_default", backend: "  option httpchk", spec: Spec{Type: "httpchk"}, server: ok200},
		{name: "httpchk_old_hdrs", backend: `  option httpchk GET /health HTTP/1.1\r\nHost:\ www.example.com\r\nX-A:\ b`,
			spec:   Spec{Type: "httpchk", Args: []string{"GET", "/health", "HTTP/1.1\r\nHost: www.example.com\r\nX-A: b"}},
			server: reply(untilHTTPRequest, string(httpReply("500 Oops", "")))},
		{name: "httpchk_uri_only", backend: "  option httpchk /ping", spec: Spec{Type: "httpchk", Args: []string{"/ping"}},
			server: reply(untilHTTPRequest, string(httpReply("301 Moved", "")))},
		{name: "http_send_hdr", backend: "  option httpchk\n  http-check send meth GET uri /st ver HTTP/1.1 hdr Host www.x hdr X-Foo bar\n  http-check expect status 200",
			spec: Spec{Type: "httpchk", HTTPCheck: [][]string{
				words("send meth GET uri /st ver HTTP/1.1 hdr Host www.x hdr X-Foo bar"), words("expect status 200")}},
			server: ok200},
		{name: "http_send_body", backend: "  option httpchk\n  http-check send meth POST uri /p ver HTTP/1.1 hdr Content-Type text/plain body hello\n  http-check expect string ok",
			spec: Spec{Type: "httpchk", HTTPCheck: [][]string{
				words("send meth POST uri /p ver HTTP/1.1 hdr Content-Type text/plain body hello"), words("expect string ok")}},
			server: reply(untilSeq("hello"), string(httpReply("200 OK", "nope")))},
		{name: "http_not_string", backend: "  option httpchk\n  http-check expect ! string hello",
			spec:   Spec{Type: "httpchk", HTTPCheck: [][]string{words("expect ! string hello")}},
			server: reply(untilHTTPRequest, string(httpReply("200 OK", "hello")))},
		{name: "http_rstatus", backend: "  option httpchk GET /\n  http-check expect rstatus ^3",
			spec:   Spec{Type: "httpchk", Args: words("GET /"), HTTPCheck: [][]string{words("expect rstatus ^3")}},
			server: ok200},
		{name: "http_rstring", backend: "  option httpchk GET /\n  http-check expect rstring ^o.$",
			spec:   Spec{Type: "httpchk", Args: words("GET /"), HTTPCheck: [][]string{words("expect rstring ^o.$")}},
			server: ok200},
		{name: "http_500", backend: "  option httpchk HEAD /x", spec: Spec{Type: "httpchk", Args: words("HEAD /x")},
			server: reply(untilHTTPRequest, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")},
		{name: "http_404_nolb", backend: "  option httpchk\n  http-check disable-on-404",
			spec:   Spec{Type: "httpchk", DisableOn404: true},
			server: reply(untilHTTPRequest, string(httpReply("404 Not Found", "")))},
		{name: "http_garbage", backend: "  option httpchk", spec: Spec{Type: "httpchk"},
			server: replyFin(untilHTTPRequest, "garbage\r\n\r\n")},
		{name: "http_conn_10", backend: "  option httpchk\n  http-check send meth GET uri /a ver HTTP/1.0 hdr Connection close hdr X-Y z",
			spec:   Spec{Type: "httpchk", HTTPCheck: [][]string{words("send meth GET uri /a ver HTTP/1.0 hdr Connection close hdr X-Y z")}},
			server: ok200},
		{name: "http_two_conns", backend: "  option httpchk\n  http-check connect\n  http-check send meth GET uri /a ver HTTP/1.1 hdr host x\n  http-check expect status 200\n  http-check connect\n  http-check send meth GET uri /b ver HTTP/1.1 hdr host x\n  http-check expect string ko",
			spec: Spec{Type: "httpchk", HTTPCheck: [][]string{words("connect"), words("send meth GET uri /a ver HTTP/1.1 hdr host x"),
				words("expect status 200"), words("connect"), words("send meth GET uri /b ver HTTP/1.1 hdr host x"), words("expect string ko")}},
			server: ok200},
		{name: "tcp_send_expect", backend: "  option tcp-check\n  tcp-check send hello\\r\\n\n  tcp-check send-binary 0102ff\n  tcp-check expect string OK",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{{"send", "hello\r\n"}, words("send-binary 0102ff"), words("expect string OK")}},
			server: reply(untilBytes(10), "OK\r\n")},
		{name: "tcp_expect_fail", backend: "  option tcp-check\n  tcp-check send hi\\r\\n\n  tcp-check expect string OK",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{{"send", "hi\r\n"}, words("expect string OK")}},
			server: replyFin(untilBytes(4), "nope\r\n")},
		{name: "tcp_expect_not", backend: "  option tcp-check\n  tcp-check send hi\\r\\n\n  tcp-check expect ! string nope",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{{"send", "hi\r\n"}, words("expect ! string nope")}},
			server: replyFin(untilBytes(4), "nope\r\n")},
		{name: "tcp_rstring", backend: "  option tcp-check\n  tcp-check comment greeting\n  tcp-check expect rstring ^OK",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{words("comment greeting"), words("expect rstring ^OK")}},
			server: serverScript{greet: []byte("NO\r\n"), fin: true}, noBytes: true},
		{name: "tcp_timeout_comment", backend: "  option tcp-check\n  tcp-check send x\n  tcp-check expect string OK comment waiting",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{words("send x"), words("expect string OK comment waiting")}},
			server: serverScript{}},
		{name: "tcp_binary", backend: "  option tcp-check\n  tcp-check send-binary 50494e47\n  tcp-check expect binary 504f4e47",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{words("send-binary 50494e47"), words("expect binary 504f4e47")}},
			server: replyFin(untilBytes(4), "PANG")},
		{name: "tcp_empty", backend: "  option tcp-check\n  tcp-check send x\n  tcp-check expect string OK",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{words("send x"), words("expect string OK")}},
			server: replyFin(untilBytes(1), "")},
		{name: "tcp_status_opts", backend: "  option tcp-check\n  tcp-check send x\n  tcp-check expect error-status L7STS on-error boom string OK",
			spec:   Spec{Type: "tcp-check", TCPCheck: [][]string{words("send x"), words("expect error-status L7STS on-error boom string OK")}},
			server: replyFin(untilBytes(1), "KO")},
		{name: "ssl_hello_ok", backend: "  option ssl-hello-chk", spec: Spec{Type: "ssl-hello-chk"},
			server: reply(untilBytes(126), "\x16\x03\x01\x00\x10"), mask: sslMask},
		{name: "ssl_hello_bad", backend: "  option ssl-hello-chk", spec: Spec{Type: "ssl-hello-chk"},
			server: replyFin(untilBytes(126), "HTTP/1.0 400 Bad\r\n\r\n"), mask: sslMask},
		{name: "redis_ok", backend: "  option redis-check", spec: Spec{Type: "redis-check"}, server: reply(untilSeq("PING\r\n"), "+PONG\r\n")},
		{name: "redis_err", backend: "  option redis-check", spec: Spec{Type: "redis-check"}, server: replyFin(untilSeq("PING\r\n"), "-ERR no\r\n")},
		{name: "ldap_ok", backend: "  option ldap-check", spec: Spec{Type: "ldap-check"},
			server: reply(untilBytes(14), "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00")},
		{name: "ldap_49", backend: "  option ldap-check", spec: Spec{Type: "ldap-check"},
			server: reply(untilBytes(14), "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00")},
		{name: "ldap_not_v3", backend: "  option ldap-check", spec: Spec{Type: "ldap-check"},
			server: replyFin(untilBytes(14), "HELLO THERE, LDAP?\r\n")},
		{name: "smtp_ok", backend: "  option smtpchk", spec: Spec{Type: "smtpchk"},
			server: serverScript{greet: []byte("220 mx ESMTP ready\r\n"), steps: []exchange{{untilSeq("\r\n"), []byte("250 mx hello\r\n")}, {untilSeq("QUIT\r\n"), []byte("221 bye\r\n")}}}},
		{name: "smtp_ehlo", backend: "  option smtpchk EHLO mail.example.com", spec: Spec{Type: "smtpchk", Args: words("EHLO mail.example.com")},
			server: serverScript{greet: []byte("220 mx\r\n"), steps: []exchange{{untilSeq("\r\n"), []byte("250-mx\r\n250 SIZE 1000\r\n")}, {untilSeq("QUIT\r\n"), []byte("221 bye\r\n")}}}},
		{name: "smtp_noquit", backend: "  option smtpchk", spec: Spec{Type: "smtpchk"},
			server: serverScript{greet: []byte("220 mx\r\n"), steps: []exchange{{untilSeq("\r\n"), []byte("250 ok\r\n")}, {untilSeq("QUIT\r\n"), nil}}, fin: true}},
		{name: "smtp_garbage", backend: "  option smtpchk", spec: Spec{Type: "smtpchk"},
			server: serverScript{greet: []byte("hello there\r\n"), fin: true}, noBytes: true},
		{name: "smtp_banner_554", backend: "  option smtpchk", spec: Spec{Type: "smtpchk"},
			server: serverScript{greet: []byte("554 go away\r\n"), fin: true}, noBytes: true},
		{name: "smtp_helo_550", backend: "  option smtpchk", spec: Spec{Type: "smtpchk"},
			server: serverScript{greet: []byte("220 mx\r\n"), steps: []exchange{{untilSeq("\r\n"), []byte("550 not you\r\n")}}, fin: true}},
		{name: "mysql_greeting", backend: "  option mysql-check", spec: Spec{Type: "mysql-check"},
			server: serverScript{greet: mysqlGreeting}, noBytes: true},
		{name: "mysql_user", backend: "  option mysql-check user haproxy", spec: Spec{Type: "mysql-check", Args: words("user haproxy")},
			server: serverScript{greet: mysqlGreeting, steps: []exchange{{untilBytes(4), []byte(mysqlOK)}}}},
		{name: "mysql_pre41", backend: "  option mysql-check user haproxy pre-41", spec: Spec{Type: "mysql-check", Args: words("user haproxy pre-41")},
			server: serverScript{greet: mysqlGreeting, steps: []exchange{{untilBytes(4), []byte(mysqlOK)}}}},
		{name: "mysql_denied", backend: "  option mysql-check user bob", spec: Spec{Type: "mysql-check", Args: words("user bob")},
			server: serverScript{greet: mysqlGreeting, steps: []exchange{{untilBytes(4), []byte(mysqlErr)}}}},
		{name: "pgsql_ok", backend: "  option pgsql-check user pguser", spec: Spec{Type: "pgsql-check", Args: words("user pguser")},
			server: reply(untilBytes(21), "R\x00\x00\x00\x08\x00\x00\x00\x00")},
		{name: "pgsql_md5", backend: "  option pgsql-check user pguser", spec: Spec{Type: "pgsql-check", Args: words("user pguser")},
			server: reply(untilBytes(21), "R\x00\x00\x00\x0c\x00\x00\x00\x05salt")},
		{name: "pgsql_error", backend: "  option pgsql-check user nobody", spec: Spec{Type: "pgsql-check", Args: words("user nobody")},
			server: replyFin(untilBytes(21), "E\x00\x00\x00\x2aSFATAL\x00C28000\x00Mrole \"nobody\" does not exist\x00\x00")},
		{name: "send_proxy_v2", backend: "  option tcp-check", srvOpts: "send-proxy-v2", sendProxy: 2,
			spec: Spec{Type: "tcp-check"}, server: serverScript{}},
		{name: "check_send_proxy_v1", srvOpts: "check-send-proxy", sendProxy: 1, spec: Spec{}, server: serverScript{},
			mask: func(b []byte) []byte { // the ports differ per connection
				f := strings.Fields(string(b))
				if len(f) == 6 {
					f[4], f[5] = "P", "P"
				}
				return []byte(strings.Join(f, " "))
			}},
	}
	for _, a := range []struct{ name, send, reply string }{
		{"agent_up_weight", "ping\n", "up 50%\n"},
		{"agent_down_desc", "", "down #why not\n"},
		{"agent_drain", "", "drain\n"},
		{"agent_garbage", "", "garbage 75%\n"},
		{"agent_maint", "", "maint\n"},
		{"agent_fail_trailing", "x\n", "fail 5%x\n"},
	} {
		var sc serverScript
		if a.send != "" {
			sc = reply(untilSeq(a.send), a.reply)
		} else {
			sc = serverScript{greet: []byte(a.reply)}
		}
		cs = append(cs, diffCase{name: a.name, agent: &sc, agentSend: a.send, server: serverScript{}})
	}
	return cs
}
