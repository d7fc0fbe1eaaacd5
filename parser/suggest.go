package parser

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo, else "". Closeness is haproxy's: each word is reduced
// to the counts of its transitions between character classes (each
// letter, digits, other characters, the word's start and end), two words
// are as far apart as those counts differ, and a candidate as far as
// twice the length of either word is no suggestion. Among equally close
// candidates the first wins.
func suggest(word string, candidates []string) string {
	wf := fingerprint(word)
	best, bestD := "", -1
	for _, c := range candidates {
		if d := fingerprintDistance(&wf, fingerprint(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD >= 2*len(word) || bestD >= 2*len(best) {
		return ""
	}
	return best
}

// charClass is a character's class in a fingerprint: 0-25 a letter, 26 a
// digit, 27 anything else.
func charClass(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= '0' && c <= '9':
		return 26
	}
	return 27
}

// wordPrint counts a word's class transitions, from (row) to (column);
// class 28 is the word's start, 29 its end.
type wordPrint [32][32]int

func fingerprint(w string) (fp wordPrint) {
	from := 28
	for i := 0; i < len(w); i++ {
		to := charClass(w[i])
		fp[from][to]++
		from = to
	}
	fp[from][29]++
	return fp
}

func fingerprintDistance(a *wordPrint, b wordPrint) int {
	d := 0
	for i := range a {
		for j := range a[i] {
			if k := a[i][j] - b[i][j]; k < 0 {
				d -= k
			} else {
				d += k
			}
		}
	}
	return d
}

// suggestSection is suggest for a word out of any section, whose close
// misspellings of section names haproxy does not point out: only a near
// miss (Levenshtein distance up to a third of the word, at least 2).
func suggestSection(word string, candidates []string) string {
	best, bestD := "", -1
	limit := max(len(word)/3, 2)
	for _, c := range candidates {
		if d := editDistance(word, c); d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
