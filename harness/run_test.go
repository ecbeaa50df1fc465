package harness_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// Run checks a scenario built in Go as it checks a file: a bad one starts nothing, and a good one runs what it
// says — here app.command, the user's app, rather than the built-in one.
func TestRunValidatesAGoValue(t *testing.T) {
	bad := scenario.Default()
	bad.Name = "go-value"
	bad.App.Command = []string{"app", "{{.Prot}}"}
	spy := &startSpy{}
	_, err := harness.Run(context.Background(), &bad, harness.WithRuntime(spy))
	require.ErrorContains(t, err, "app.command[1]")
	assert.False(t, spy.started, "nothing started")

	if testing.Short() {
		t.Skip("the good half starts real processes; skipped with -short")
	}
	bin, err := sessionlabtest.FakeApp(t.Context())
	require.NoError(t, err)
	s := scenario.Default()
	s.Name = "go-value"
	s.Balancer.Strategy = "ip-hash"
	s.Clients.Users, s.Clients.Concurrency = 20, 5
	s.App.Command = []string{bin, "-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}"}
	rep, err := harness.Run(context.Background(), &s, harness.WithRuntime(harness.Local()))
	require.NoError(t, err)
	assert.Nil(t, rep.Store, "your own app: no /metrics read, so the report has no store section")
	require.NotNil(t, rep.Totals.LoginFailRate)
	assert.Zero(t, *rep.Totals.LoginFailRate)
	assert.Equal(t, 20, rep.Totals.Users)
}

// A program that runs scenarios only locally links no container library, and none links the fake app's
// dependencies (its OpenID Connect provider, its metrics): the packages a user imports do not depend on them.
func TestImportersLinkNeitherContainersNorTheFakeApp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list dependencies with")
	}
	for _, pkg := range []string{"harness", "harness/sessionlabtest", "harness/internal/runtime/local", "harness/scenario", "reports", "clients"} {
		out, err := exec.Command(goTool, "list", "-deps", "github.com/sessionlab/sessionlab/"+pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := string(out)
		for _, never := range []string{"testcontainers", "github.com/moby/", "mockoidc", "go-jose", "prometheus/client_golang", "github.com/sessionlab/sessionlab/fakeapp\n"} {
			assert.NotContains(t, deps, never, "%s links %s", pkg, strings.TrimSpace(never))
		}
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/sessionlab/sessionlab/harness/internal/runtime/docker").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.Contains(string(out), "github.com/testcontainers/testcontainers-go\n"), "the docker runtime is where it is linked")
}

// startSpy is a runtime that only records that it was asked to start something.
type startSpy struct{ started bool }

func (*startSpy) Name() string { return "local" }
func (s *startSpy) Start(context.Context, runtime.Recorder) error {
	s.started = true
	return nil
}

// The identities only a live target can read are refused before anything starts when the harness starts the
// balancer itself: its balancers read the PROXY header or the connection.
func TestCheckRefusesAddressesOnlyALiveTargetReads(t *testing.T) {
	for _, id := range []string{"x-forwarded-for", "none"} {
		s, err := scenario.Parse("t.yaml", []byte("name: t\nclients: {identity: "+id+"}\n"))
		require.NoError(t, err, "the file is valid: it could drive a live target")
		err = harness.Check(s)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "t.yaml:2: clients.identity: "+id+" applies to a live target only")
		s, err = scenario.Parse("t.yaml", []byte("name: t\nclients: {identity: "+id+"}\ntarget: {url: http://127.0.0.1:9}\n"))
		require.NoError(t, err)
		assert.NoError(t, harness.Check(s))
	}
}
