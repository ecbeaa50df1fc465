package scenarios_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The OAuth2-Proxy report with the real OAuth2-Proxy v7.15.6: two instances behind nginx, a real Redis, an OpenID
// Connect provider approving every login (mockoidc). Redis's records are counted in the real Redis after each run
// (app.store_keys). Where the fake app's oauth2-proxy-redis scenario differs, these are what the real one does.
func TestRealOAuth2ProxyRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real OAuth2-Proxy, nginx and Redis processes; skipped with -short")
	}
	// scenarios/oauth2-proxy-real.yaml names the program oauth2-proxy, which `sessionlab install oauth2-proxy` (make
	// deps) builds into the tool cache; the doctor finds it where the local runtime will.
	s, err := scenario.Load("oauth2-proxy-real.yaml")
	require.NoError(t, err)
	needs, err := harness.Doctor(t.Context(), s, "local")
	require.NoError(t, err)
	for _, r := range needs {
		if r.Missing == nil {
			continue
		}
		msg := fmt.Sprintf("%s: %v (%s)", r.Name, r.Missing, r.Command)
		if os.Getenv(sessionlabtest.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	records := func(t *testing.T, rep *reports.Report) float64 {
		t.Helper()
		require.NotNil(t, rep.Store, "the run counted OAuth2-Proxy's keys in Redis")
		assert.Equal(t, "_oauth2_proxy*", rep.Store.Keys)
		require.NotNil(t, rep.Totals.DuplicateRatio)
		return *rep.Totals.DuplicateRatio
	}
	t.Run("different cookie secrets under round-robin", func(t *testing.T) {
		rep, evs := run(t, "oauth2-proxy-real.yaml")
		// A login whose callback lands on the other instance is refused: its CSRF cookie is signed with the
		// first instance's secret (measured: 0.64 to 0.69 of 400 attempts).
		assert.Greater(t, failRate(t, rep), 0.4)
		// Every failure a refused callback, but for the rare user whose silent re-authentication goes round the
		// two instances (callback on one, page on the other) until the browser's redirect limit, which the journey
		// counts as an error as in TestOAuth2ProxyRedis (seen: 1 in 257 failures, in 1 of about 10 runs).
		assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["csrf"]+rep.FailureCauses["error"], "failure causes %v", rep.FailureCauses)
		assert.LessOrEqual(t, rep.FailureCauses["error"], rep.Totals.LoginAttempts/100, "failure causes %v", rep.FailureCauses)
		for _, e := range evs {
			if e.Step == events.StepLogin && e.Outcome == events.OutcomeError {
				assert.True(t, e.Status >= 300 && e.Status < 400, "a login error is only the redirect limit: %+v", e)
			}
		}
		// A page on the other instance cannot validate the session cookie: the provider is asked again and a new
		// record written, the old one left behind (measured: 5.1 to 6.1 records per user logged in).
		assert.Greater(t, records(t, rep), 3.0)
		assert.Greater(t, rep.Totals.SilentReauths, rep.Totals.Users)
		assertNamesFixes(t, rep, reports.FixCookieAffinity, reports.FixSameKeyOwn)
	})
	t.Run("one cookie secret", func(t *testing.T) {
		rep, _ := run(t, "oauth2-proxy-real.yaml", "app.secret=shared")
		assert.Zero(t, rep.Totals.LoginFailures)
		assert.Zero(t, rep.Totals.SessionLosses)
		assert.Equal(t, rep.Totals.Users, *rep.Totals.StoreSessions, "one record per user")
		assert.InDelta(t, 1.0, records(t, rep), 1e-9)
	})
	t.Run("different cookie secrets under ip-hash", func(t *testing.T) {
		rep, _ := run(t, "oauth2-proxy-real.yaml", "balancer.strategy=ip-hash")
		assert.Zero(t, rep.Totals.LoginFailures)
		assert.Zero(t, rep.Totals.Errors)
		assert.InDelta(t, 1.0, records(t, rep), 1e-9, "each user on one instance: one record")
	})
	t.Run("a cookie name per instance", func(t *testing.T) {
		// The mechanism that doubles exactly in the fake app: each browser holds one session per instance. The
		// real proxy also names its CSRF cookie after the cookie name, so a callback on the other instance finds
		// none and is refused: the real one fails logins where the fake one does not.
		rep, _ := run(t, "oauth2-proxy-real.yaml", "app.secret=shared", `app.env.OAUTH2_PROXY_COOKIE_NAME="_oauth2_proxy_{{.Index}}"`)
		assert.Greater(t, failRate(t, rep), 0.4)
		assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["csrf"])
		assert.InDelta(t, 2.0, records(t, rep), 0.3, "one record per instance per user (measured 2.02 to 2.08)")
	})
}
