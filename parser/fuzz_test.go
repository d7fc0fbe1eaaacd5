package parser

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzHAProxyReader feeds arbitrary text to the haproxy reader: it must
// never panic or hang, and every diagnostic must carry a position.
func FuzzHAProxyReader(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir, "*.cfg"))
	more, _ := filepath.Glob("../testdata/diag/*.cfg")
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("frontend a\n bind :1\n http-request deny if { src -f x } !b || c\n.if defined(X) && streq(\"$Y\",z)\n.endif\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, ds := LoadHAProxyBytes("fuzz.cfg", data, Options{Offline: true})
		for _, d := range ds {
			if d.Pos.File == "" && d.Stage == "" {
				t.Fatalf("diagnostic without a position: %v", d)
			}
		}
	})
}
