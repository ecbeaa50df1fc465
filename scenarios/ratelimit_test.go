package scenarios_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownFakeAppWith is ownFakeApp with more command-line flags for the app.
func ownFakeAppWith(t *testing.T, flags ...string) string {
	t.Helper()
	bin, err := sessionlabtest.FakeApp(t.Context())
	require.NoError(t, err)
	args := []string{fmt.Sprintf("%q", bin), `"-listen={{.Addr}}"`, `"-name={{.Name}}"`,
		`"-users={{.Users}}"`, `"-secret={{.Secret}}"`, `"-no-replica-header"`}
	for _, f := range flags {
		args = append(args, fmt.Sprintf("%q", f))
	}
	return "app.command=[" + strings.Join(args, ", ") + "]"
}

// Wakapi's login limit (10 a minute per client address) behind each balancer: without trusting the balancer every
// user is the balancer's address, and the logins beyond the limit are refused with 429 — counted as rate_limited,
// never as error, and diagnosed as such. Trusting the balancer's X-Forwarded-For, which every built-in config
// sets, gives each user its own address and the limit is never reached.
func TestRateLimitedLoginsBehindEachBalancer(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind+" balancer not trusted", func(t *testing.T) {
			rep, _ := run(t, "own-app-fakeapp.yaml", ownFakeAppWith(t, "-login-max-rate=10/1m"), "balancer.kind="+kind,
				"balancer.strategy=ip-hash")
			// 120 users over 3 replicas, each replica letting 10 logins a minute through from the one address it sees.
			assert.GreaterOrEqual(t, rep.FailureCauses["rate_limited"], 80)
			assert.LessOrEqual(t, rep.Totals.LoginAttempts-rep.FailureCauses["rate_limited"], 30, "at most 10 logins per replica got through")
			assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["rate_limited"], "every failure is the limit")
			assert.Zero(t, rep.Totals.Errors, "a 429 is not an error")
			assert.Positive(t, rep.Totals.RateLimited)
			require.NotEmpty(t, rep.Diagnosis)
			assert.Equal(t, "rate-limited", rep.Diagnosis[0].Rule, "%+v", rep.Diagnosis)
			assert.Contains(t, rep.Diagnosis[0].Text, "a limit per client address that sees the balancer's address for all of them")
		})
		t.Run(kind+" balancer trusted", func(t *testing.T) {
			rep, _ := run(t, "own-app-fakeapp.yaml", ownFakeAppWith(t, "-login-max-rate=10/1m", "-trust-proxies=127.0.0.0/8"),
				"balancer.kind="+kind, "balancer.strategy=ip-hash")
			assert.Zero(t, rep.Totals.RateLimited, "X-Forwarded-For named each user")
			assert.Zero(t, rep.Totals.LoginFailures)
		})
	}
}
