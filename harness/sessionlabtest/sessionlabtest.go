// Package sessionlabtest runs sessionlab scenarios from go tests — this project's and other repositories' — in the
// style of testcontainers' modules: one call loads a scenario (a file, or a Go value), applies overrides and extra
// expectations given as options, skips with a reason where the scenario cannot run (under -short, without the
// balancer's binary, without a Docker engine), registers the cleanup before anything is used, builds the fakeapp
// once per test binary, runs the scenario and reports each unmet expectation as a test error carrying the
// diagnosis — or, for a run the harness's own parts broke (Report.Invalid), that one error instead. It links no container library unless the test passes the docker runtime itself.
package sessionlabtest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
)

// TB is what the helpers need of a test: *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Context() context.Context
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// RequireEnv names the environment variable that turns a skip for a missing binary or Docker engine into a
// failure: set it where the tests must run (the project's own CI does).
const RequireEnv = "SESSIONLAB_REQUIRE"

// Option configures Run and RunScenario.
type Option func(*config)

type config struct {
	sets    []string
	expect  map[string]string
	runtime harness.Runtime
	opts    []harness.Option
}

// WithSet overrides scenario keys, "dotted.key=VALUE" (VALUE in YAML), as `sessionlab run --set` does.
func WithSet(overrides ...string) Option {
	return func(c *config) { c.sets = append(c.sets, overrides...) }
}

// WithExpect adds an expectation: key is a figure of the report (a totals field or a dotted path), bound a
// condition such as "< 0.01". It replaces the scenario's own bound for the same key.
func WithExpect(key, bound string) Option {
	return func(c *config) { c.expect[key] = bound }
}

// WithRuntime runs the scenario on rt, e.g. one from harness/docker's New. Default: harness.Local(), which builds the fake app
// with the go tool once per test binary unless $SESSIONLAB_FAKEAPP names one.
func WithRuntime(rt harness.Runtime) Option { return func(c *config) { c.runtime = rt } }

// WithEvents writes the run's event log to w.
func WithEvents(w io.Writer) Option {
	return func(c *config) { c.opts = append(c.opts, harness.WithEvents(w)) }
}

// WithLogger logs the run's progress to l.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.opts = append(c.opts, harness.WithLogger(l)) }
}

// Run runs the scenario file at path (see the package doc) and returns its report.
func Run(t TB, path string, opts ...Option) *reports.Report {
	t.Helper()
	c := newConfig(opts)
	if skipShort(t, path) {
		return nil
	}
	s, err := scenario.Load(path, c.sets...)
	if err != nil {
		t.Fatalf("sessionlab: %v", err)
		return nil
	}
	return run(t, s, c)
}

// RunScenario runs a scenario built in Go — checked exactly as a file is — and returns its report.
func RunScenario(t TB, s *scenario.Scenario, opts ...Option) *reports.Report {
	t.Helper()
	c := newConfig(opts)
	if skipShort(t, "scenario "+s.Name) {
		return nil
	}
	if len(c.sets) > 0 {
		var err error
		if s, err = s.With(c.sets...); err != nil {
			t.Fatalf("sessionlab: %v", err)
			return nil
		}
	}
	return run(t, s, c)
}

func newConfig(opts []Option) *config {
	c := &config{expect: map[string]string{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// SkipExamplesIfShort is for a TestMain (after flag.Parse) of a package whose examples run scenarios: under -short
// it adds ^Example to -test.skip, since an example that starts real processes cannot skip itself and its output
// would not match. It reports whether it did.
func SkipExamplesIfShort() bool {
	if !testing.Short() {
		return false
	}
	skip := "^Example"
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" {
		skip = f.Value.String() + "|" + skip
	}
	return flag.Set("test.skip", skip) == nil
}

func skipShort(t TB, what string) bool {
	if testing.Short() {
		t.Skipf("sessionlab: %s starts real processes; skipped with -short", what)
		return true
	}
	return false
}

func run(t TB, s *scenario.Scenario, c *config) *reports.Report {
	t.Helper()
	if len(c.expect) > 0 {
		withExpect := *s
		withExpect.Expect = maps.Clone(s.Expect)
		if withExpect.Expect == nil {
			withExpect.Expect = map[string]string{}
		}
		maps.Copy(withExpect.Expect, c.expect)
		s = &withExpect
	}
	p, err := plan.Compile(s)
	if err != nil {
		t.Fatalf("sessionlab: %v", err)
		return nil
	}
	rt := c.runtime
	if rt == nil {
		rt = harness.Local()
	}
	if check, ok := rt.(runtime.Checker); ok {
		if err := check.Check(t.Context(), p.Topology); err != nil {
			if os.Getenv(RequireEnv) != "" {
				t.Fatalf("sessionlab: %s runtime cannot run %s here (%s is set): %v", rt.Name(), s.Name, RequireEnv, err)
			} else {
				t.Skipf("sessionlab: %s runtime cannot run %s here: %v", rt.Name(), s.Name, err)
			}
			return nil
		}
	}
	// The run's stop is registered before the runtime starts anything in it.
	cleanup := harness.WithCleanup(func(stop func(context.Context) error) {
		t.Cleanup(func() {
			if err := stop(context.Background()); err != nil {
				t.Errorf("sessionlab: stop the deployment: %v", err)
			}
		})
	})
	rep, err := harness.Run(t.Context(), s, append([]harness.Option{harness.WithRuntime(rt), cleanup}, c.opts...)...)
	if err != nil {
		t.Fatalf("sessionlab: run %s: %v", s.Name, err)
		return nil
	}
	if rep.Interrupted {
		// The test's context ended while the users ran: the report is of part of the run, its expectations not judged.
		done := "?"
		if d := rep.Totals.UsersDone; d != nil {
			done = fmt.Sprint(*d)
		}
		t.Errorf("sessionlab: %s was interrupted (%s) after %s of %d users: its expectations are not judged", s.Name,
			rep.InterruptedBy, done, rep.Totals.Users)
		return rep
	}
	if rep.Invalid != "" {
		// Its expectations say nothing of the system: a pass would be the harness's.
		t.Errorf("sessionlab: %s: invalid run: %s", s.Name, rep.Invalid)
		return rep
	}
	for _, e := range rep.Expectations {
		if !e.OK {
			t.Errorf("sessionlab: %s: %s %s, want %s%s", s.Name, e.Key, got(e.Got), e.Want, diagnosis(rep))
		}
	}
	return rep
}

func got(v *float64) string {
	if v == nil {
		return "is unknown"
	}
	return fmt.Sprintf("is %.4g", *v)
}

// diagnosis is the report's findings, one per line, to follow an unmet expectation.
func diagnosis(rep *reports.Report) string {
	var b strings.Builder
	for _, f := range rep.Diagnosis {
		b.WriteString("\n\t")
		b.WriteString(f.Line())
	}
	return b.String()
}

// Processes lists the running processes that process pid started, and theirs: what a run made by pid and not
// stopped would leave behind. After a run, Processes(os.Getpid()) of a test that starts nothing else is empty.
func Processes(pid int) []int { return runtime.Descendants(pid) }

// DockerOwner is the label filter (for docker ps --filter) that matches the containers and networks of the runs made
// by process pid on this host.
func DockerOwner(pid int) string { return "label=org.sessionlab.owner=" + runtime.RunOwner(pid) }

// FakeApp is the fakeapp binary the local runtime runs when it is given none: $SESSIONLAB_FAKEAPP, else
// cmd/fakeapp built with the go tool once per test binary — for a test that starts replicas of its own.
func FakeApp(ctx context.Context) (string, error) { return local.FakeApp(ctx) }
