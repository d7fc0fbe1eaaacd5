package proxy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jwtToken signs header.payload with sign (nil: no signature part
// content) and gives the compact token.
func jwtToken(header, payload string, sign func(signed []byte) []byte) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(signed))
	}
	return signed + "." + enc.EncodeToString(sig)
}

func writePubKey(t *testing.T, dir, name string, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	return p
}

// TestJWTAsHAProxy: jwt_header_query, jwt_payload_query (paths, output
// types) and jwt_verify (HMAC, RSA, RSA-PSS and ECDSA signatures, right,
// tampered, with the wrong key, unknown algorithms, tokens that cannot
// be read) give haproxy 2.6's values.
func TestJWTAsHAProxy(t *testing.T) {
	dir := t.TempDir()
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	e256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaPEM, e256PEM, e384PEM := writePubKey(t, dir, "rsa.pem", &rk.PublicKey), writePubKey(t, dir, "e256.pem", &e256.PublicKey), writePubKey(t, dir, "e384.pem", &e384.PublicKey)
	hs := func(h crypto.Hash, key string) func([]byte) []byte {
		return func(b []byte) []byte { m := hmac.New(h.New, []byte(key)); m.Write(b); return m.Sum(nil) }
	}
	digest := func(h crypto.Hash, b []byte) []byte { d := h.New(); d.Write(b); return d.Sum(nil) }
	rs := func(h crypto.Hash) func([]byte) []byte {
		return func(b []byte) []byte { s, _ := rsa.SignPKCS1v15(rand.Reader, rk, h, digest(h, b)); return s }
	}
	ps := func(h crypto.Hash) func([]byte) []byte {
		return func(b []byte) []byte {
			s, _ := rsa.SignPSS(rand.Reader, rk, h, digest(h, b), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			return s
		}
	}
	es := func(k *ecdsa.PrivateKey, h crypto.Hash, size int) func([]byte) []byte {
		return func(b []byte) []byte {
			r, s, _ := ecdsa.Sign(rand.Reader, k, digest(h, b))
			out := make([]byte, 2*size)
			r.FillBytes(out[:size])
			s.FillBytes(out[size:])
			return out
		}
	}
	// an ASN.1 signature, as JOSE does not write it, of odd or even length
	esDER := func(odd bool) func([]byte) []byte {
		return func(b []byte) []byte {
			for {
				s, _ := ecdsa.SignASN1(rand.Reader, e256, digest(crypto.SHA256, b))
				if len(s)%2 == 1 == odd {
					return s
				}
			}
		}
	}
	payload := `{"sub":"alice","n":42,"admin":true,"arr":["x","y"],"o":{"k":"v"}}`
	hd := func(alg string) string { return `{"alg":"` + alg + `","typ":"JWT"}` }
	tampered := func(tok string) string { return tok[:len(tok)-4] + "AAAA" }
	tokens := map[string]string{
		"hs256":          jwtToken(hd("HS256"), payload, hs(crypto.SHA256, "s3cret")),
		"hs256 tampered": tampered(jwtToken(hd("HS256"), payload, hs(crypto.SHA256, "s3cret"))),
		"hs256 wrong":    jwtToken(hd("HS256"), payload, hs(crypto.SHA256, "other")),
		"hs384":          jwtToken(hd("HS384"), payload, hs(crypto.SHA384, "s3cret")),
		"hs512":          jwtToken(hd("HS512"), payload, hs(crypto.SHA512, "s3cret")),
		"rs256":          jwtToken(hd("RS256"), payload, rs(crypto.SHA256)),
		"rs512":          jwtToken(hd("RS512"), payload, rs(crypto.SHA512)),
		"rs256 tampered": tampered(jwtToken(hd("RS256"), payload, rs(crypto.SHA256))),
		"ps256":          jwtToken(hd("PS256"), payload, ps(crypto.SHA256)),
		"es256":          jwtToken(hd("ES256"), payload, es(e256, crypto.SHA256, 32)),
		"es256 der odd":  jwtToken(hd("ES256"), payload, esDER(true)),
		"es256 der even": jwtToken(hd("ES256"), payload, esDER(false)),
		"es384":          jwtToken(hd("ES384"), payload, es(e384, crypto.SHA384, 48)),
		"none":           jwtToken(hd("none"), payload, nil),
		"two parts":      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
		"four parts":     "a.b.c.d",
		"bad base64":     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.!!!",
		"not json":       jwtToken("nope", payload, hs(crypto.SHA256, "s3cret")),
	}
	// in a double-quoted word haproxy expands $NAME: the paths' $ is escaped
	q := func(what string) string {
		return fmt.Sprintf("%%%%[var(txn.t),%s]", strings.ReplaceAll(what, "$", `\$`))
	}
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:%d\n" +
		"    http-request set-var(txn.t) http_auth_bearer\n" +
		"    http-request set-var(txn.alg) var(txn.t),jwt_header_query('$.alg')\n" +
		fmt.Sprintf("    http-request return status 200 content-type text/plain lf-string \"[%s] [%s] [%s] [%s] [%s] [%s] [%s] [%s]\" if { path /q }\n",
			q("jwt_header_query('$.alg')"), q("jwt_header_query"), q("jwt_payload_query('$.sub')"), q("jwt_payload_query('$.n',int)"),
			q("jwt_payload_query('$.arr[1]')"), q("jwt_payload_query('$.o.k')"), q("jwt_payload_query('$.admin')"), q("jwt_payload_query('$.missing')")) +
		fmt.Sprintf("    http-request return status 200 content-type text/plain lf-string \"hs=[%s] hsc=[%s] rs=[%s] es256=[%s] es384=[%s] nofile=[%s]\" if { path /v }\n",
			q(`jwt_verify(txn.alg,"s3cret")`), q(`jwt_verify(HS256,"s3cret")`), q(`jwt_verify(txn.alg,"`+rsaPEM+`")`),
			q(`jwt_verify(txn.alg,"`+e256PEM+`")`), q(`jwt_verify(txn.alg,"`+e384PEM+`")`), q(`jwt_verify(RS256,"`+dir+`/none.pem")`))
	hp, gp := startBoth(t, cfg)
	body := func(port int, path, tok string) string {
		out := rawExchange(t, port, "GET "+path+" HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n", 2*time.Second)
		_, b, _ := strings.Cut(out, "\r\n\r\n")
		return b
	}
	for name, tok := range tokens {
		for _, path := range []string{"/q", "/v"} {
			if h, g := body(hp, path, tok), body(gp, path, tok); h != g {
				t.Errorf("%s %s:\nhaproxy %q\ngohaka  %q", name, path, h, g)
			}
		}
	}
}
