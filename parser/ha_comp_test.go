package parser

import "testing"

// TestCompressionLines: compression lines gohaka runs are kept without
// a warning and passed on from defaults; an algorithm it lacks, or
// another filter than compression, is warned about.
func TestCompressionLines(t *testing.T) {
	src := "defaults\n    mode http\n    compression algo gzip deflate\nfrontend fe\n    bind 127.0.0.1:1\n" +
		"    compression type text/html\n    compression offload\n    filter compression\n" +
		"backend be\n    compression algo br\n    filter trace\n"
	cfg, ds := LoadHAProxyBytes("c.cfg", []byte(src), Options{})
	var warned []int
	for _, d := range ds {
		if d.NotImpl {
			warned = append(warned, d.Pos.Line)
		}
	}
	if len(warned) != 2 || warned[0] != 10 || warned[1] != 11 {
		t.Errorf("not-implemented warnings on lines %v, want 10 and 11:\n%s", warned, ds)
	}
	n := 0
	for _, l := range cfg.Frontends()[0].Settings {
		if l.Words[0] == "compression" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("the frontend keeps %d compression lines, want 3 (one from defaults)", n)
	}
}
