package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxPublic bounds the package-level identifiers (types, funcs, vars, consts) exported outside internal/ packages:
// what a user of the module can call. Exported methods of exported types are counted and logged beside it.
const maxPublic = 200

// The public API is small and documented: every exported identifier of every non-internal, non-main package has a
// doc comment, and there are at most maxPublic package-level ones.
func TestPublicAPIIsSmallAndDocumented(t *testing.T) {
	var idents, methods int
	perPackage := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "internal" || rel == "cmd" || rel == "docs" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		require.NoError(t, err)
		if f.Name.Name == "main" {
			return nil
		}
		for _, name := range exported(f, func(what string) { t.Errorf("%s: %s has no doc comment", rel, what) }) {
			if strings.Contains(name, ".") {
				methods++
			} else {
				idents++
				perPackage[filepath.Dir(rel)]++
			}
		}
		return nil
	})
	require.NoError(t, err)
	t.Logf("exported outside internal/: %d package-level identifiers %v, and %d methods", idents, perPackage, methods)
	assert.LessOrEqual(t, idents, maxPublic, "package-level identifiers exported outside internal/ packages")
}

// exported lists f's exported package-level identifiers and the exported methods of its exported types (as
// "Type.Method"), calling undocumented for each that has no doc comment.
func exported(f *ast.File, undocumented func(string)) []string {
	var names []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			name, ok := funcName(d)
			if !ok {
				continue
			}
			if d.Doc == nil {
				undocumented(name)
			}
			names = append(names, name)
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				for _, name := range specNames(spec) {
					if d.Doc == nil && !specDoc(spec) {
						undocumented(name)
					}
					names = append(names, name)
				}
			}
		}
	}
	return names
}

func funcName(d *ast.FuncDecl) (string, bool) {
	if !d.Name.IsExported() {
		return "", false
	}
	if d.Recv == nil {
		return d.Name.Name, true
	}
	t := d.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	id, ok := t.(*ast.Ident)
	if !ok || !id.IsExported() {
		return "", false
	}
	return id.Name + "." + d.Name.Name, true
}

func specNames(spec ast.Spec) []string {
	var names []string
	switch s := spec.(type) {
	case *ast.TypeSpec:
		if s.Name.IsExported() {
			names = append(names, s.Name.Name)
		}
	case *ast.ValueSpec:
		for _, n := range s.Names {
			if n.IsExported() {
				names = append(names, n.Name)
			}
		}
	}
	return names
}

func specDoc(spec ast.Spec) bool {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		return s.Doc != nil || s.Comment != nil
	case *ast.ValueSpec:
		return s.Doc != nil || s.Comment != nil
	}
	return false
}
