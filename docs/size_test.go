package docs_test

import (
	"bytes"
	"cmp"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxPackageLines bounds the lines of non-test Go code in one package: past it a package holds more than a reader
// keeps in mind at once, and its self-contained machinery belongs in an internal/ package of its own.
const maxPackageLines = 2000

// Every non-main package of the module stays under maxPackageLines lines of non-test Go code; the largest are
// logged, so that a package nearing the bound shows before it fails.
func TestPackagesAreSmall(t *testing.T) {
	lines := map[string]int{} // by package directory, relative to root
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.PackageClauseOnly)
		require.NoError(t, err)
		if f.Name.Name == "main" {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		lines[filepath.ToSlash(rel)] += bytes.Count(src, []byte("\n"))
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, lines, "no package found under %s", root)
	pkgs := slices.SortedFunc(maps.Keys(lines), func(a, b string) int { return cmp.Or(cmp.Compare(lines[b], lines[a]), cmp.Compare(a, b)) })
	var largest []string
	for _, pkg := range pkgs[:min(len(pkgs), 8)] {
		largest = append(largest, fmt.Sprintf("%s %d", pkg, lines[pkg]))
	}
	t.Logf("the largest packages, in lines of non-test Go code (at most %d): %s", maxPackageLines, strings.Join(largest, ", "))
	for _, pkg := range pkgs {
		assert.LessOrEqual(t, lines[pkg], maxPackageLines, "package %s has %d lines of non-test Go code: move self-contained machinery to an internal/ package", pkg, lines[pkg])
	}
}
