package scenarios_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownFakeApp is own-app-fakeapp.yaml with the fakeapp binary this test run built.
func ownFakeApp(t *testing.T, extra ...string) []string {
	t.Helper()
	bin, err := sessionlabtest.FakeApp(t.Context())
	require.NoError(t, err)
	cmd := fmt.Sprintf(`app.command=[%q, "-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}", "-no-replica-header"]`, bin)
	return append([]string{cmd}, extra...)
}

// builtIn turns own-app-fakeapp.yaml back into the built-in app with the built-in journey.
var builtIn = []string{"app.command=[]", "app.empty_env=false", "app.health={}", "journey={}"}

// The fake app run as "your app" — through app.command, without its X-Replica header, its login written out in
// journey: — gives the figures of the built-in app on the same seed: the attribution by the balancer's upstream
// header and the written-out journey change nothing.
func TestOwnAppCommandGivesTheBuiltInFigures(t *testing.T) {
	for _, strategy := range []string{"round-robin", "ip-hash"} {
		t.Run(strategy, func(t *testing.T) {
			set := "balancer.strategy=" + strategy
			own, ownEvents := run(t, "own-app-fakeapp.yaml", ownFakeApp(t, set)...)
			base, _ := run(t, "own-app-fakeapp.yaml", append(builtIn, set)...)

			require.NotNil(t, own.Totals.LoginFailRate)
			require.NotNil(t, base.Totals.LoginFailRate)
			assert.Equal(t, *base.Totals.LoginFailRate, *own.Totals.LoginFailRate, "login_failure_rate")
			assert.Equal(t, base.FailureCauses, own.FailureCauses)
			assert.Equal(t, base.Totals.Requests, own.Totals.Requests)
			assert.Equal(t, base.Totals.SessionLosses, own.Totals.SessionLosses)
			assert.Equal(t, requestsPerReplica(base), requestsPerReplica(own), "per-replica counts")
			if strategy == "round-robin" {
				assert.Greater(t, *own.Totals.LoginFailRate, 0.3, "round-robin bounces logins: the comparison is not of two empty runs")
			} else {
				assert.Zero(t, *own.Totals.LoginFailRate)
			}

			// Every answer was attributed by the balancer's header alone: the app sent no X-Replica.
			for _, e := range ownEvents {
				if e.Status != 0 {
					require.True(t, strings.HasPrefix(e.Replica, "replica-"), "event %+v has no replica name", e)
				}
			}
			assert.Nil(t, own.Store, "your app has no /metrics for the harness")
		})
	}
}

func requestsPerReplica(r *reports.Report) map[string]int {
	m := map[string]int{}
	for _, rep := range r.Replicas {
		m[rep.Name] = rep.Requests
	}
	return m
}

// A journey with a setup step: the fake app has no sign-up page, so a setup to a path it answers 404 is an error
// outcome for each user, who then logs in all the same.
func TestOwnAppJourneySetupStep(t *testing.T) {
	rep, evs := run(t, "own-app-fakeapp.yaml", ownFakeApp(t, "balancer.strategy=ip-hash", "clients.users=20",
		`journey.setup={path: /signup, form: {username: "{{.User}}"}}`)...)
	setups := 0
	for _, e := range evs {
		if e.Step == events.StepSetup {
			setups++
			assert.Equal(t, events.OutcomeError, e.Outcome, "the fake app has no /signup: %+v", e)
		}
	}
	assert.Equal(t, 20, setups, "one setup request per user")
	require.NotNil(t, rep.Totals.LoginFailRate)
	assert.Zero(t, *rep.Totals.LoginFailRate, "users log in after a failed setup")
}

// The docker runtime runs "your app" from its image (here the fakeapp image `make images` builds), templated the
// same way, and gets the built-in app's figures under ip-hash, which is deterministic across runtimes.
func TestOwnAppImageOnDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers; skipped with -short")
	}
	rt := runtimes[1].new(t)
	image := os.Getenv("SESSIONLAB_IMAGE_FAKEAPP")
	if image == "" {
		image = "sessionlab/fakeapp:dev"
	}
	own, evs := runOn(t, rt, "own-app-fakeapp.yaml", "balancer.strategy=ip-hash", "app.command=[]", "app.empty_env=false",
		fmt.Sprintf(`app.image={name: %q, port: 9000, env: {UNUSED: "{{.Name}}"}, command: ["-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}", "-no-replica-header"]}`, image))
	base, _ := runOn(t, harness.Local(), "own-app-fakeapp.yaml", append(builtIn, "balancer.strategy=ip-hash")...)
	assert.Equal(t, requestsPerReplica(base), requestsPerReplica(own), "per-replica counts")
	require.NotNil(t, own.Totals.LoginFailRate)
	assert.Zero(t, *own.Totals.LoginFailRate)
	for _, e := range evs {
		require.True(t, strings.HasPrefix(e.Replica, "replica-"), "event %+v has no replica name", e)
	}
	assertNothingLeft(t, rt, "own-app-fakeapp")
}
