package harness_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/runtime"
	"github.com/sessionlab/sessionlab/harness/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// Run checks a scenario built in Go as it checks a file: a bad one starts nothing, and a good one runs what it
// says — here app.command, the user's app, rather than the built-in one.
func TestRunValidatesAGoValue(t *testing.T) {
	bad := scenario.Default()
	bad.Name = "go-value"
	bad.App.Command = []string{"app", "{{.Prot}}"}
	started := false
	_, err := harness.Run(context.Background(), &bad, harness.WithDeployment(func(*runtime.Deployment) { started = true }))
	require.ErrorContains(t, err, "app.command[1]")
	assert.False(t, started, "nothing started")

	if testing.Short() {
		t.Skip("the good half starts real processes; skipped with -short")
	}
	bin, err := sessionlabtest.FakeApp()
	require.NoError(t, err)
	s := scenario.Default()
	s.Name = "go-value"
	s.Balancer.Strategy = "ip-hash"
	s.Clients.Users, s.Clients.Concurrency = 20, 5
	s.App.Command = []string{bin, "-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}"}
	rep, err := harness.Run(context.Background(), &s, harness.WithRuntime(local.New()))
	require.NoError(t, err)
	assert.Nil(t, rep.Store, "your own app: no /metrics read, so the report has no store section")
	require.NotNil(t, rep.Totals.LoginFailRate)
	assert.Zero(t, *rep.Totals.LoginFailRate)
	assert.Equal(t, 20, rep.Totals.Users)
}

// A program that runs scenarios only locally links no container library: the packages a user imports for local
// runs do not depend on testcontainers-go.
func TestLocalRunsDoNotLinkTestcontainers(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list dependencies with")
	}
	for _, pkg := range []string{"harness", "harness/sessionlabtest", "harness/runtime/local", "harness/scenario", "reports", "clients"} {
		out, err := exec.Command(goTool, "list", "-deps", "github.com/sessionlab/sessionlab/"+pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.NotContains(t, string(out), "testcontainers", pkg)
		assert.NotContains(t, string(out), "github.com/moby/", pkg)
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/sessionlab/sessionlab/harness/runtime/docker").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.Contains(string(out), "github.com/testcontainers/testcontainers-go\n"), "the docker runtime is where it is linked")
}
