package parser

// Stmt is one keepalived statement: a keyword, its arguments and, for
// blocks, the statements inside the braces.
type Stmt struct {
	Keyword  string
	Args     []string
	Pos      Pos
	ArgPos   []Pos
	Block    []*Stmt
	HasBlock bool
}

// kaTok is one word of the token stream with the end-of-line mark.
type kaTok struct {
	w   string
	p   Pos
	eol bool
}

// kaTree groups keepalived lines into statements and blocks by matching
// braces. An unclosed block is reported at the line that opened it and
// parsing goes on.
type kaTree struct {
	toks []kaTok
	i    int
	d    *Diags
}

func buildKaTree(lines []kaLine, d *Diags) []*Stmt {
	n := 0
	for _, l := range lines {
		n += len(l.words)
	}
	t := &kaTree{d: d, toks: make([]kaTok, 0, n)}
	for _, l := range lines {
		for j, w := range l.words {
			t.toks = append(t.toks, kaTok{w: w, p: l.pos[j], eol: j == len(l.words)-1})
		}
	}
	return t.block(nil, "top")
}

// kaChildCtx is the context a keyword's block is read in; ok is false when
// the keyword is unknown where it stands, and keepalived then ignores its
// '{' and reads what follows in the same block.
func kaChildCtx(ctx, kw string) (string, bool) {
	if ctx == "list" || !kaKeywords[ctx][kw] {
		return "", false
	}
	if kaListBlocks[kw] && !(ctx == "top" && (kw == "track_file" || kw == "track_process")) {
		return "list", true
	}
	if sub, ok := kaBlocks[kw]; ok {
		return sub, true
	}
	return "list", true
}

func (t *kaTree) block(open *kaTok, ctx string) []*Stmt {
	var out []*Stmt
	for t.i < len(t.toks) {
		tok := t.toks[t.i]
		switch tok.w {
		case "}":
			t.i++
			if open != nil {
				return out
			}
			t.d.Add(tok.p, Warning, "Unknown keyword '}'")
			t.d.Last().Exit = 5
			continue
		case "{":
			t.i++
			if n := len(out); n > 0 && !out[n-1].HasBlock {
				if sub, ok := kaChildCtx(ctx, out[n-1].Keyword); ok {
					out[n-1].HasBlock = true
					out[n-1].Block = t.block(&tok, sub)
					continue
				}
			}
			t.d.Add(tok.p, Warning, "Unexpected '{' - ignoring")
			t.d.Last().Exit = 5
			continue
		}
		st := &Stmt{Keyword: tok.w, Pos: tok.p}
		t.i++
		for !tok.eol && t.i < len(t.toks) {
			tok = t.toks[t.i]
			if tok.w == "{" || tok.w == "}" {
				break
			}
			st.Args = append(st.Args, tok.w)
			st.ArgPos = append(st.ArgPos, tok.p)
			t.i++
		}
		if t.i < len(t.toks) && t.toks[t.i].w == "{" && t.toks[t.i].p.Line == st.Pos.Line {
			ob := t.toks[t.i]
			t.i++
			if sub, ok := kaChildCtx(ctx, st.Keyword); ok {
				st.HasBlock = true
				st.Block = t.block(&ob, sub)
			} else {
				t.d.Add(ob.p, Warning, "Unexpected '{' - ignoring")
				t.d.Last().Exit = 5
			}
		}
		out = append(out, st)
	}
	if open != nil {
		t.d.Add(open.p, Error, "There are 1 missing '}'s or extra '{'s (the block opened here is not closed)")
		t.d.Last().Exit = 5
	}
	return out
}
