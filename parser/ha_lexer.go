package parser

import (
	"strings"
)

// maxWords is haproxy 2.6's limit of words on one line.
const maxWords = 64

// EnvLookup returns an environment variable's value and whether it is set.
type EnvLookup func(name string) (string, bool)

// lexLine is the result of splitting one haproxy line into words.
type lexLine struct {
	Words  []string
	Cols   []int // 1-based byte column where each word starts
	Err    string
	ErrCol int
}

// haLexer splits haproxy config lines into words with haproxy 2.6's rules:
// '...' is literal, "..." allows escapes and $VAR / ${VAR} / ${VAR-default}
// / ${VAR[*]} expansion, a backslash outside quotes protects the next
// character, and an unprotected # starts a comment. It reuses its buffers:
// the words it returns are only valid until the next call.
type haLexer struct {
	env EnvLookup
	// pseudo answers ${.FILE}, ${.LINE} and ${.SECTION}.
	pseudo func(name string) (string, bool)
	buf    []byte
	ends   []int
	cols   []int
	words  []string
}

// split tokenizes line (without its LF).
func (lx *haLexer) split(line string) lexLine {
	lx.buf = lx.buf[:0]
	lx.ends = lx.ends[:0]
	lx.cols = lx.cols[:0]
	var out lexLine
	i, n := 0, len(line)
	inWord := false
	squote, dquote := false, false
	quoteStart := 0
	start := func(col int) {
		if !inWord {
			inWord = true
			lx.cols = append(lx.cols, col+1)
		}
	}
	end := func() {
		if inWord {
			lx.ends = append(lx.ends, len(lx.buf))
			inWord = false
		}
	}
	for i < n {
		c := line[i]
		if squote {
			if c == '\'' {
				squote = false
			} else {
				lx.buf = append(lx.buf, c)
			}
			i++
			continue
		}
		if dquote {
			switch c {
			case '"':
				dquote = false
				i++
			case '\\':
				i = lx.escape(line, i, true)
			case '$':
				i = lx.expand(line, i, &inWord)
			default:
				lx.buf = append(lx.buf, c)
				i++
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r':
			end()
			i++
		case '#':
			end()
			i = n
		case '\'':
			start(i)
			squote, quoteStart = true, i
			i++
		case '"':
			start(i)
			dquote, quoteStart = true, i
			i++
		case '\\':
			start(i)
			i = lx.escape(line, i, false)
		default:
			start(i)
			lx.buf = append(lx.buf, c)
			i++
		}
	}
	if squote || dquote {
		out.Err = "unmatched quote"
		out.ErrCol = quoteStart + 1
	}
	end()
	lx.words = lx.words[:0]
	prev := 0
	s := string(lx.buf)
	for _, e := range lx.ends {
		lx.words = append(lx.words, s[prev:e])
		prev = e
	}
	out.Words, out.Cols = lx.words, lx.cols
	if len(lx.cols) > len(lx.words) { // a word made only of a ${V[*]} that was empty
		out.Cols = lx.cols[:len(lx.words)]
	}
	return out
}

// escape handles a backslash at line[i]; inDQ says whether we are inside
// double quotes. It returns the index after the escape.
func (lx *haLexer) escape(line string, i int, inDQ bool) int {
	if i+1 >= len(line) {
		lx.buf = append(lx.buf, '\\')
		return i + 1
	}
	c := line[i+1]
	switch c {
	case 'n':
		lx.buf = append(lx.buf, '\n')
	case 'r':
		lx.buf = append(lx.buf, '\r')
	case 't':
		lx.buf = append(lx.buf, '\t')
	case '\\', '"', '#':
		lx.buf = append(lx.buf, c)
	case '$':
		if !inDQ {
			lx.buf = append(lx.buf, '\\', c)
		} else {
			lx.buf = append(lx.buf, c)
		}
	case ' ', '\'':
		if inDQ {
			lx.buf = append(lx.buf, '\\', c)
		} else {
			lx.buf = append(lx.buf, c)
		}
	case 'x':
		if i+3 < len(line)+0 && isHex(line[i+2]) && isHex(line[i+3]) {
			lx.buf = append(lx.buf, unhex(line[i+2])<<4|unhex(line[i+3]))
			return i + 4
		}
		lx.buf = append(lx.buf, '\\', c)
	default:
		lx.buf = append(lx.buf, '\\', c)
	}
	return i + 2
}

// expand handles a '$' inside double quotes at line[i].
func (lx *haLexer) expand(line string, i int, inWord *bool) int {
	j := i + 1
	braced := j < len(line) && line[j] == '{'
	if braced {
		j++
	}
	k := j
	for k < len(line) && (isAlnum(line[k]) || line[k] == '_' || (braced && k == j && line[k] == '.')) {
		k++
	}
	if braced && k > j && line[j] == '.' {
		for k < len(line) && isAlnum(line[k]) {
			k++
		}
	}
	name := line[j:k]
	if name == "" || (!braced && !(isAlpha(name[0]) || name[0] == '_')) {
		lx.buf = append(lx.buf, '$')
		return i + 1
	}
	def, hasDef, splitAll := "", false, false
	if braced {
		rest := line[k:]
		switch {
		case strings.HasPrefix(rest, "[*]}"):
			splitAll = true
			k += 4
		case strings.HasPrefix(rest, "-"):
			close := strings.IndexByte(rest, '}')
			if close < 0 {
				lx.buf = append(lx.buf, line[i:]...)
				return len(line)
			}
			def, hasDef = rest[1:close], true
			k += close + 1
		case strings.HasPrefix(rest, "}"):
			k++
		default:
			lx.buf = append(lx.buf, line[i:k]...)
			return k
		}
	}
	val, ok := "", false
	if name[0] == '.' {
		if lx.pseudo != nil {
			val, ok = lx.pseudo(name)
		}
	} else if lx.env != nil {
		val, ok = lx.env(name)
	}
	if !ok && hasDef {
		val = def
	}
	if splitAll {
		for idx, f := range strings.Fields(val) {
			if idx > 0 {
				lx.ends = append(lx.ends, len(lx.buf))
				lx.cols = append(lx.cols, lx.cols[len(lx.cols)-1])
			}
			lx.buf = append(lx.buf, f...)
		}
		return k
	}
	lx.buf = append(lx.buf, val...)
	return k
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
