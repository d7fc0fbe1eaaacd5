package parser

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// haSectionKinds are the section keywords haproxy 2.6 knows.
var haSectionKinds = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true,
	"listen": true, "userlist": true, "peers": true, "mailers": true,
	"program": true, "http-errors": true, "ring": true, "log-forward": true,
	"resolvers": true, "cache": true, "fcgi-app": true,
}

// ifFrame is one open `.if` block.
type ifFrame struct {
	pos      Pos
	parentOn bool // the enclosing block is active
	taken    bool // one branch was already taken
	on       bool // the current branch is active
	elseSeen bool
}

// haReader reads haproxy config files into a Config, line by line, as
// haproxy does: source -> words -> .if filter -> section -> keyword.
type haReader struct {
	// patFiles are the pattern files read so far and their columns
	// (patternFile)
	patFiles map[string]int
	opts     *Options
	d        Diags
	cfg      *Config
	lx       haLexer
	envSet   map[string]*string // setenv/unsetenv done by the config itself
	file     string
	line     int
	ifs      []ifFrame
	sec      *haSection
	kw       *kwState
	// lastDefaults is the defaults section proxies without 'from' use.
	lastDefaults *Proxy
}

// haSection is the section lines are being added to.
type haSection struct {
	kind  string
	name  string
	pos   Pos
	px    *Proxy
	ul    *Userlist
	other *Section
	rs    *Resolvers // a resolvers section's model (other holds its lines too)
	// ringSize is a ring section's buffer size so far (haproxy's default
	// 16384 when 0)
	ringSize int
	// failed: the section line was refused (extra words): haproxy made
	// no proxy, and each of its lines is an error
	failed bool
}

func newHAReader(opts *Options, cfg *Config) *haReader {
	r := &haReader{opts: opts, cfg: cfg, envSet: map[string]*string{}}
	r.lx.env = r.getenv
	r.lx.pseudo = r.pseudoVar
	r.kw = newKwState()
	return r
}

// getenv looks a variable up in what the config set, then the process env.
func (r *haReader) getenv(name string) (string, bool) {
	if v, ok := r.envSet[name]; ok {
		if v == nil {
			return "", false
		}
		return *v, true
	}
	if r.opts.Env != nil {
		return r.opts.Env(name)
	}
	return "", false
}

func (r *haReader) pseudoVar(name string) (string, bool) {
	switch name {
	case ".FILE":
		return r.file, true
	case ".LINE":
		return fmt.Sprint(r.line), true
	case ".SECTION":
		if r.sec != nil {
			return r.sec.kind, true
		}
		return "", true
	}
	return "", false
}

// readPath reads a file, or every *.cfg file of a directory in lexical order.
func (r *haReader) readPath(path string) {
	st, err := os.Stat(path)
	if err != nil {
		r.d.Add(Pos{File: path}, Error, "Cannot open configuration file/directory %s : No such file or directory", path)
		r.d[len(r.d)-1].Stage = "open"
		return
	}
	if !st.IsDir() {
		r.readFile(path)
		return
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		r.d.Errorf(Pos{File: path}, "Cannot open configuration file/directory %s : %v", path, err)
		return
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".cfg") && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		r.readFile(filepath.Join(path, n))
	}
}

func (r *haReader) readFile(name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		r.d.Errorf(Pos{File: name}, "Cannot open configuration file/directory %s : %v", name, err)
		return
	}
	r.readData(name, data)
}

// readData reads one file's text. Sections never span files.
func (r *haReader) readData(name string, data []byte) {
	r.cfg.HAProxyFiles = append(r.cfg.HAProxyFiles, name)
	r.file, r.line, r.sec, r.ifs = name, 0, nil, r.ifs[:0]
	text := string(data)
	var pos []Pos
	for len(text) > 0 {
		r.line++
		nl := strings.IndexByte(text, '\n')
		var line string
		if nl < 0 {
			line, text = text, ""
			r.errorAt(0, "Missing LF on last line, file might have been truncated at position %d.", len(line)+1)
			r.d[len(r.d)-1].Form = "colon"
			break
		}
		line, text = text[:nl], text[nl+1:]
		lx := r.lx.split(line)
		if lx.Err != "" {
			trimmed := strings.TrimLeft(line, " \t")
			indent := len(line) - len(trimmed)
			r.errorAt(lx.ErrCol, "unmatched quote at position %d:\n  %s\n  %s^", lx.ErrCol, trimmed, strings.Repeat(" ", lx.ErrCol-1-indent))
			r.d[len(r.d)-1].Form = "colon"
			continue
		}
		if len(lx.Words) == 0 {
			continue
		}
		if len(lx.Words) > maxWords {
			indent := len(line) - len(strings.TrimLeft(line, " \t"))
			r.errorAt(lx.Cols[maxWords-1], "too many words, truncating after word %d, position %d: <%s>.", maxWords, lx.Cols[maxWords-1]-indent, lx.Words[maxWords-1])
			r.d[len(r.d)-1].Form = "colon"
			continue
		}
		pos = pos[:0]
		for _, c := range lx.Cols {
			pos = append(pos, Pos{File: name, Line: r.line, Col: c})
		}
		if strings.HasPrefix(lx.Words[0], ".") && r.directive(lx.Words, pos) {
			continue
		}
		if !r.active() {
			continue
		}
		words := append([]string(nil), lx.Words...)
		r.statement(words, append([]Pos(nil), pos...))
	}
	if len(r.ifs) > 0 {
		r.d.Errorf(Pos{File: name, Line: r.line}, "non-terminated '.if' block.")
		r.d[len(r.d)-1].Form, r.d[len(r.d)-1].NonFatal = "colon", true
		r.ifs = r.ifs[:0]
	}
	r.closeSection()
}

// errorAt reports an error on the current line.
func (r *haReader) errorAt(col int, format string, args ...any) {
	r.d.Errorf(Pos{File: r.file, Line: r.line, Col: col}, format, args...)
}

func (r *haReader) active() bool {
	return len(r.ifs) == 0 || r.ifs[len(r.ifs)-1].on
}

// directive handles the .if family and the .diag family; it returns false
// when the word is not a directive (it is then an ordinary keyword).
func (r *haReader) directive(words []string, pos []Pos) bool {
	p := pos[0]
	switch words[0] {
	case ".if":
		parent := r.active()
		f := ifFrame{pos: p, parentOn: parent}
		if parent {
			ok, err := evalIfCond(words[1:], r.getenv)
			if err != nil {
				r.d.Errorf(p, "%s in '.if' at position 1", err)
			}
			f.on, f.taken = ok, ok
		}
		r.ifs = append(r.ifs, f)
	case ".elif", ".else":
		if len(r.ifs) == 0 {
			r.d.Errorf(p, "'%s' appears outside of '.if' block.", words[0])
			return true
		}
		f := &r.ifs[len(r.ifs)-1]
		if f.elseSeen {
			r.d.Errorf(p, "'%s' after '.else' is not permitted.", words[0])
			return true
		}
		if words[0] == ".else" {
			f.elseSeen = true
			f.on = f.parentOn && !f.taken
			f.taken = true
			return true
		}
		f.on = false
		if f.parentOn && !f.taken {
			ok, err := evalIfCond(words[1:], r.getenv)
			if err != nil {
				r.d.Errorf(p, "%s in '.elif' at position 1", err)
			}
			f.on, f.taken = ok, ok
		}
	case ".endif":
		if len(r.ifs) == 0 {
			r.d.Errorf(p, "'.endif' appears outside of '.if' block.")
			return true
		}
		r.ifs = r.ifs[:len(r.ifs)-1]
	case ".diag", ".notice", ".warning", ".alert":
		if !r.active() {
			return true
		}
		msg := strings.Join(words[1:], " ")
		sev := map[string]Severity{".diag": Notice, ".notice": Notice, ".warning": Warning, ".alert": Error}[words[0]]
		r.d.Add(p, sev, "%s", msg)
		r.d[len(r.d)-1].Keyword = words[0]
	default:
		return false
	}
	return true
}

// statement routes one active line: a section keyword opens a section,
// anything else goes to the current section's keyword table.
func (r *haReader) statement(words []string, pos []Pos) {
	if haSectionKinds[words[0]] {
		r.openSection(words, pos)
		return
	}
	if r.sec == nil {
		msg := fmt.Sprintf("unknown keyword '%s' out of section.", words[0])
		if s := suggestSection(words[0], sectionNames()); s != "" {
			msg = fmt.Sprintf("unknown keyword '%s' out of section; did you mean '%s' maybe ?", words[0], s)
		}
		r.d.Errorf(pos[0], "%s", msg)
		r.d[len(r.d)-1].Form = "colon"
		return
	}
	r.keyword(words, pos)
}

func sectionNames() []string {
	out := make([]string, 0, len(haSectionKinds))
	for k := range haSectionKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
