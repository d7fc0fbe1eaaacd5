package proxy

// This file holds the JSON Web Token converters of haproxy 2.6:
// jwt_header_query, jwt_payload_query and jwt_verify.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strconv"
	"strings"
)

// jwtParts splits a compact JWS (header.payload.signature) at its dots:
// at most three parts, as haproxy reads a token.
func jwtParts(tok []byte) ([]string, bool) {
	s := strings.Split(string(tok), ".")
	return s, len(s) <= 3
}

func b64url(b []byte) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(string(b), "="))
}

// jwtQueryConv is jwt_header_query and jwt_payload_query([json_path
// [,int]]): the decoded part, or the value at a path ($.a.b, $.a[0]) in
// it.
func jwtQueryConv(name string, args []string, bad func(string) error) (convFn, error) {
	part := 0
	if name == "jwt_payload_query" {
		part = 1
	}
	path, typ := "", "str"
	if len(args) > 0 {
		path = args[0]
	}
	if len(args) > 1 && args[1] != "" {
		typ = args[1]
		if typ != "int" { // as in haproxy 2.6
			return nil, bad(`output_type only supports "int" as argument`)
		}
	}
	if path != "" && !strings.HasPrefix(path, "$") {
		return nil, bad("the JSON path must start with $")
	}
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		parts, ok := jwtParts(in)
		if !ok || part >= len(parts) {
			return out, false
		}
		doc, err := b64url([]byte(parts[part]))
		if err != nil {
			return out, false
		}
		if path == "" { // haproxy 2.6 gives nothing without a path
			return out, false
		}
		v, ok := jsonAt(doc, path)
		if !ok {
			return out, false
		}
		switch typ {
		case "int":
			f, isNum := v.(json.Number)
			if !isNum {
				return out, false
			}
			n, err := strconv.ParseInt(f.String(), 10, 64)
			if err != nil {
				return out, false
			}
			return strconv.AppendInt(out, n, 10), true
		}
		switch x := v.(type) {
		case string:
			return append(out, x...), true
		case json.Number:
			return append(out, x.String()...), true
		case bool: // as haproxy's JSON reader: 1 or 0
			if x {
				return append(out, '1'), true
			}
			return append(out, '0'), true
		}
		return out, false
	}, nil
}

// jsonAt walks $.a.b[2] through a JSON document.
func jsonAt(doc []byte, path string) (any, bool) {
	d := json.NewDecoder(strings.NewReader(string(doc)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	p := strings.TrimPrefix(path, "$")
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
			i := strings.IndexAny(p, ".[")
			if i < 0 {
				i = len(p)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[p[:i]]; !ok {
				return nil, false
			}
			p = p[i:]
		case '[':
			j := strings.IndexByte(p, ']')
			if j < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(p[1:j])
			a, ok := v.([]any)
			if err != nil || !ok || n < 0 || n >= len(a) {
				return nil, false
			}
			v, p = a[n], p[j+1:]
		default:
			return nil, false
		}
	}
	return v, true
}

// jwtAlgs are the signature algorithms jwt_verify knows, with their hash.
var jwtAlgs = map[string]crypto.Hash{
	"HS256": crypto.SHA256, "HS384": crypto.SHA384, "HS512": crypto.SHA512,
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
}

// jwtVerifyConv is jwt_verify(alg,key) (jwtVerify's answers). alg is a
// name or a variable holding one; key is a secret (HS*) or a PEM file
// with a public key or certificate, loaded once.
func jwtVerifyConv(args []string, bad func(string) error) (convFn, error) {
	if len(args) != 2 {
		return nil, bad("needs an algorithm and a key")
	}
	alg, key := args[0], args[1]
	isVar := strings.Contains(alg, ".")
	if !isVar {
		if _, ok := jwtAlgs[alg]; !ok && alg != "none" {
			return nil, bad("unknown algorithm '" + alg + "'")
		}
		if alg[0] == 'P' {
			return nil, bad("RSASSA-PSS JWS signing not managed yet") // haproxy 2.6's refusal
		}
	}
	pub, _ := loadJWTKey(key) // none: -5 where a key is needed, as in haproxy
	return func(q *hreq, out, in []byte) ([]byte, bool) {
		a := alg
		if isVar {
			v, ok := q.getVar(alg)
			if !ok {
				return out, false
			}
			a = string(v)
		}
		return strconv.AppendInt(out, int64(jwtVerify(a, key, pub, in)), 10), true
	}, nil
}

// jwtVerify checks tok's signature with the algorithm and the key, with
// haproxy 2.6's answers: 1 right, 0 wrong, -1 unknown algorithm, -2 an
// algorithm it does not verify (PS*), -3 a token it cannot read (an
// ECDSA signature of odd length included), -5 no key
// loaded from that name. "none" is right with no signature.
func jwtVerify(alg, secret string, pub crypto.PublicKey, tok []byte) int {
	h, known := jwtAlgs[alg]
	if !known && alg != "none" {
		return -1
	}
	parts, ok := jwtParts(tok)
	if !ok || len(parts) < 2 || len(parts) == 2 && alg != "none" {
		return -3
	}
	if alg == "none" {
		if len(parts) == 2 || parts[2] == "" {
			return 1
		}
		return 0
	}
	if parts[2] == "" {
		return -3
	}
	sig, err := b64url([]byte(parts[2]))
	if err != nil {
		return -3
	}
	signed := tok[:len(parts[0])+1+len(parts[1])]
	switch alg[0] {
	case 'H':
		m := hmac.New(h.New, []byte(secret))
		m.Write(signed)
		if hmac.Equal(m.Sum(nil), sig) {
			return 1
		}
		return 0
	case 'P':
		return -2
	}
	if pub == nil {
		return -5
	}
	d := h.New()
	d.Write(signed)
	sum := d.Sum(nil)
	good := false
	if alg[0] == 'E' {
		if len(sig)%2 != 0 { // JOSE: R then S, of one size
			return -3
		}
		n := len(sig) / 2
		if k, ok := pub.(*ecdsa.PublicKey); ok {
			good = ecdsa.Verify(k, sum, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]))
		}
	} else if k, ok := pub.(*rsa.PublicKey); ok {
		good = rsa.VerifyPKCS1v15(k, h, sum, sig) == nil
	}
	if good {
		return 1
	}
	return 0
}

// loadJWTKey reads a PEM public key or certificate.
func loadJWTKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no public key or certificate in it")
		}
		switch blk.Type {
		case "PUBLIC KEY":
			return x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			return x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			return c.PublicKey, nil
		}
	}
}
