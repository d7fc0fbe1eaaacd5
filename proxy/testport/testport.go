// Package testport hands the tests of gohaka's packages TCP ports that
// are free on every address, below the kernel's ephemeral range (32768
// up) so that no client connection of a test takes one before the
// process under test binds it, and never the same one twice in a test
// binary (a number handed out twice would let haproxy and gohaka, both
// binding with SO_REUSEPORT, share a port and split its connections).
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

var given = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// Free returns a port between 20000 and 32000 no listener holds now and
// none was given before.
func Free(t testing.TB) int {
	t.Helper()
	given.Lock()
	defer given.Unlock()
	for range 10000 {
		p := 20000 + rand.IntN(12000)
		if given.m[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		given.m[p] = true
		return p
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}
