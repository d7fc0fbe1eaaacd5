package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mutatedSameFloor is how many of the mutated corpus configs below haproxy
// -c and gohaka as haproxy answer alike: a change that lowers it fails.
const mutatedSameFloor = 158

// TestHAProxyCheckMutatedCorpus edits corpus configs the way typos do —
// one line deleted, duplicated, swapped with another, a word dropped or
// added — 200 edits chosen with a fixed seed, and runs real haproxy 2.6
// -c (no network) and gohaka as haproxy on each: the same stdout, stderr
// and exit code for at least mutatedSameFloor of them.
func TestHAProxyCheckMutatedCorpus(t *testing.T) {
	hap, unshare := haproxyOffline(t)
	dir := haproxyCorpus(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.cfg"))
	t.Setenv("GOHAKA_STUB_RESOLVER", "none")
	m := filepath.Join(t.TempDir(), "m.cfg")
	rng := rand.New(rand.NewSource(1))
	same, tried := 0, 0
	var differ []string
	for tried < 200 {
		f := files[rng.Intn(len(files))]
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(text), "\n")
		var body []int // indented, not comments: the lines an edit may touch
		for i, l := range lines {
			if s := strings.TrimSpace(l); s != "" && s[0] != '#' && (l[0] == ' ' || l[0] == '\t') {
				body = append(body, i)
			}
		}
		if len(body) == 0 {
			continue
		}
		j := body[rng.Intn(len(body))]
		kind := []string{"del", "dup", "junk", "swap", "dropword"}[rng.Intn(5)]
		switch kind {
		case "del":
			lines = append(lines[:j], lines[j+1:]...)
		case "dup":
			lines = append(lines[:j+1], lines[j:]...)
		case "junk":
			lines[j] += " junk"
		case "swap":
			k := body[rng.Intn(len(body))]
			lines[j], lines[k] = lines[k], lines[j]
		case "dropword":
			w := strings.Fields(lines[j])
			if len(w) < 2 {
				continue
			}
			k := 1 + rng.Intn(len(w)-1)
			lines[j] = "    " + strings.Join(append(w[:k], w[k+1:]...), " ")
		}
		tried++
		os.WriteFile(m, []byte(strings.Join(lines, "\n")), 0o644)
		if sameAsHAProxy(t, hap, unshare, dir, m) {
			same++
		} else {
			differ = append(differ, filepath.Base(f)+" "+kind+" line "+strconv.Itoa(j+1))
		}
	}
	t.Logf("%d of %d mutated corpus configs: haproxy -c and gohaka print the same", same, tried)
	if same < mutatedSameFloor {
		t.Errorf("%d mutated configs agree, fewer than the %d agreed before; differing: %s", same, mutatedSameFloor, strings.Join(differ, "; "))
	}
}
