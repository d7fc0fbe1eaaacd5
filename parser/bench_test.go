package parser

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// bigConfig builds the benchmark config of the check issue: one frontend
// ACL-routing to nb backends of ns servers each.
func bigConfig(nb, ns int) []byte {
	var b bytes.Buffer
	b.WriteString("global\n    maxconn 100000\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n")
	for i := 0; i < nb; i++ {
		fmt.Fprintf(&b, "    acl host_%d hdr(host) -i app%d.example.com\n", i, i)
	}
	for i := 0; i < nb; i++ {
		fmt.Fprintf(&b, "    use_backend be_%d if host_%d\n", i, i)
	}
	b.WriteString("    default_backend be_0\n\n")
	for i := 0; i < nb; i++ {
		fmt.Fprintf(&b, "backend be_%d\n    balance roundrobin\n", i)
		for s := 0; s < ns; s++ {
			fmt.Fprintf(&b, "    server s%d 10.%d.%d.%d:80 check weight %d\n", s, i/250, i%250, s+1, s+1)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// BenchmarkLoad100k reads the 5,000-backend, 100,000-server config.
func BenchmarkLoad100k(b *testing.B) {
	data := bigConfig(5000, 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, ds := LoadHAProxyBytes("big.cfg", data, Options{Offline: true})
		if ds.HasErrors() {
			b.Fatal(ds[:1])
		}
	}
}

// BenchmarkHALexer measures the tokenizer alone over the corpus text.
func BenchmarkHALexer(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.cfg"))
	var lines []string
	size := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, l := range bytes.Split(data, []byte("\n")) {
			lines = append(lines, string(l))
			size += len(l) + 1
		}
	}
	if size == 0 {
		b.Skip("corpus not available")
	}
	var lx haLexer
	lx.env = func(string) (string, bool) { return "", false }
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			lx.split(l)
		}
	}
}
