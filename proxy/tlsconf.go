package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gohaka/gohaka/parser"
)

// certStore picks a bind line's certificate from the client's SNI as
// haproxy does: an exact name first, then a wildcard, else the default
// (the first certificate loaded).
type certStore struct {
	def      *tls.Certificate
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // keyed by the part after "*."
}

func (s *certStore) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if c := s.exact[name]; c != nil {
		return c, nil
	}
	if _, rest, ok := strings.Cut(name, "."); ok {
		if c := s.wildcard[rest]; c != nil {
			return c, nil
		}
	}
	if s.def == nil {
		return nil, fmt.Errorf("no certificate")
	}
	return s.def, nil
}

// add indexes a certificate under names (its own CN and DNS SANs when
// names is empty); "!name" entries exclude a name.
func (s *certStore) add(c *tls.Certificate, names []string) {
	if s.def == nil {
		s.def = c
	}
	if len(names) == 0 && c.Leaf != nil {
		if c.Leaf.Subject.CommonName != "" {
			names = append(names, c.Leaf.Subject.CommonName)
		}
		names = append(names, c.Leaf.DNSNames...)
	}
	for _, n := range names {
		n = strings.ToLower(n)
		if strings.HasPrefix(n, "!") {
			continue
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if s.wildcard[rest] == nil {
				s.wildcard[rest] = c
			}
		} else if s.exact[n] == nil {
			s.exact[n] = c
		}
	}
}

// loadPEM reads haproxy's certificate file: certificate, chain and key in
// one PEM file, or the key beside it in FILE.key.
func loadPEM(path string) (*tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs, key []byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs = append(certs, pem.EncodeToMemory(b)...)
		} else if strings.Contains(b.Type, "PRIVATE KEY") {
			key = pem.EncodeToMemory(b)
		}
	}
	if key == nil {
		if key, err = os.ReadFile(path + ".key"); err != nil {
			return nil, fmt.Errorf("unable to load SSL private key from PEM file '%s'", path)
		}
	}
	c, err := tls.X509KeyPair(certs, key)
	if err != nil {
		return nil, fmt.Errorf("unable to load SSL certificate from PEM file '%s': %v", path, err)
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	}
	return &c, nil
}

// loadCrt loads a `crt` argument: a file, or a directory whose files are
// read in lexical order (key, OCSP and issuer side files skipped).
func loadCrt(s *certStore, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		c, err := loadPEM(path)
		if err != nil {
			return err
		}
		s.add(c, nil)
		return nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		switch filepath.Ext(n) {
		case ".key", ".ocsp", ".issuer", ".sctl":
			continue
		}
		if !e.IsDir() && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		c, err := loadPEM(filepath.Join(path, n))
		if err != nil {
			return err
		}
		s.add(c, nil)
	}
	return nil
}

// loadCrtList reads a crt-list: "file [ssl options] [sni filters]" per
// line; filters, when given, replace the certificate's own names.
func loadCrtList(s *certStore, path, base string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.Index(line, "["); i >= 0 {
			if j := strings.Index(line[i:], "]"); j >= 0 {
				line = line[:i] + line[i+j+1:]
			}
		}
		w := strings.Fields(line)
		c, err := loadPEM(resolveBase(base, w[0]))
		if err != nil {
			return err
		}
		s.add(c, w[1:])
	}
	return sc.Err()
}

func resolveBase(base, p string) string {
	if base != "" && !filepath.IsAbs(p) {
		return filepath.Join(base, p)
	}
	return p
}

// tlsVersions maps haproxy's version names.
var tlsVersions = map[string]uint16{"SSLv3": tls.VersionSSL30, "TLSv1.0": tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

// applyVersionOpts applies ssl-min-ver, ssl-max-ver and the no-tlsvXX
// flags of a bind or server line (or of ssl-default-*-options).
func applyVersionOpts(c *tls.Config, opts map[string][]string) {
	if v := opts["ssl-min-ver"]; len(v) > 0 {
		c.MinVersion = tlsVersions[v[len(v)-1]]
	}
	if v := opts["ssl-max-ver"]; len(v) > 0 {
		c.MaxVersion = tlsVersions[v[len(v)-1]]
	}
	order := []string{"sslv3", "tlsv10", "tlsv11", "tlsv12", "tlsv13"}
	vers := []uint16{tls.VersionSSL30, tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}
	for i, n := range order {
		if _, ok := opts["no-"+n]; ok && c.MinVersion <= vers[i] && i+1 < len(vers) {
			c.MinVersion = vers[i+1]
		}
		if _, ok := opts["force-"+n]; ok {
			c.MinVersion, c.MaxVersion = vers[i], vers[i]
		}
	}
	if v := opts["ciphers"]; len(v) > 0 {
		c.CipherSuites = cipherSuites(v[len(v)-1])
	}
	if v := opts["alpn"]; len(v) > 0 {
		c.NextProtos = strings.Split(v[len(v)-1], ",")
	}
	if v := opts["curves"]; len(v) > 0 {
		c.CurvePreferences = curves(v[len(v)-1])
	}
	if _, ok := opts["no-tls-tickets"]; ok {
		c.SessionTicketsDisabled = true
	}
}

// curveIDs are the OpenSSL names of the groups Go has.
var curveIDs = map[string]tls.CurveID{"X25519": tls.X25519, "P-256": tls.CurveP256, "prime256v1": tls.CurveP256,
	"secp256r1": tls.CurveP256, "P-384": tls.CurveP384, "secp384r1": tls.CurveP384, "P-521": tls.CurveP521,
	"secp521r1": tls.CurveP521}

// curves maps an OpenSSL group list (`curves`, ssl-default-bind-curves)
// to Go's; names Go does not have are skipped, and a list with none left
// means Go's defaults.
func curves(list string) []tls.CurveID {
	var out []tls.CurveID
	for _, n := range strings.Split(list, ":") {
		if id, ok := curveIDs[n]; ok {
			out = append(out, id)
		}
	}
	return out
}

// cipherSuites maps an OpenSSL cipher list to Go's TLS 1.2 suites; names
// Go does not have are skipped, and a list with none left means Go's
// defaults. (TLS 1.3 suites are not configurable in Go.)
func cipherSuites(list string) []uint16 {
	byName := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[s.Name] = s.ID
	}
	var out []uint16
	for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if id, ok := byName[openSSLToGo(n)]; ok {
			out = append(out, id)
		}
	}
	return out
}

// openSSLToGo turns ECDHE-RSA-AES128-GCM-SHA256 into
// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
func openSSLToGo(n string) string {
	r := strings.NewReplacer("AES128", "AES_128", "AES256", "AES_256", "CHACHA20-POLY1305", "CHACHA20_POLY1305_SHA256")
	n = r.Replace(n)
	kex, rest := "", n
	for _, k := range []string{"ECDHE-ECDSA-", "ECDHE-RSA-"} {
		if strings.HasPrefix(n, k) {
			kex, rest = strings.ReplaceAll(strings.TrimSuffix(k, "-"), "-", "_")+"_", n[len(k):]
		}
	}
	if kex == "" {
		kex = "RSA_"
	}
	return "TLS_" + kex + "WITH_" + strings.ReplaceAll(rest, "-", "_")
}

// defaultOptions returns global `ssl-default-bind-*` or
// `ssl-default-server-*` settings as option words.
func defaultOptions(g *parser.Global, kind string) map[string][]string {
	out := map[string][]string{}
	for _, l := range g.Settings {
		if len(l.Words) < 2 {
			continue
		}
		switch l.Words[0] {
		case "ssl-default-" + kind + "-options":
			for i := 1; i < len(l.Words); i++ {
				w := l.Words[i]
				if (w == "ssl-min-ver" || w == "ssl-max-ver") && i+1 < len(l.Words) {
					out[w] = []string{l.Words[i+1]}
					i++
					continue
				}
				out[w] = nil
			}
		case "ssl-default-" + kind + "-ciphers":
			out["ciphers"] = []string{l.Words[1]}
		case "ssl-default-" + kind + "-curves":
			out["curves"] = []string{l.Words[1]}
		}
	}
	return out
}

// bindTLS builds the TLS server side of a `bind ... ssl` line.
func bindTLS(g *parser.Global, b *parser.Bind) (*tls.Config, error) {
	s := &certStore{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	for _, crt := range b.Options["crt"] {
		if err := loadCrt(s, resolveBase(g.CrtBase, crt)); err != nil {
			return nil, fmt.Errorf("%s: crt '%s': %v", b.Pos, crt, err)
		}
	}
	for _, l := range b.Options["crt-list"] {
		if err := loadCrtList(s, resolveBase(g.CrtBase, l), g.CrtBase); err != nil {
			return nil, fmt.Errorf("%s: crt-list '%s': %v", b.Pos, l, err)
		}
	}
	if s.def == nil {
		return nil, fmt.Errorf("%s: 'bind %s' has 'ssl' but no certificate", b.Pos, b.Addr.Raw)
	}
	c := &tls.Config{GetCertificate: s.get, MinVersion: tls.VersionTLS12}
	applyVersionOpts(c, defaultOptions(g, "bind"))
	applyVersionOpts(c, b.Options)
	return c, nil
}
