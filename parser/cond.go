package parser

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// CondExpr is a parsed ACL condition: terms joined by "||" / "or"; each term
// is a list of factors that must all match (implicit AND).
type CondExpr struct {
	Terms []*CondTerm `parser:"@@ ( Or @@ )*"`
}

// CondTerm is a run of factors that are ANDed.
type CondTerm struct {
	Factors []*CondFactor `parser:"@@+"`
}

// CondFactor is one named ACL or anonymous `{ ... }` ACL, maybe negated.
type CondFactor struct {
	Pos  lexer.Position
	Not  bool     `parser:"@Not?"`
	Name string   `parser:"( @Word"`
	Anon []string `parser:"| LBrace @(Word | Not | Or)+ RBrace )"`
}

// ACLNames returns the named ACLs a condition refers to, with positions.
func (e *CondExpr) ACLNames() []CondFactor {
	var out []CondFactor
	for _, t := range e.Terms {
		for _, f := range t.Factors {
			if f.Name != "" {
				out = append(out, *f)
			}
		}
	}
	return out
}

var condParser = participle.MustBuild[CondExpr](participle.Lexer(wordLexerDef{}))

// ParseCond parses the words of a condition (after `if`/`unless`); pos gives
// the place of each word so errors point into the file.
func ParseCond(words []string, pos []Pos) (*CondExpr, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("missing condition after 'if'/'unless'")
	}
	lx := &wordLexer{words: words, pos: pos}
	pl, err := lexer.Upgrade(lx)
	if err != nil {
		return nil, err
	}
	return condParser.ParseFromLexer(pl)
}

// wordLexerDef feeds participle with words the haproxy tokenizer already
// split, so quoting rules are applied once and positions stay exact.
type wordLexerDef struct{}

const (
	tokWord lexer.TokenType = -(iota + 2)
	tokOr
	tokNot
	tokLBrace
	tokRBrace
)

func (wordLexerDef) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Word": tokWord, "Or": tokOr, "Not": tokNot,
		"LBrace": tokLBrace, "RBrace": tokRBrace,
	}
}

func (wordLexerDef) Lex(string, io.Reader) (lexer.Lexer, error) {
	return nil, fmt.Errorf("conditions are lexed from words, not text")
}

type wordLexer struct {
	words []string
	pos   []Pos
	i     int
	split bool // the leading '!' of words[i] was already emitted
}

func (l *wordLexer) position(col int) lexer.Position {
	if l.i < len(l.pos) {
		p := l.pos[l.i]
		return lexer.Position{Filename: p.File, Line: p.Line, Column: p.Col + col}
	}
	if n := len(l.pos); n > 0 {
		p := l.pos[n-1]
		return lexer.Position{Filename: p.File, Line: p.Line, Column: p.Col + len(l.words[n-1])}
	}
	return lexer.Position{}
}

func (l *wordLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.words) {
		return lexer.Token{Type: lexer.EOF, Pos: l.position(0)}, nil
	}
	w := l.words[l.i]
	col := 0
	if l.split {
		w, col = w[1:], 1
	}
	tok := lexer.Token{Value: w, Pos: l.position(col)}
	switch {
	case w == "||" || w == "or":
		tok.Type = tokOr
	case w == "!":
		tok.Type = tokNot
	case strings.HasPrefix(w, "!") && !l.split:
		l.split = true
		return lexer.Token{Type: tokNot, Value: "!", Pos: tok.Pos}, nil
	case w == "{":
		tok.Type = tokLBrace
	case w == "}":
		tok.Type = tokRBrace
	default:
		tok.Type = tokWord
	}
	l.i++
	l.split = false
	return tok, nil
}
