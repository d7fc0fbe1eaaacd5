package parser

import (
	"fmt"
	"iter"
	"strings"
)

// mapConverters are the converters whose first argument is a file to load.
func isMapConverter(name string) bool {
	return name == "map" || strings.HasPrefix(name, "map_")
}

// sampleExpr is a fetch with its converters, split at the top level.
type sampleExpr struct {
	Fetch     string
	FetchArgs string
	Convs     []sampleCall
}

type sampleCall struct {
	Name string
	Args string
}

// splitCall reads `name(args)` at s; it returns the name, the argument text,
// and the rest of s.
func splitCall(s string) (name, args, rest string, err error) {
	i := 0
	for i < len(s) && s[i] != '(' && s[i] != ',' && s[i] != ']' && s[i] != ')' {
		i++
	}
	name = s[:i]
	if i < len(s) && s[i] == '(' {
		depth, j := 0, i
		var q byte
		for ; j < len(s); j++ {
			c := s[j]
			if q != 0 {
				if c == '\\' {
					j++
				} else if c == q {
					q = 0
				}
				continue
			}
			switch c {
			case '"', '\'':
				q = c
			case '\\':
				j++
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j >= len(s) {
			return name, "", "", fmt.Errorf("missing closing ')' after arguments to '%s'", name)
		}
		args, i = s[i+1:j], j+1
	}
	return name, args, s[i:], nil
}

// parseSample parses `fetch(args),conv(args),...` and checks the names
// against haproxy's lists. It returns what follows the expression.
func (k *kwState) parseSample(s string) (*sampleExpr, string, error) {
	name, args, rest, err := splitCall(s)
	if err != nil {
		return nil, rest, err
	}
	if name == "" {
		return nil, rest, fmt.Errorf("missing fetch method")
	}
	if !k.fetch[name] && !k.fetch[fetchBase(name)] {
		return nil, rest, fmt.Errorf("unknown fetch method '%s'", name)
	}
	e := &sampleExpr{Fetch: name, FetchArgs: args}
	for strings.HasPrefix(rest, ",") {
		var c sampleCall
		c.Name, c.Args, rest, err = splitCall(rest[1:])
		if err != nil {
			return nil, rest, err
		}
		if c.Name == "" {
			return nil, rest, fmt.Errorf("missing converter name")
		}
		if !k.conv[c.Name] {
			return nil, rest, fmt.Errorf("unknown converter '%s'", c.Name)
		}
		e.Convs = append(e.Convs, c)
	}
	return e, rest, nil
}

// fetchBase strips the numeric stick-counter prefix forms (sc0_ -> sc_).
func fetchBase(name string) string {
	if len(name) > 3 && strings.HasPrefix(name, "sc") && name[2] >= '0' && name[2] <= '9' && name[3] == '_' {
		return "sc_" + name[4:]
	}
	if strings.HasPrefix(name, "src_") || strings.HasPrefix(name, "sc_") {
		return name
	}
	return name
}

// checkSampleFiles checks the map files an expression's converters load
// (patternFile): the first converter with a problem and what haproxy
// says of it ("" when there is none).
func (r *haReader) checkSampleFiles(e *sampleExpr) (conv, msg string) {
	for _, c := range e.Convs {
		if isMapConverter(c.Name) {
			if msg := r.patternFile(strings.SplitN(c.Args, ",", 2)[0], 2); msg != "" {
				return c.Name, msg
			}
		}
	}
	return "", ""
}

// patternFile notes a pattern file read with cols columns (1: an ACL's
// -f list, 2: a map) and says what haproxy says of it: it loads a file
// once, so only the first reference to a missing file is an error, and
// one file cannot be a list and a map.
func (r *haReader) patternFile(path string, cols int) string {
	if r.patFiles == nil {
		r.patFiles = map[string]int{}
	}
	words := map[int]string{1: "one", 2: "two"}
	if had, seen := r.patFiles[path]; seen {
		if had != cols {
			return fmt.Sprintf("The file \"%s\" is already used as %s column file and cannot be used by as %s column file.", path, words[had], words[cols])
		}
		return ""
	}
	r.patFiles[path] = cols
	if !r.fileExists(path) {
		return fmt.Sprintf("failed to open pattern file <%s>", path)
	}
	return ""
}

// checkLogFormat checks the %[...] sample expressions of a log-format string.
func (r *haReader) checkLogFormat(px *Proxy, s string, p Pos, ctx string) {
	r.checkFormat(px, s, p, ctx, false, false)
}

// checkSampleArg checks a rule's sample expression argument (set-var,
// track-sc, set-src...), worded as haproxy words those.
func (r *haReader) checkSampleArg(px *Proxy, expr string, p Pos, ctx string) {
	r.checkFormat(px, "%["+expr+"]", p, ctx, false, true)
}

// checkRuleFormat checks a rule's log-format argument: as checkLogFormat,
// and in an http proxy haproxy warns that a fetch of a buffer's raw bytes
// gives nothing there.
func (r *haReader) checkRuleFormat(px *Proxy, s string, p Pos, ctx string) {
	r.checkFormat(px, s, p, ctx, true, false)
}

// formatSample is one %[...] expression of a log-format string: the
// text from the expression on (at), the expression parsed and what
// follows it, or why it does not parse.
type formatSample struct {
	at, rest string
	e        *sampleExpr
	err      error
}

// formatSamples yields the %[...] expressions of a log-format string in
// order, up to and including the first that does not parse.
func (r *haReader) formatSamples(s string) iter.Seq[formatSample] {
	return func(yield func(formatSample) bool) {
		for {
			i := strings.Index(s, "%[")
			if i < 0 {
				return
			}
			s = s[i+2:]
			e, rest, err := r.kw.parseSample(s)
			if !yield(formatSample{at: s, rest: rest, e: e, err: err}) || err != nil {
				return
			}
			s = rest
		}
	}
}

func (r *haReader) checkFormat(px *Proxy, s string, p Pos, ctx string, warnL6, sampleArg bool) {
	for fs := range r.formatSamples(s) {
		s, e, rest, err := fs.at, fs.e, fs.rest, fs.err
		if err != nil {
			r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : failed to parse sample expression <%s> : %s.", px.Kind, px.Name, ctx, s, err)
			return
		}
		if !strings.HasPrefix(rest, "]") {
			r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : expected ']' after '%s', but found '%s'.", px.Kind, px.Name, ctx, strings.TrimSuffix(s, rest), firstChar(rest))
			return
		}
		if conv, msg := r.checkSampleFiles(e); msg != "" {
			missing := fmt.Sprintf("invalid args in converter '%s' : %s", conv, msg)
			switch {
			case sampleArg && strings.HasPrefix(ctx, "tcp-"):
				r.d.Errorf(p, "%s", missing) // haproxy's words, bare
			case sampleArg:
				r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : %s.", px.Kind, px.Name, ctx, missing)
			default:
				r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : failed to parse sample expression <%s> : %s.", px.Kind, px.Name, ctx, s, missing)
			}
			return
		}
		if warnL6 && px.Mode == "http" && l6Side(e.Fetch) != 0 {
			r.d.Warnf(p, "L6 sample fetch <%s> ignored in HTTP log-format string.", s)
		}
		if px.Kind == "defaults" && strings.HasPrefix(e.Fetch, "srv_") && e.FetchArgs != "" && !strings.Contains(e.FetchArgs, "/") {
			r.d.Errorf(p, "parsing [%s:%d]: backend name must be set in arg 1 of sample fetch keyword '%s' in %s expression in proxy '%s'.", p.File, p.Line, e.Fetch, strings.Fields(ctx)[0], px.Name)
			r.d[len(r.d)-1].Form, r.d[len(r.d)-1].Stage = "raw", "post" // haproxy finds it once every file is read
			return
		}
	}
}

func firstChar(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}

// missingFormatFile finds, in a log-format string, the first sample
// expression whose converter's map file haproxy refuses (patternFile):
// the string from that expression on, the converter and the message (""
// when all are fine or an expression does not parse).
func (r *haReader) missingFormatFile(s string) (rest, conv, msg string) {
	for fs := range r.formatSamples(s) {
		if fs.err != nil {
			return "", "", ""
		}
		if conv, msg := r.checkSampleFiles(fs.e); msg != "" {
			return fs.at, conv, msg
		}
	}
	return "", "", ""
}
