package track

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadFileValue reads a track_file: a missing or unreadable file counts as
// 0, as keepalived does.
func ReadFileValue(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return ParseFileValue(string(b))
}

// iffUp is IFF_UP from <linux/if.h>.
const iffUp = 0x1

// InterfaceUp reports whether a network interface is up and running, which
// is keepalived's test for track_interface (IFF_UP and IFF_RUNNING). It
// reads sysfs: the flags file for IFF_UP, and operstate "up" or "unknown"
// for IFF_RUNNING (the kernel derives that flag from the operational state;
// it is not in the flags file). A missing interface is down.
func InterfaceUp(name string) bool {
	return interfaceUp("/sys/class/net", name)
}

func interfaceUp(root, name string) bool {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return false
	}
	b, err := os.ReadFile(filepath.Join(root, name, "flags"))
	if err != nil {
		return false
	}
	f, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), 16, 32)
	if err != nil {
		return false
	}
	if f&iffUp == 0 {
		return false
	}
	op, err := os.ReadFile(filepath.Join(root, name, "operstate"))
	if err != nil {
		return false
	}
	st := strings.TrimSpace(string(op))
	return st == "up" || st == "unknown"
}

// InterfaceStatus maps InterfaceUp to a tracker status.
func InterfaceStatus(name string) Status {
	if InterfaceUp(name) {
		return StatusOK
	}
	return StatusFailed
}
