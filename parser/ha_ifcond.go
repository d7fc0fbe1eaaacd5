package parser

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// haproxyVersion is the haproxy version gohaka answers for in `.if
// version_atleast()` and in `haproxy -v`.
const haproxyVersion = "2.6.12"

// haproxyFeatures are the +FEATURE names of the Debian haproxy 2.6 build,
// which `.if feature(X)` tests.
var haproxyFeatures = map[string]bool{
	"EPOLL": true, "POLL": true, "LINUX_SPLICE": true, "LINUX_TPROXY": true,
	"TPROXY": true, "NS": true, "TFO": true, "THREAD": true, "ACCEPT4": true,
	"GETADDRINFO": true, "CPU_AFFINITY": true, "OPENSSL": true, "LUA": true,
	"SLZ": true, "SYSTEMD": true, "OT": true, "PROMEX": true, "PCRE2": true,
	"PCRE2_JIT": true, "LIBCRYPT": true, "CRYPT_H": true, "PRCTL": true,
	"THREAD_DUMP": true, "RT": true, "BACKTRACE": true, "DL": true,
	"PROCCTL": false, "QUIC": false, "ZLIB": false,
}

var ifLexer = lexer.MustStateful(lexer.Rules{
	"Root": {
		{Name: "Space", Pattern: `\s+`},
		{Name: "Call", Pattern: `[a-z_]+\(`, Action: lexer.Push("Args")},
		{Name: "Op", Pattern: `&&|\|\||!|\(|\)`},
		{Name: "Number", Pattern: `[0-9]+`},
		{Name: "Word", Pattern: `[^\s()!&|]+`},
	},
	"Args": {
		{Name: "Comma", Pattern: `,`},
		{Name: "Close", Pattern: `\)`, Action: lexer.Pop()},
		{Name: "Arg", Pattern: `[^,)]+`},
	},
})

type ifOr struct {
	Left  *ifAnd   `parser:"@@"`
	Right []*ifAnd `parser:"( '||' @@ )*"`
}

type ifAnd struct {
	Left  *ifUnary   `parser:"@@"`
	Right []*ifUnary `parser:"( '&&' @@ )*"`
}

type ifUnary struct {
	Nots []string `parser:"@'!'*"`
	Sub  *ifOr    `parser:"( '(' @@ ')'"`
	Call *ifCall  `parser:"| @@"`
	Num  *string  `parser:"| @Number"`
	Word *string  `parser:"| @Word )"`
}

type ifCall struct {
	Name string   `parser:"@Call"`
	Args []string `parser:"( @Arg? ( Comma @Arg? )* )? Close"`
}

var ifParser = participle.MustBuild[ifOr](participle.Lexer(ifLexer), participle.Elide("Space"))

// evalIfCond evaluates a `.if`/`.elif` condition given as the words after
// the directive.
func evalIfCond(words []string, env EnvLookup) (bool, error) {
	text := strings.Join(words, " ")
	if strings.TrimSpace(text) == "" {
		return false, fmt.Errorf("missing condition")
	}
	e, err := ifParser.ParseString("", text)
	if err != nil {
		return false, fmt.Errorf("failed to parse condition '%s'", text)
	}
	return e.eval(env)
}

func (e *ifOr) eval(env EnvLookup) (bool, error) {
	v, err := e.Left.eval(env)
	for _, r := range e.Right {
		if err != nil || v {
			break
		}
		v, err = r.eval(env)
	}
	return v, err
}

func (e *ifAnd) eval(env EnvLookup) (bool, error) {
	v, err := e.Left.eval(env)
	for _, r := range e.Right {
		if err != nil || !v {
			break
		}
		v, err = r.eval(env)
	}
	return v, err
}

func (e *ifUnary) eval(env EnvLookup) (bool, error) {
	var v bool
	var err error
	switch {
	case e.Sub != nil:
		v, err = e.Sub.eval(env)
	case e.Call != nil:
		v, err = e.Call.eval(env)
	case e.Num != nil:
		n, _ := strconv.Atoi(*e.Num)
		v = n != 0
	default:
		return false, fmt.Errorf("unparsable term '%s'", *e.Word)
	}
	if len(e.Nots)%2 == 1 {
		v = !v
	}
	return v, err
}

func (c *ifCall) eval(env EnvLookup) (bool, error) {
	name := strings.TrimSuffix(c.Name, "(")
	want := map[string]int{"defined": 1, "feature": 1, "streq": 2, "strneq": 2,
		"version_atleast": 1, "version_before": 1}
	n, ok := want[name]
	if !ok {
		return false, fmt.Errorf("unknown predicate '%s'", name)
	}
	if len(c.Args) != n {
		return false, fmt.Errorf("predicate '%s' expects %d argument(s)", name, n)
	}
	a := c.Args
	switch name {
	case "defined":
		_, set := env(a[0])
		return set, nil
	case "feature":
		return haproxyFeatures[a[0]], nil
	case "streq":
		return a[0] == a[1], nil
	case "strneq":
		return a[0] != a[1], nil
	case "version_atleast":
		return compareVersions(haproxyVersion, a[0]) >= 0, nil
	default:
		return compareVersions(haproxyVersion, a[0]) < 0, nil
	}
}

// compareVersions compares dotted versions numerically ("2.6.12" vs "2.10").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(leadingDigits(as[i]))
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(leadingDigits(bs[i]))
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
