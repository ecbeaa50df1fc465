package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the parser scenario files and --set overrides (the catalog and the overrides the README shows,
// mutated). Whatever it is given, Parse does not panic; what it refuses, it refuses with a message that names the
// file or the --set; and what it accepts validates cleanly, and gives the clients a journey that compiles. The
// harness's FuzzCompile (harness/internal/plan) goes on to compile what Parse accepts into a plan.
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
		j := s.Journey.Definition()
		if errs := j.Compile("journey."); len(errs) > 0 {
			t.Fatalf("Parse accepted a journey that does not compile: %v", errs)
		}
	})
}
