package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
)

// version is the gohaka version printed by `gohaka version`.
const version = "0.1.0"

// run dispatches on the name the binary was invoked as and returns the exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	switch filepath.Base(args[0]) {
	case "haproxy":
		return haproxyMain(args[1:], stdout, stderr)
	case "keepalived":
		return keepalivedMain(args[1:], stdout, stderr)
	}
	root := newRoot(stdout, stderr)
	root.SetArgs(args[1:])
	code := 0
	root.PersistentPreRun = func(*cobra.Command, []string) {}
	if err := root.Execute(); err != nil {
		if ec, ok := err.(exitCode); ok {
			return int(ec)
		}
		fmt.Fprintln(stderr, "gohaka:", err)
		code = 1
	}
	return code
}

// exitCode is returned by commands that end with a specific exit status and
// have already printed what they had to say.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "gohaka",
		Short:         "haproxy and keepalived in one binary, reading their configs unchanged",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newCheckCmd(stdout, stderr), newRunCmd(stdout, stderr), &cobra.Command{
		Use:   "version",
		Short: "print the gohaka version",
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "gohaka %s (haproxy 2.6 / keepalived 2.2 compatible)\n", version)
		},
	})
	return root
}
