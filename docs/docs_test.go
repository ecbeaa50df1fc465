// Package docs_test keeps the repository's documentation true to itself and to the code: every relative link of
// the Markdown files resolves, the README's Go example is an Example function's body, the README stays short, and
// the catalog's fixes are the words of the reports' Fix constants. It reads files only and starts no process.
package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test runs in docs/; the repository's root is its parent.
const root = ".."

// markdownFiles are the documents whose links are checked: the README, CONTRIBUTING, the catalog's README and
// every page under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("*.md")
	require.NoError(t, err)
	require.NotEmpty(t, pages, "docs/ has Markdown pages")
	files := []string{
		filepath.Join(root, "README.md"),
		filepath.Join(root, "CONTRIBUTING.md"),
		filepath.Join(root, "scenarios", "README.md"),
	}
	return append(files, pages...)
}

// doc is one Markdown file, read once: its lines outside fenced code, its anchors and its fenced blocks.
type doc struct {
	path    string
	lines   []line // outside fenced code blocks
	anchors map[string]bool
	blocks  []block
}

type line struct {
	n    int // 1-based
	text string
}

// block is a fenced code block: its info string ("go", "sh", …) and its lines.
type block struct {
	info  string
	start int // the line of the opening fence
	lines []string
}

var (
	fence   = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^`\\s]*)")
	heading = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	// htmlAnchor is an explicit anchor, <a id="x"> or <a name="x">.
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	link       = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
)

var docs = map[string]*doc{}

// readDoc reads and splits path, once per test binary.
func readDoc(t *testing.T, path string) *doc {
	t.Helper()
	path = filepath.Clean(path)
	if d, ok := docs[path]; ok {
		return d
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	d := &doc{path: path, anchors: map[string]bool{}}
	seen := map[string]int{}
	var open *block
	var closer string
	for i, text := range strings.Split(string(data), "\n") {
		n := i + 1
		if open != nil {
			if m := fence.FindStringSubmatch(text); m != nil && strings.HasPrefix(m[1], closer) && m[2] == "" {
				d.blocks = append(d.blocks, *open)
				open = nil
				continue
			}
			open.lines = append(open.lines, text)
			continue
		}
		if m := fence.FindStringSubmatch(text); m != nil {
			open, closer = &block{info: m[2], start: n}, m[1]
			continue
		}
		d.lines = append(d.lines, line{n, text})
		if m := heading.FindStringSubmatch(text); m != nil {
			s := slug(m[1])
			if k := seen[s]; k > 0 {
				d.anchors[s+"-"+strconv.Itoa(k)] = true
			} else {
				d.anchors[s] = true
			}
			seen[s]++
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(text, -1) {
			d.anchors[m[1]] = true
		}
	}
	require.Nil(t, open, "%s: the code block opened on line %d is never closed", path, blockStart(open))
	docs[path] = d
	return d
}

func blockStart(b *block) int {
	if b == nil {
		return 0
	}
	return b.start
}

// slug is the anchor GitHub gives a heading: its text (a link's text, not its target) in lower case, spaces
// turned into hyphens, punctuation dropped (letters, digits, '-' and '_' stay).
func slug(text string) string {
	text = link.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for text, want := range map[string]string{
		"Report JSON (v1)":                           "report-json-v1",
		"Overrides: `--set`":                         "overrides---set",
		"`clients.network`":                          "clientsnetwork",
		"ingress-nginx's two cookie modes, measured": "ingress-nginxs-two-cookie-modes-measured",
		"An office: nginx's /24 against Caddy's":     "an-office-nginxs-24-against-caddys",
		"A [linked](other.md) heading":               "a-linked-heading",
		"rr-memory.yaml":                             "rr-memoryyaml",
		"Strategies × balancers":                     "strategies--balancers",
	} {
		assert.Equal(t, want, slug(text), text)
	}
}

// Every relative link in the Markdown files leads to a file that exists and, for an #anchor into a Markdown file,
// to one of its headings.
func TestRelativeLinksResolve(t *testing.T) {
	for _, path := range markdownFiles(t) {
		d := readDoc(t, path)
		for _, l := range d.lines {
			for _, m := range link.FindAllStringSubmatch(codeSpan.ReplaceAllString(l.text, ""), -1) {
				checkLink(t, d, l.n, m[2])
			}
		}
	}
}

func checkLink(t *testing.T, from *doc, n int, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if !assert.NoError(t, err, "%s:%d: link %q", from.path, n, target) || u.Scheme != "" || u.Host != "" {
		return // an address elsewhere is not this repository's to check
	}
	dest := from.path
	if u.Path != "" {
		if strings.HasPrefix(u.Path, "/") {
			dest = filepath.Join(root, filepath.FromSlash(u.Path))
		} else {
			dest = filepath.Join(filepath.Dir(from.path), filepath.FromSlash(u.Path))
		}
		if _, err := os.Stat(dest); err != nil {
			t.Errorf("%s:%d: link %q: %s does not exist", from.path, n, target, filepath.Clean(dest))
			return
		}
	}
	if u.Fragment == "" {
		return
	}
	if !strings.HasSuffix(dest, ".md") {
		return // an anchor into another kind of file (a line of code) is GitHub's, not a heading
	}
	if to := readDoc(t, dest); !to.anchors[u.Fragment] {
		t.Errorf("%s:%d: link %q: %s has no heading whose anchor is #%s", from.path, n, target, filepath.Clean(dest), u.Fragment)
	}
}

// The README stays a front page: at most 200 lines, none much wider than a screen.
func TestREADMEIsShort(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	assert.LessOrEqual(t, len(lines), 200, "README.md has %d lines: move the detail into docs/", len(lines))
	for i, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 160, "README.md:%d is %d characters wide", i+1, utf8.RuneCountInString(l))
	}
}

// exampleSource is the file the README's Go example is copied from.
var exampleSource = filepath.Join(root, "harness", "example_test.go")

// Every ```go block of the README is the body (or a run of lines of the body) of an Example function of
// harness/example_test.go, compared line by line without the indentation, so that the snippet cannot drift.
func TestREADMEGoExampleIsAnExampleBody(t *testing.T) {
	var snippets []block
	for _, b := range readDoc(t, filepath.Join(root, "README.md")).blocks {
		if b.info == "go" {
			snippets = append(snippets, b)
		}
	}
	require.NotEmpty(t, snippets, "README.md has a ```go block")
	bodies := exampleBodies(t, exampleSource)
	require.NotEmpty(t, bodies, "%s has Example functions", exampleSource)
	for _, s := range snippets {
		want := normalize(s.lines)
		require.NotEmpty(t, want, "README.md:%d: the ```go block is empty", s.start)
		found := ""
		for name, body := range bodies {
			if containsRun(normalize(body), want) {
				found = name
			}
		}
		assert.NotEmpty(t, found, "README.md:%d: the ```go block is not the body of an Example function of %s; copy it from there:\n%s",
			s.start, exampleSource, strings.Join(want, "\n"))
	}
}

// exampleBodies returns the lines between the braces of every Example function of the file, by name.
func exampleBodies(t *testing.T, path string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	require.NoError(t, err)
	bodies := map[string][]string{}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Example") {
			continue
		}
		from, to := fset.Position(fn.Body.Lbrace).Offset+1, fset.Position(fn.Body.Rbrace).Offset
		bodies[fn.Name.Name] = strings.Split(string(src[from:to]), "\n")
	}
	return bodies
}

// normalize drops each line's indentation and trailing space, and the blank lines around the whole.
func normalize(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimRight(strings.TrimLeft(l, " \t"), " \t\r"))
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// containsRun reports whether want appears in lines as consecutive lines.
func containsRun(lines, want []string) bool {
	for i := 0; i+len(want) <= len(lines); i++ {
		match := true
		for j := range want {
			if lines[i+j] != want[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// The fixes are written once, in scenarios/README.md: each Fix constant of package reports (the words a diagnosis
// prints) has a "### FixName" heading there followed by exactly its words, and each such heading names a constant.
func TestCatalogFixesAreTheConstants(t *testing.T) {
	consts := fixConstants(t, filepath.Join(root, "reports"))
	require.NotEmpty(t, consts, "package reports has Fix constants")
	written := fixSections(t, filepath.Join(root, "scenarios", "README.md"))
	for name, words := range consts {
		got, ok := written[name]
		if assert.True(t, ok, "scenarios/README.md has no \"### %s\" under \"## Fixes\"", name) {
			assert.Equal(t, strings.Join(strings.Fields(words), " "), got, "scenarios/README.md's %s is not the constant's words", name)
		}
	}
	for name := range written {
		_, ok := consts[name]
		assert.True(t, ok, "scenarios/README.md's fix %s is no constant of package reports", name)
	}
}

// fixConstants reads the string constants named Fix… of the package in dir (its non-test files).
func fixConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Fix") || i >= len(vs.Values) {
						continue
					}
					s, ok := stringValue(vs.Values[i])
					require.True(t, ok, "%s: %s is not a string literal this test can read", path, name.Name)
					out[name.Name] = s
				}
			}
		}
	}
	return out
}

// stringValue evaluates a string literal, or literals joined with +.
func stringValue(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, okX := stringValue(e.X)
		y, okY := stringValue(e.Y)
		return x + y, okX && okY
	case *ast.ParenExpr:
		return stringValue(e.X)
	}
	return "", false
}

// fixSections reads the "### Name" sections under "## Fixes": each name and its text, joined into one line.
func fixSections(t *testing.T, path string) map[string]string {
	t.Helper()
	d := readDoc(t, path)
	out := map[string]string{}
	inFixes, name := false, ""
	var words []string
	flush := func() {
		if name != "" {
			out[name] = strings.Join(words, " ")
		}
		name, words = "", nil
	}
	for _, l := range d.lines {
		text := strings.TrimSpace(l.text)
		switch {
		case strings.HasPrefix(text, "## "):
			flush()
			inFixes = text == "## Fixes"
		case inFixes && strings.HasPrefix(text, "### "):
			flush()
			name = strings.Trim(strings.TrimPrefix(text, "### "), "` ")
		case inFixes && name != "" && text != "":
			words = append(words, strings.Fields(text)...)
		}
	}
	flush()
	require.NotEmpty(t, out, "%s has a \"## Fixes\" section of \"### Name\" entries", path)
	return out
}
