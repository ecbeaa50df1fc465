package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the parser scenario files and --set overrides (the catalog and the overrides the README shows,
// mutated). Whatever it is given, Parse does not panic; what it refuses, it refuses with a message that names the
// file or the --set; and what it accepts validates cleanly and compiles into a plan (balancer.config aside, which
// Compile reads from disk).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	sets := []string{"", "balancer.strategy=ip-hash", "app.replicas=5", `clients.network.pools=["203.0.113.0/24"]`,
		"clients.users=40", "balancer.kind=haproxy", "expect.skew.max_over_mean=< 1.5", "app.secret=per-replica",
		"faults=[{at: 1s, action: kill, target: replica-2, for: 1s}]", "clients.pages=2..5"}
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
		s, err := Parse("fuzz.yaml", data, overrides...)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "fuzz.yaml") && !strings.HasPrefix(msg, "--set ") {
				t.Fatalf("an error that names neither the file nor the --set: %q", msg)
			}
			return
		}
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("Parse accepted what Validate refuses: %v", errs)
		}
		if s.Balancer.Config != "" || s.Clients.Users > 2000 {
			return // a template read from disk; a population too large to draw on every input
		}
		if _, err := Compile(s); err != nil {
			t.Fatalf("Parse accepted what Compile refuses: %v", err)
		}
	})
}
