package parser

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxTimerMS is haproxy's largest timer (2^31-1 ms, ~24.8 days).
const maxTimerMS = 2147483647

// parseTime reads a haproxy time value: an integer with an optional unit
// among us, ms, s, m, h, d; ms when there is none.
func parseTime(s string) (time.Duration, error) {
	d, _, err := parseTimeLax(s)
	return d, err
}

// parseTimeLax is parseTime as haproxy 2.6 applies it: characters after a
// valid unit ("15min") are only a warning, returned in trailing.
func parseTimeLax(s string) (d time.Duration, trailing string, err error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		if s == "" {
			return 0, "", fmt.Errorf("missing value")
		}
		return 0, "", fmt.Errorf("unexpected character '%c'", s[0])
	}
	n, perr := strconv.ParseUint(s[:i], 10, 63)
	if perr != nil {
		return 0, "", fmt.Errorf("timer overflow")
	}
	unit, rest := time.Millisecond, s[i:]
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}} {
		if strings.HasPrefix(rest, u.name) {
			unit, rest = u.d, rest[len(u.name):]
			break
		}
	}
	if rest != "" {
		if len(rest) == len(s[i:]) {
			return 0, "", fmt.Errorf("unexpected character '%c'", rest[0])
		}
		trailing = rest
	}
	if n > uint64(maxTimerMS)*uint64(time.Millisecond)/uint64(unit) {
		return 0, "", fmt.Errorf("timer overflow")
	}
	d = time.Duration(n) * unit
	if d > time.Duration(maxTimerMS)*time.Millisecond {
		return 0, "", fmt.Errorf("timer overflow")
	}
	return d, trailing, nil
}

// parseSize reads a size with an optional k, m or g suffix (1024-based).
func parseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size '%s'", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size '%s'", s)
	}
	switch strings.ToLower(s[i:]) {
	case "":
	case "k":
		n <<= 10
	case "m":
		n <<= 20
	case "g":
		n <<= 30
	default:
		return 0, fmt.Errorf("invalid size '%s'", s)
	}
	return n, nil
}

// atoi reads an integer the way haproxy's atol() does: leading digits
// count, the rest is ignored; ok is false when there is no digit at all.
func atoi(s string) (int, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	d := leadingDigits(s)
	if d == "" {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// strictInt reads a whole decimal integer.
func strictInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// ParseTime reads a haproxy time value (ms when no unit is given).
func ParseTime(s string) (time.Duration, error) { return parseTime(s) }

// ParseSize reads a haproxy size (k, m, g suffixes, 1024-based).
func ParseSize(s string) (int64, error) { return parseSize(s) }
