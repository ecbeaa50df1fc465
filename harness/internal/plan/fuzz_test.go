package plan_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// FuzzCompile feeds the parser and the compile step scenario files and --set overrides (the catalog and the
// overrides the README shows, mutated). What Parse accepts compiles into a plan (balancer.config aside, which
// Compile reads from disk), unless an expectation names no figure of the report or no bound, which only the compile
// step checks: that refusal names the file or the --set, and an expect key.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("../../../scenarios/*.yaml")
	sets := []string{"", "balancer.strategy=ip-hash", "app.replicas=5", `clients.network.pools=["203.0.113.0/24"]`,
		"clients.users=40", "balancer.kind=haproxy", "expect.skew.max_over_mean=< 1.5", "app.secret=per-replica",
		"faults=[{at: 1s, action: kill, target: replica-2, for: 1s}]", "clients.pages=2..5", "expect.happiness=> 1"}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, set := range sets {
			f.Add(data, set)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var overrides []string
		if set != "" {
			overrides = []string{set}
		}
		s, err := scenario.Parse("fuzz.yaml", data, overrides...)
		if err != nil || s.Balancer.Config != "" || s.Clients.Users > 2000 {
			return // FuzzParse's; a template read from disk; a population too large to draw on every input
		}
		_, err = plan.Compile(s)
		if err == nil {
			return
		}
		var ke *scenario.KeyError
		if !errors.As(err, &ke) || !strings.HasPrefix(ke.Key, "expect.") {
			t.Fatalf("Parse accepted what Compile refuses: %v", err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.yaml") && !strings.HasPrefix(msg, "--set ") {
			t.Fatalf("an error that names neither the file nor the --set: %q", msg)
		}
	})
}
