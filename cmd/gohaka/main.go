// Command gohaka is one binary that replaces haproxy and keepalived on a
// load-balancer host, reading their configuration files unchanged.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
