package balancer_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the strategy matrix in docs/strategies.md from the table")

const (
	docsPath    = "../../../docs/strategies.md"
	matrixBegin = "<!-- strategy-matrix:begin -->"
	matrixEnd   = "<!-- strategy-matrix:end -->"
)

// The docs' strategy matrix is the table's: -update-docs writes it there.
func TestMatrixInDocs(t *testing.T) {
	text, err := os.ReadFile(docsPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s does not exist yet: nothing to compare the strategy matrix with", docsPath)
	}
	require.NoError(t, err)
	doc := string(text)
	begin, end := strings.Index(doc, matrixBegin), strings.Index(doc, matrixEnd)
	require.True(t, begin >= 0 && end > begin, "%s has no %s ... %s block for the strategy matrix", docsPath, matrixBegin, matrixEnd)
	want := balancer.Matrix()
	got := doc[begin+len(matrixBegin) : end]
	if *updateDocs {
		doc = doc[:begin+len(matrixBegin)] + "\n" + want + doc[end:]
		require.NoError(t, os.WriteFile(docsPath, []byte(doc), 0o644))
		return
	}
	assert.Equal(t, strings.TrimSpace(want), strings.TrimSpace(got),
		"the strategy matrix in %s is not the table's: run go test ./harness/balancer -update-docs", filepath.Clean(docsPath))
}

func TestMatrix(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(balancer.Matrix(), "\n"), "\n")
	require.Len(t, lines, 2+len(balancer.Strategies))
	assert.Equal(t, "| strategy | nginx | haproxy | caddy | traefik |", lines[0])
	assert.Equal(t, "|---|---|---|---|---|", lines[1])
	for i, strategy := range balancer.Strategies {
		row := lines[2+i]
		assert.True(t, strings.HasPrefix(row, "| `"+strategy+"` | "), row)
		assert.Equal(t, len(balancer.Kinds)+2, strings.Count(row, " |")+1, "one cell per kind: %s", row)
		for _, kind := range balancer.Kinds {
			if err := balancer.Supports(kind, strategy); err != nil {
				why := strings.TrimPrefix(err.Error(), "not supported by "+kind+": ")
				assert.Contains(t, row, "| refused: "+why+" |", "%s %s", kind, strategy)
			}
		}
	}
	assert.Contains(t, lines[4], "| `ip_hash` (a whole /24 on one replica)")
}

// Which kind and strategy read which setting is the table's; each reason follows the key in a message.
func TestMisfits(t *testing.T) {
	tests := []struct {
		kind, strategy, key string
		want                []string
	}{
		{"nginx", "round-robin", "workers", nil},
		{"nginx", "round-robin", "max_fails", nil},
		{"haproxy", "round-robin", "max_fails", []string{"applies to kind nginx, caddy and traefik only (this scenario's balancer.kind is haproxy)"}},
		{"nginx", "round-robin", "redispatch", []string{"applies to kind haproxy only (this scenario's balancer.kind is nginx)"}},
		{"nginx", "round-robin", "hash_type", []string{"applies to strategy ip-hash only (this scenario's is round-robin)"}},
		{"nginx", "ip-hash", "hash_type", nil},
		{"caddy", "ip-hash", "hash_type", []string{"does not apply to kind caddy: its client_ip_hash is rendezvous hashing, neither map-based nor a ring"}},
		{"caddy", "round-robin", "hash_type", []string{"does not apply to kind caddy: its client_ip_hash is rendezvous hashing, neither map-based nor a ring"}},
		{"haproxy", "ip-hash", "cookie", []string{"applies to strategies cookie-insert and cookie-balanced only (this scenario's is ip-hash)"}},
		{"nginx", "cookie-balanced", "next_upstream", []string{"does not apply to strategy cookie-balanced: balancer.cookie.change_on_failure says whether a request whose replica fails is retried elsewhere"}},
		{"nginx", "cookie-insert", "next_upstream", []string{"does not apply to strategy cookie-insert: balancer.cookie.change_on_failure says whether a request whose replica fails is retried elsewhere"}},
		{"nginx", "round-robin", "stick_expire", []string{"applies to kind haproxy only (this scenario's balancer.kind is nginx)",
			"applies to strategies client-ip-sticky and learn-cookie only (this scenario's is round-robin)"}},
		{"haproxy", "client-ip-sticky", "stick_table", nil},
		{"traefik", "round-robin", "max_fails", nil},
		{"nginx", "random", "max_fails", nil},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.strategy+" "+tt.key, func(t *testing.T) {
			var got []string
			for _, err := range balancer.Misfits(tt.kind, tt.strategy, tt.key) {
				got = append(got, err.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Every setting the table names is a key of the scenario's balancer section.
func TestTableSettingsAreScenarioKeys(t *testing.T) {
	keys := map[string]bool{}
	for f := range reflect.TypeFor[scenario.Balancer]().Fields() {
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys[key] = true
	}
	for _, key := range balancer.SettingKeys() {
		assert.True(t, keys[key], "the table names balancer.%s, which the scenario file has no key for", key)
	}
}

// The local runtime finds a kind's binary by its row alone: $SESSIONLAB_<KIND>, the tool cache, PATH, sbin.
func TestFindBalancerByTheRow(t *testing.T) {
	kind := &balancer.Kind{Name: "no-such-kind", Binary: "no-such-balancer-sessionlab", Install: "install it from somewhere"}
	_, err := local.FindBalancer(kind)
	assert.EqualError(t, err, "no-such-balancer-sessionlab: not found in $SESSIONLAB_NO_SUCH_KIND, the tool cache, PATH or /usr/sbin: install it from somewhere")

	bin := filepath.Join(t.TempDir(), "mybalancer")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("SESSIONLAB_NO_SUCH_KIND", bin)
	got, err := local.FindBalancer(kind)
	require.NoError(t, err)
	assert.Equal(t, bin, got)

	absent := filepath.Join(filepath.Dir(bin), "absent")
	t.Setenv("SESSIONLAB_NO_SUCH_KIND", absent)
	_, err = local.FindBalancer(kind)
	assert.EqualError(t, err, "SESSIONLAB_NO_SUCH_KIND="+absent+" is not an executable file")
}
