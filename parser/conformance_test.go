package parser

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the shared corpus of real configs with haproxy 2.6's
// verdicts: $GOHAKA_CORPUS, else the shared/ folder next to the checkout.
var corpusDir = findCorpus()

func findCorpus() string {
	if d := os.Getenv("GOHAKA_CORPUS"); d != "" {
		return filepath.Join(d, "haproxy")
	}
	for _, d := range []string{"../../shared/corpus/haproxy", "/work/shared/corpus/haproxy"} {
		if _, err := os.Stat(filepath.Join(d, "EXPECTED.tsv")); err == nil {
			return d
		}
	}
	return "../../shared/corpus/haproxy"
}

type expectation struct {
	file     string
	rc       string
	alert    string
	warnings string
	warning  string
	notes    string
}

func readExpected(t *testing.T) []expectation {
	f, err := os.Open(filepath.Join(corpusDir, "EXPECTED.tsv"))
	if err != nil {
		t.Skipf("corpus not available (%v): the conformance test needs ../shared/corpus", err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 7 || c[0] == "file" {
			continue
		}
		out = append(out, expectation{file: c[0], rc: c[1], alert: c[2], warnings: c[3], warning: c[4], notes: c[6]})
	}
	return out
}

// testEnv is the environment the conformance runs see: nothing is set, as
// in the oracle's clean environment for the variables configs use.
func testEnv(string) (string, bool) { return "", false }

func loadCorpusFile(e expectation) (*Config, Diags) {
	paths := []string{filepath.Join(corpusDir, e.file)}
	if strings.HasSuffix(e.file, "/") {
		d := filepath.Join(corpusDir, e.file)
		paths = []string{filepath.Join(d, "haproxy.cfg"), filepath.Join(d, "haproxy.d")}
	}
	return Load(Options{HAProxy: paths, Env: testEnv, Dir: corpusDir, FailUnresolved: true, LocalPeer: localPeer(e.file),
		Resolver: StaticResolver(netip.MustParseAddr("127.0.0.1"))})
}

// TestHAProxyConformance checks that gohaka accepts exactly the corpus
// files haproxy 2.6 accepted.
func TestHAProxyConformance(t *testing.T) {
	exp := readExpected(t)
	agree, rejected, withLine, sameLine := 0, 0, 0, 0
	var bad, lineMiss, warnMiss []string
	warnAgree, warnTotal := 0, 0
	for _, e := range exp {
		_, ds := loadCorpusFile(e)
		accepted := !ds.HasErrors()
		want := e.rc != "1"
		if accepted && want {
			warnTotal++
			w := 0
			for _, d := range ds {
				if d.Sev == Warning && !d.NotImpl {
					w++
				}
			}
			if (w > 0) == (e.warnings != "0") {
				warnAgree++
			} else {
				warnMiss = append(warnMiss, fmt.Sprintf("%s: haproxy %s warnings (%s), gohaka %d %s", e.file, e.warnings, e.warning, w, firstWarning(ds)))
			}
		}
		if accepted == want {
			agree++
			if !want {
				rejected++
				if line := alertLine(e.alert); line > 0 {
					withLine++
					if firstErrorLine(ds) == line {
						sameLine++
					} else {
						lineMiss = append(lineMiss, fmt.Sprintf("%s: haproxy line %d, gohaka %s", e.file, line, firstError(ds)))
					}
				}
			}
			continue
		}
		bad = append(bad, e.file+"\n    haproxy: rc="+e.rc+" "+e.alert+"\n    gohaka:  "+firstError(ds))
	}
	t.Logf("conformance: %d/%d agree with haproxy 2.6", agree, len(exp))
	for _, b := range bad {
		t.Log(b)
	}
	t.Logf("warnings: %d/%d accepted files warn exactly when haproxy warns", warnAgree, warnTotal)
	for _, m := range warnMiss {
		t.Log(m)
	}
	t.Logf("of %d rejected files, %d alerts name a line; gohaka's first error is on that line for %d", rejected, withLine, sameLine)
	for _, m := range lineMiss {
		t.Log(m)
	}
	// every file agrees today: a change that makes one disagree fails
	if warnAgree < warnTotal {
		t.Errorf("warning agreement %d/%d: a file warns differently from haproxy", warnAgree, warnTotal)
	}
	if sameLine < withLine {
		t.Errorf("first error on haproxy's line for only %d/%d rejected files", sameLine, withLine)
	}
	if agree < len(exp) {
		t.Errorf("conformance %d/%d: a file is accepted or rejected unlike haproxy", agree, len(exp))
	}
}

var alertLineRe = regexp.MustCompile(`\[[^\]]*?:(\d+)\]`)

// alertLine returns the line haproxy's first alert names, or 0.
func alertLine(alert string) int {
	m := alertLineRe.FindStringSubmatch(alert)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func firstError(ds Diags) string {
	for _, d := range ds {
		if d.Sev == Error {
			return d.String()
		}
	}
	return ""
}

func firstErrorLine(ds Diags) int {
	for _, d := range ds {
		if d.Sev == Error {
			return d.Pos.Line
		}
	}
	return 0
}

func firstWarning(ds Diags) string {
	for _, d := range ds {
		if d.Sev == Warning && !d.NotImpl {
			return d.String()
		}
	}
	return ""
}

// localPeer is the -L name the oracle run used: from SOURCES.tsv when the
// file needed one, else the oracle host's name ("vm").
func localPeer(file string) string {
	data, err := os.ReadFile(filepath.Join(corpusDir, "SOURCES.tsv"))
	if err != nil {
		return "vm"
	}
	for _, l := range strings.Split(string(data), "\n") {
		c := strings.Split(l, "\t")
		if len(c) >= 7 && c[0] == file {
			if f := strings.Fields(c[6]); len(f) == 2 && f[0] == "-L" {
				return f[1]
			}
		}
	}
	return "vm"
}
