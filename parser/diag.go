package parser

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a config file. Line and Col count from 1; Col 0 means
// "the whole line".
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as file:line:col (or file:line when Col is 0).
func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// IsValid reports whether the position names a file.
func (p Pos) IsValid() bool { return p.File != "" }

// Severity classifies a diagnostic.
type Severity int

// Severities, from the least to the most serious.
const (
	Notice Severity = iota
	Warning
	Error
)

// String names the severity as it is printed in diagnostics.
func (s Severity) String() string {
	switch s {
	case Notice:
		return "notice"
	case Warning:
		return "warning"
	default:
		return "error"
	}
}

// Diag is one diagnostic: a place, a severity and a message. Keyword is the
// config keyword the message is about, when there is one; NotImpl marks the
// "known but not implemented" warnings that --strict turns into errors.
type Diag struct {
	Pos     Pos
	Sev     Severity
	Msg     string
	Keyword string
	NotImpl bool
	// Stage is "parse" for errors found while reading a file and "post" for
	// the cross-checks made once every file is read (haproxy prints a
	// different trailer for each).
	Stage string
	// Form is how haproxy frames the message: "" is "parsing [F:L] : ",
	// "colon" is "parsing [F:L]: ", "bracket" is "[F:L] : ", "double" is
	// "[F:L] : parsing [F:L] : " and "raw" prints the message alone.
	Form string
	// NonFatal marks the alerts after which haproxy does not add its
	// "Fatal errors found" trailer.
	NonFatal bool
	// Abort marks an alert after which haproxy stops reading the
	// configuration: `haproxy -c` reports nothing after it (gohaka check
	// still does).
	Abort bool
	// Own marks gohaka's own remarks, which haproxy -c does not print
	Own bool
	// AsAlert marks a warning haproxy prints as an [ALERT] yet counts as
	// neither an error nor a warning ("'pidfile' already specified.
	// Continuing.")
	AsAlert bool
	// Exit is the exit status keepalived -t gives for this problem (0, 5
	// or 6); it only matters for keepalived.conf diagnostics.
	Exit int
}

// String renders the diagnostic as "file:line:col: severity: message".
func (d Diag) String() string {
	if d.Pos.IsValid() {
		return fmt.Sprintf("%s: %s: %s", d.Pos, d.Sev, d.Msg)
	}
	return fmt.Sprintf("%s: %s", d.Sev, d.Msg)
}

// Diags collects diagnostics in the order they were found.
type Diags []Diag

// Add appends a diagnostic.
func (ds *Diags) Add(p Pos, sev Severity, format string, args ...any) {
	*ds = append(*ds, Diag{Pos: p, Sev: sev, Msg: fmt.Sprintf(format, args...)})
}

// Errorf appends an error.
func (ds *Diags) Errorf(p Pos, format string, args ...any) { ds.Add(p, Error, format, args...) }

// Warnf appends a warning.
func (ds *Diags) Warnf(p Pos, format string, args ...any) { ds.Add(p, Warning, format, args...) }

// Count returns the number of diagnostics of the given severity.
func (ds Diags) Count(sev Severity) int {
	n := 0
	for _, d := range ds {
		if d.Sev == sev {
			n++
		}
	}
	return n
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diags) HasErrors() bool { return ds.Count(Error) > 0 }

// Strict returns a copy in which "not implemented" warnings are errors.
func (ds Diags) Strict() Diags {
	out := make(Diags, len(ds))
	for i, d := range ds {
		if d.NotImpl && d.Sev == Warning {
			d.Sev = Error
		}
		out[i] = d
	}
	return out
}

// Sorted returns the diagnostics ordered by file, line and column, keeping
// the original order among equals.
func (ds Diags) Sorted() Diags {
	out := append(Diags(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// String renders every diagnostic, one per line.
func (ds Diags) String() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Last returns the diagnostic added last (there must be one).
func (ds *Diags) Last() *Diag { return &(*ds)[len(*ds)-1] }
