package tools

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGo puts a `go` in PATH that records each call in calls and, for install, writes an executable named after
// the package's last element into $GOBIN: the build without the module proxy.
func fakeGo(t *testing.T) (calls string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a stand-in go tool; skipped with -short")
	}
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := `#!/bin/sh
echo "$@" >> ` + calls + `
if [ "$1" = install ]; then
  for a in "$@"; do last="$a"; done
  name=$(basename "${last%@*}")
  [ "$name" = v7 ] && name=oauth2-proxy
  mkdir -p "$GOBIN" && printf '#!/bin/sh\necho built\n' > "$GOBIN/$name" && chmod +x "$GOBIN/$name"
fi
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755))
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv(CacheEnv, filepath.Join(t.TempDir(), "tools"))
	return calls
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// Installing twice builds once, the second finds it; concurrent installs build once too.
func TestInstallBuildsOnce(t *testing.T) {
	calls := fakeGo(t)
	caddy, err := Lookup("caddy")
	require.NoError(t, err)
	var out bytes.Buffer
	p1, err := Install(context.Background(), caddy, &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "building caddy v2.11.9")
	p2, err := Install(context.Background(), caddy, &out)
	require.NoError(t, err)
	assert.Equal(t, p1, p2)
	assert.Equal(t, filepath.Join(os.Getenv(CacheEnv), "caddy-v2.11.9", "caddy"), p1)
	assert.Len(t, lines(t, calls), 1, "the second install found the first's binary")

	proxy, err := Lookup("oauth2-proxy")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := Install(context.Background(), proxy, &bytes.Buffer{})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Len(t, lines(t, calls), 2, "four concurrent installs built it once")
}

// A failed build leaves nothing in the cache, so the next install tries again.
func TestInstallFailureLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a stand-in go tool; skipped with -short")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), []byte("#!/bin/sh\necho 'module proxy refused' >&2\nexit 1\n"), 0o755))
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv(CacheEnv, filepath.Join(t.TempDir(), "tools"))
	caddy, _ := Lookup("caddy")
	var out bytes.Buffer
	_, err := Install(context.Background(), caddy, &out)
	require.ErrorContains(t, err, "install caddy v2.11.9")
	assert.Contains(t, out.String(), "module proxy refused")
	assert.Empty(t, caddy.Installed())
	entries, _ := os.ReadDir(os.Getenv(CacheEnv))
	for _, e := range entries {
		assert.False(t, e.IsDir(), "no build directory left: %s", e.Name())
	}
}

func TestFindOrder(t *testing.T) {
	fakeGo(t)
	caddy, _ := Lookup("caddy")
	_, err := Find("caddy", "SESSIONLAB_CADDY")
	if err != nil {
		require.ErrorIs(t, err, ErrNotFound)
		assert.Contains(t, err.Error(), "$SESSIONLAB_CADDY, the tool cache, PATH or /usr/sbin")
	}
	built, err := Install(context.Background(), caddy, &bytes.Buffer{})
	require.NoError(t, err)
	got, err := Find("caddy", "SESSIONLAB_CADDY")
	require.NoError(t, err)
	assert.Equal(t, built, got, "the cache before PATH")

	other := filepath.Join(t.TempDir(), "my-caddy")
	require.NoError(t, os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("SESSIONLAB_CADDY", other)
	got, err = Find("caddy", "SESSIONLAB_CADDY")
	require.NoError(t, err)
	assert.Equal(t, other, got, "the override first")

	t.Setenv("SESSIONLAB_CADDY", filepath.Join(t.TempDir(), "missing"))
	_, err = Find("caddy", "SESSIONLAB_CADDY")
	assert.ErrorContains(t, err, "is not an executable file")
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("envoy")
	assert.EqualError(t, err, `tool "envoy" is not known (allowed: caddy, oauth2-proxy, traefik)`)
}

// A module with replace directives is built through a module of sessionlab's own that requires it at the pinned
// version and repeats them: go install refuses such a module.
func TestBuildModuleRepeatsTheReplaceDirectives(t *testing.T) {
	traefik, err := Lookup("traefik")
	require.NoError(t, err)
	mod := string(BuildModule(traefik))
	assert.Contains(t, mod, "require github.com/traefik/traefik/v3 v3.6.12\n")
	require.NotEmpty(t, traefik.GoMod)
	for _, line := range traefik.GoMod {
		assert.Contains(t, mod, line+"\n")
	}
	assert.Contains(t, traefik.LDFlags, "version.Version="+traefik.Version, "its version command prints the pinned version, not dev")
}
