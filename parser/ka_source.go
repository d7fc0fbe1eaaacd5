package parser

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// kaLine is one logical keepalived line after the text macros: its words and
// where each came from.
type kaLine struct {
	words []string
	pos   []Pos
}

// kaSource applies keepalived's text-level macros (include globs, $NAME
// definitions, @id line prefixes, # and ! comments) and splits lines into
// words, keeping the original file:line:col of every word.
type kaSource struct {
	opts  *KeepalivedOptions
	d     *Diags
	defs  map[string]string
	lines []kaLine
	stack []string // files being read, for include cycles
	files []string
}

// KeepalivedOptions says how keepalived.conf is read.
type KeepalivedOptions struct {
	// ConfigID is matched against @name line prefixes (keepalived -i;
	// keepalived's default is the short hostname).
	ConfigID string
	// Env looks up ${_ENV VAR}.
	Env EnvLookup
	// Host describes the machine for the checks keepalived makes against it
	// (interfaces, users, script files); nil skips those checks.
	Host *KeepalivedHost
}

// KeepalivedHost answers questions about the machine keepalived would run
// on. Tests describe a machine; `gohaka check --host` reads the real one.
type KeepalivedHost struct {
	Interfaces map[string]bool
	// UserExists reports whether a system user exists.
	UserExists func(name string) bool
	// Executable reports whether a script path or command name can be run.
	Executable func(name string) bool
}

func (s *kaSource) readFile(path string, from Pos) {
	for _, f := range s.stack {
		if f == path {
			s.d.Errorf(from, "include cycle: %s includes itself (via %s)", path, strings.Join(s.stack, " -> "))
			return
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		s.d.Add(from, Warning, "Config files missing '%s'.", path)
		s.d.Last().Exit = 0
		return
	}
	s.files = append(s.files, path)
	s.stack = append(s.stack, path)
	defer func() { s.stack = s.stack[:len(s.stack)-1] }()
	raw := strings.Split(string(data), "\n")
	for i := 0; i < len(raw); i++ {
		line := strings.TrimSuffix(raw[i], "\r")
		lineNo := i + 1
		trimmed := strings.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if strings.HasPrefix(trimmed, "@") {
			sp := strings.IndexAny(trimmed, " \t")
			if sp < 0 {
				continue
			}
			id, neg := trimmed[1:sp], false
			if strings.HasPrefix(id, "^") {
				id, neg = id[1:], true
			}
			if (id == s.opts.ConfigID) == neg {
				continue
			}
			rest := strings.TrimLeft(trimmed[sp:], " \t")
			indent += len(trimmed) - len(rest)
			trimmed = rest
		}
		if strings.HasPrefix(trimmed, "$") {
			if eq := strings.IndexByte(trimmed, '='); eq > 1 && isKaName(trimmed[1:eq]) {
				val := trimmed[eq+1:]
				for strings.HasSuffix(val, "\\") && i+1 < len(raw) {
					i++
					val = strings.TrimSuffix(val, "\\") + "\n" + strings.TrimSuffix(raw[i], "\r")
				}
				s.defs[trimmed[1:eq]] = strings.TrimSpace(val)
				continue
			}
		}
		for _, gen := range s.generate(trimmed, Pos{File: path, Line: lineNo, Col: indent + 1}) {
			text := s.expand(gen, path, 0)
			for _, part := range strings.Split(text, "\n") {
				s.addLine(part, path, lineNo, indent+1)
			}
		}
	}
}

func isKaName(n string) bool {
	for i := 0; i < len(n); i++ {
		if !(isAlnum(n[i]) || n[i] == '_') {
			return false
		}
	}
	return n != ""
}

// expand replaces $NAME and ${NAME} with their definitions, recursively.
func (s *kaSource) expand(text, file string, depth int) string {
	if depth > 10 || !strings.Contains(text, "$") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] != '$' {
			b.WriteByte(text[i])
			continue
		}
		j, name := i+1, ""
		braced := j < len(text) && text[j] == '{'
		if braced {
			end := strings.IndexByte(text[j:], '}')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			name, j = text[j+1:j+end], j+end+1
		} else {
			k := j
			for k < len(text) && (isAlnum(text[k]) || text[k] == '_') {
				k++
			}
			name, j = text[j:k], k
		}
		if v, ok := s.lookup(name, file); ok {
			b.WriteString(s.expand(v, file, depth+1))
			i = j - 1
			continue
		}
		b.WriteByte('$')
	}
	return b.String()
}

func (s *kaSource) lookup(name, file string) (string, bool) {
	switch {
	case name == "_PWD":
		abs, _ := filepath.Abs(filepath.Dir(file))
		return abs, true
	case name == "_INSTANCE":
		return s.opts.ConfigID, true
	case name == "_HASH":
		return "#", true
	case name == "_BANG":
		return "!", true
	case strings.HasPrefix(name, "_ENV "):
		if s.opts.Env != nil {
			v, _ := s.opts.Env(strings.TrimSpace(name[5:]))
			return v, true
		}
		return "", true
	}
	v, ok := s.defs[name]
	return v, ok
}

// addLine splits one line into words: # and ! start a comment outside
// quotes, quotes group words, braces are words of their own.
func (s *kaSource) addLine(line, file string, lineNo, col0 int) {
	var l kaLine
	var cur []byte
	start, in := 0, false
	flush := func() {
		if in {
			l.words = append(l.words, string(cur))
			l.pos = append(l.pos, Pos{File: file, Line: lineNo, Col: col0 + start})
			cur, in = cur[:0], false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '#' || c == '!':
			i = len(line)
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == '{' || c == '}':
			flush()
			l.words = append(l.words, string(c))
			l.pos = append(l.pos, Pos{File: file, Line: lineNo, Col: col0 + i})
		case c == '"' || c == '\'':
			if !in {
				in, start = true, i
			}
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				s.d.Add(Pos{File: file, Line: lineNo, Col: col0 + i}, Error, "Unmatched quote: '%s'", line[i:])
				s.d.Last().Exit = 5
				cur = append(cur, line[i+1:]...)
				i = len(line)
				continue
			}
			cur = append(cur, line[i+1:i+1+end]...)
			i += end + 1
		default:
			if !in {
				in, start = true, i
			}
			cur = append(cur, c)
		}
	}
	flush()
	if len(l.words) == 0 {
		return
	}
	if l.words[0] == "include" {
		if len(l.words) < 2 {
			s.d.Add(l.pos[0], Error, "include requires a file name")
			s.d.Last().Exit = 5
			return
		}
		s.include(l.words[1], file, l.pos[0])
		return
	}
	s.lines = append(s.lines, l)
}

// include reads every file a glob matches, relative to the including file.
func (s *kaSource) include(glob, from string, p Pos) {
	if !filepath.IsAbs(glob) {
		glob = filepath.Join(filepath.Dir(from), glob)
	}
	matches, _ := filepath.Glob(glob)
	if len(matches) == 0 {
		rel := glob
		if r, err := filepath.Rel(filepath.Dir(from), glob); err == nil && !strings.HasPrefix(r, "..") && !filepath.IsAbs(strings.TrimPrefix(glob, filepath.Dir(from))) {
			rel = r
		}
		s.d.Add(p, Warning, "Config files missing '%s'.", rel)
		s.d.Last().Exit = 0
		return
	}
	sort.Strings(matches)
	for _, m := range matches {
		s.readFile(m, p)
	}
}

// generate applies the line generators: ~SEQ(var, [start, [step,]] end)
// (~SEQx gives hex) and ~LST(var, v1, v2, ...) repeat the rest of the line
// once per value with ${var} replaced (keepalived replaces only the braced
// form there). Other lines come back unchanged.
func (s *kaSource) generate(line string, p Pos) []string {
	kind := ""
	for _, k := range []string{"~SEQx(", "~SEQ(", "~LST("} {
		if strings.HasPrefix(line, k) {
			kind = k
		}
	}
	if kind == "" {
		return []string{line}
	}
	end := strings.IndexByte(line, ')')
	if end < 0 {
		kaErr(s.d, p, Error, 5, "%s missing ')'", strings.TrimSuffix(kind, "("))
		return nil
	}
	args := strings.Split(line[len(kind):end], ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	rest := strings.TrimLeft(line[end+1:], " \t")
	if len(args) < 2 || args[0] == "" {
		kaErr(s.d, p, Error, 5, "%s needs a variable and values", strings.TrimSuffix(kind, "("))
		return nil
	}
	var vals []string
	if kind == "~LST(" {
		vals = args[1:]
	} else {
		nums := make([]int, 0, 3)
		for _, a := range args[1:] {
			n, err := strconv.Atoi(a)
			if err != nil {
				kaErr(s.d, p, Error, 5, "invalid number '%s' in ~SEQ", a)
				return nil
			}
			nums = append(nums, n)
		}
		start, step, last := 1, 1, nums[len(nums)-1]
		switch len(nums) {
		case 2:
			start = nums[0]
		case 3:
			start, step = nums[0], nums[1]
		}
		if step == 0 || len(nums) > 3 {
			kaErr(s.d, p, Error, 5, "invalid ~SEQ arguments")
			return nil
		}
		for v := start; (step > 0 && v <= last || step < 0 && v >= last) && len(vals) < 65536; v += step {
			if kind == "~SEQx(" {
				vals = append(vals, strconv.FormatInt(int64(v), 16))
			} else {
				vals = append(vals, strconv.Itoa(v))
			}
		}
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, strings.ReplaceAll(rest, "${"+args[0]+"}", v))
	}
	return out
}
