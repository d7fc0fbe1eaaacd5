package h1

import "bytes"

// requestSemantics checks what haproxy checks once a request head is read:
// body framing, Host against an absolute target, Connection and Expect.
func requestSemantics(m *Msg) error {
	if err := bodySemantics(m, true); err != nil {
		return err
	}
	var host []byte
	ws, wsKey := false, false
	for i := range m.Headers {
		h := &m.Headers[i]
		switch {
		case EqualFold(h.Name, "host"):
			if host != nil && !bytes.EqualFold(host, h.Value) {
				return ErrBad
			}
			host = h.Value
		case EqualFold(h.Name, "upgrade"):
			ws = ws || bytes.EqualFold(h.Value, []byte("websocket"))
		case EqualFold(h.Name, "sec-websocket-key"):
			wsKey = true
		case EqualFold(h.Name, "expect"):
			if bytes.EqualFold(h.Value, []byte("100-continue")) {
				m.Expect100 = true
			}
		}
	}
	if ws && m.Upgrade && !wsKey {
		return ErrBad // haproxy 2.6 refuses a websocket upgrade without its key
	}
	if auth, ok := Authority(m.URI); ok && host != nil && !bytes.EqualFold(auth, host) {
		return ErrBad
	}
	return nil
}

// Authority returns the authority of an absolute-form target.
func Authority(uri []byte) ([]byte, bool) {
	i := bytes.Index(uri, []byte("://"))
	if i <= 0 || uri[0] == '/' {
		return nil, false
	}
	rest := uri[i+3:]
	if j := bytes.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

// bodySemantics reads Content-Length, Transfer-Encoding and Connection.
func bodySemantics(m *Msg, isReq bool) error {
	te := 0 // Transfer-Encoding headers seen
	for i := range m.Headers {
		h := &m.Headers[i]
		switch {
		case EqualFold(h.Name, "content-length"):
			n, err := parseCL(h.Value)
			if err != nil {
				return err
			}
			if m.ContentLength >= 0 && m.ContentLength != n {
				return ErrBad
			}
			m.ContentLength = n
		case EqualFold(h.Name, "transfer-encoding"):
			te++
			if err := parseTE(h.Value, m, isReq); err != nil {
				return err
			}
		case EqualFold(h.Name, "connection"):
			forTokens(h.Value, func(t []byte) {
				switch {
				case bytes.EqualFold(t, []byte("close")):
					m.ConnClose = true
				case bytes.EqualFold(t, []byte("keep-alive")):
					m.ConnKeepAlive = true
				case bytes.EqualFold(t, []byte("upgrade")):
					m.Upgrade = true
				}
			})
		}
	}
	if te > 0 {
		if !m.Chunked {
			if isReq {
				return ErrBad
			}
			m.ContentLength = -1 // the response runs until close
		}
		if m.Chunked {
			// haproxy drops Content-Length when chunked, and ends the
			// connection after a message that had both, or a chunked
			// HTTP/1.0 request
			if m.ContentLength >= 0 || isReq && m.Major == 1 && m.Minor == 0 {
				m.Ambiguous = true
			}
			m.ContentLength = -1
		}
	}
	return nil
}

// parseCL reads a Content-Length value: digits, maybe a list of equal values.
func parseCL(v []byte) (int64, error) {
	var out int64 = -1
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		item := v
		if i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		item = trimOWS(item)
		if len(item) == 0 {
			return 0, ErrBad
		}
		var n int64
		for _, c := range item {
			if c < '0' || c > '9' || n > (1<<62)/10 {
				return 0, ErrBad
			}
			n = n*10 + int64(c-'0')
		}
		if out >= 0 && n != out {
			return 0, ErrBad
		}
		out = n
		if i >= 0 && len(trimOWS(v)) == 0 {
			return 0, ErrBad
		}
	}
	if out < 0 {
		return 0, ErrBad
	}
	return out, nil
}

// parseTE reads a Transfer-Encoding value as haproxy 2.6: chunked must be
// last and only once; other codings in a request are answered 422.
func parseTE(v []byte, m *Msg, isReq bool) error {
	var err error
	other := false
	forTokens(v, func(t []byte) {
		if err != nil {
			return
		}
		if bytes.EqualFold(t, []byte("chunked")) {
			if m.Chunked {
				err = ErrBad // chunked applied twice
			}
			m.Chunked = true
			return
		}
		if m.Chunked {
			err = ErrBad // a coding after chunked
			return
		}
		other = true
	})
	if err != nil {
		return err
	}
	if other && isReq && m.Chunked {
		return ErrUnprocessable
	}
	if !m.Chunked && isReq {
		return ErrBad
	}
	return nil
}

func forTokens(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		t := v
		if i >= 0 {
			t, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if t = trimOWS(t); len(t) > 0 {
			f(t)
		}
	}
}
