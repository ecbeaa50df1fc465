package sessionlabtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// recorder is a TB that keeps what a test would have reported.
type recorder struct {
	ctx      context.Context
	errors   []string
	fatal    string
	skip     string
	cleanups []func()
}

func newRecorder() *recorder { return &recorder{ctx: context.Background()} }

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Cleanup(fn func())        { r.cleanups = append(r.cleanups, fn) }
func (r *recorder) Logf(string, ...any)      {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

// runCleanups runs the registered cleanups as testing does: last registered first.
func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// missing is a runtime that cannot run here; it must never be started.
type missing struct{ started bool }

func (m *missing) Name() string { return "missing" }
func (m *missing) Check(context.Context, plan.Topology) error {
	return errors.New("nginx not found in PATH or /usr/sbin: install the Debian package \"nginx\"")
}
func (m *missing) Start(context.Context, runtime.Recorder) error {
	m.started = true
	return errors.New("started")
}

func TestSkipsWhereTheRuntimeCannotRun(t *testing.T) {
	if testing.Short() {
		t.Skip("the helper skips everything under -short")
	}
	t.Setenv(sessionlabtest.RequireEnv, "")
	rt := &missing{}
	r := newRecorder()
	assert.Nil(t, sessionlabtest.Run(r, "../../scenarios/rr-memory.yaml", sessionlabtest.WithRuntime(rt)))
	assert.Contains(t, r.skip, `sessionlab: missing runtime cannot run rr-memory here: nginx not found`)
	assert.Empty(t, r.fatal)
	assert.False(t, rt.started, "nothing was started")

	t.Setenv(sessionlabtest.RequireEnv, "1")
	r = newRecorder()
	sessionlabtest.Run(r, "../../scenarios/rr-memory.yaml", sessionlabtest.WithRuntime(rt))
	assert.Contains(t, r.fatal, "(SESSIONLAB_REQUIRE is set)", "where the tests must run, a missing binary fails them")
	assert.Empty(t, r.skip)
}

func TestBadInputIsFatal(t *testing.T) {
	if testing.Short() {
		t.Skip("the helper skips everything under -short")
	}
	r := newRecorder()
	sessionlabtest.Run(r, "../../scenarios/rr-memory.yaml", sessionlabtest.WithExpect("no_such_figure", "< 1"))
	assert.Contains(t, r.fatal, `expect.no_such_figure: "no_such_figure" is not a figure of the report`)

	r = newRecorder()
	s := scenario.Default()
	s.Name = "go-value"
	sessionlabtest.RunScenario(r, &s, sessionlabtest.WithSet("app.replicas=99"))
	assert.Contains(t, r.fatal, "--set app.replicas=99: app.replicas: 99 is out of range")
}

// An unmet expectation is a test error that names the figure, its value and the bound, followed by the diagnosis;
// the deployment's Close was registered as a cleanup while the run went on.
func TestUnmetExpectationCarriesTheDiagnosis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	r := newRecorder()
	rep := sessionlabtest.Run(r, "../../scenarios/rr-memory.yaml",
		sessionlabtest.WithSet("clients.users=30", "clients.concurrency=1"),
		sessionlabtest.WithExpect("login_failure_rate", "< 0.01"))
	require.Empty(t, r.fatal)
	require.NotNil(t, rep)
	require.Len(t, r.errors, 1, "%q", r.errors)
	msg := r.errors[0]
	assert.True(t, strings.HasPrefix(msg, "sessionlab: rr-memory: login_failure_rate is 1, want < 0.01\n\t"), msg)
	assert.Contains(t, msg, "Fixes: ", "the diagnosis and its fixes follow")
	require.NotEmpty(t, r.cleanups, "the deployment's Close was registered")
	r.runCleanups()
	assert.Len(t, r.errors, 1, "closing again after the run closed it is no error")
}
