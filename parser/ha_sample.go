package parser

import (
	"fmt"
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

// checkSampleFiles verifies that the files converters load exist.
func (r *haReader) checkSampleFiles(e *sampleExpr, p Pos, ctx string) bool {
	for _, c := range e.Convs {
		if isMapConverter(c.Name) {
			file := strings.SplitN(c.Args, ",", 2)[0]
			if !r.fileExists(file) {
				r.d.Errorf(p, "%s : failed to parse sample expression : invalid args in converter '%s' : failed to load map '%s'.", ctx, c.Name, file)
				return false
			}
		}
	}
	return true
}

// checkLogFormat checks the %[...] sample expressions of a log-format string.
func (r *haReader) checkLogFormat(px *Proxy, s string, p Pos, ctx string) {
	r.checkFormat(px, s, p, ctx, false)
}

// checkRuleFormat checks a rule's log-format argument: as checkLogFormat,
// and in an http proxy haproxy warns that a fetch of a buffer's raw bytes
// gives nothing there.
func (r *haReader) checkRuleFormat(px *Proxy, s string, p Pos, ctx string) {
	r.checkFormat(px, s, p, ctx, true)
}

func (r *haReader) checkFormat(px *Proxy, s string, p Pos, ctx string, warnL6 bool) {
	for {
		i := strings.Index(s, "%[")
		if i < 0 {
			return
		}
		s = s[i+2:]
		e, rest, err := r.kw.parseSample(s)
		if err != nil {
			r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : failed to parse sample expression <%s> : %s.", px.Kind, px.Name, ctx, s, err)
			return
		}
		if !strings.HasPrefix(rest, "]") {
			r.d.Errorf(p, "error detected in %s '%s' while parsing '%s' rule : expected ']' after '%s', but found '%s'.", px.Kind, px.Name, ctx, strings.TrimSuffix(s, rest), firstChar(rest))
			return
		}
		if !r.checkSampleFiles(e, p, ctx) {
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
		s = rest[1:]
	}
}

func firstChar(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}
