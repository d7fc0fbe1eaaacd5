package main

import (
	"net"
	"os"
)

// sdNotify sends a state string ("READY=1", "RELOADING=1", ...) to the
// service manager's $NOTIFY_SOCKET, as haproxy -Ws does; without the
// variable it does nothing.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
