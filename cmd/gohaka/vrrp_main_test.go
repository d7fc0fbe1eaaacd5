package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is one gohaka binary for all the namespace tests, built once.
var shared struct {
	once      sync.Once
	dir, path string
	err       error
	out       []byte
}

// netCounter makes namespace names unique within the test process.
var netCounter atomic.Int64

var switchMu sync.Mutex

// switchOf returns the switch namespace a host namespace is plugged into.
func switchOf(ns string) string {
	switchMu.Lock()
	defer switchMu.Unlock()
	return switchNS[ns]
}

// TestMain lets the namespace tests, which mostly sleep on VRRP timers,
// run six at a time even on a 2-core machine (unless -parallel is given).
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "6")
	}
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// vrrpBinary builds gohaka once for the namespace tests, which run in
// parallel (they mostly wait on VRRP timers).
func vrrpBinary(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "gohaka-vrrp-test")
		if shared.err != nil {
			return
		}
		shared.path = filepath.Join(shared.dir, "gohaka")
		shared.out, shared.err = exec.Command("go", "build", "-o", shared.path, ".").CombinedOutput()
	})
	if shared.err != nil {
		t.Fatalf("build: %v\n%s", shared.err, shared.out)
	}
	return shared.path
}
