package proxy

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConnErrorsHeldBack: fifty clients whose server refuses them give
// one stderr line a second, not fifty; the next line says how many were
// held back.
func TestConnErrorsHeldBack(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	fp := freePort(t)
	startRuntimeLogf(t, tcpConfig(fp, fmt.Sprintf("    server s1 127.0.0.1:%d\n", deadPort(t)), "    retries 0\n"), func(f string, a ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(f, a...))
		mu.Unlock()
	})
	failures := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, "backend 'l': ") {
				out = append(out, l)
			}
		}
		return out
	}
	start := time.Now()
	for i := 0; i < 50; i++ {
		nameFrom(netip.Addr{}, fp) // refused: the client is closed
	}
	waitFor(t, func() bool { return len(failures()) > 0 }, "a failure line")
	if n, most := len(failures()), int(time.Since(start)/time.Second)+1; n > most {
		t.Fatalf("%d failure lines in %v, want at most %d:\n%s", n, time.Since(start), most, strings.Join(failures(), "\n"))
	}
	time.Sleep(1100 * time.Millisecond) // the allowance comes back after a second
	nameFrom(netip.Addr{}, fp)
	waitFor(t, func() bool {
		f := failures()
		return strings.Contains(f[len(f)-1], "more failures held back since the last line)")
	}, "a line counting the failures held back")
	t.Logf("%s", strings.Join(failures(), "\n"))
}
