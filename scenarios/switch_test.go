package scenarios_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// switchOverrides is the move off ingress-nginx in small: nginx's balanced cookie in front of three replicas, the
// users' pages 300 ms apart on new connections, and at 2 s the front sending new connections to the balancer to.
func switchOverrides(name, to string, set ...string) []string {
	return append([]string{"name=" + name, "balancer.strategy=cookie-balanced", "clients.users=150", "clients.concurrency=150",
		"clients.pages=15", "clients.keep_alive=100ms", `clients.think={kind: constant, mean: 300ms}`,
		`faults=[{at: "2s", action: switch-balancer, to: ` + to + `}]`}, set...)
}

// assertSwitchLosses checks what the move did to the users who were there before and after it.
func assertSwitchLosses(t *testing.T, rep *reports.Report, most bool) {
	t.Helper()
	require.Len(t, rep.Faults, 1)
	f := rep.Faults[0]
	assert.Empty(t, f.Error)
	require.NotNil(t, f.UsersAcross)
	require.Positive(t, *f.UsersAcross)
	if most {
		assert.Greater(t, *f.UsersLost, *f.UsersAcross/2, "most users logged in before the switch lose their session after it")
		assertNamesFixes(t, rep, reports.FixSharedStore, reports.FixCompareBalancers)
		return
	}
	assert.Zero(t, *f.UsersLost, "sessions in a shared store survive the move")
	assert.Zero(t, rep.Totals.SessionLosses)
}

// The cut-over from nginx's balanced cookie to Traefik's sticky cookie: the INGRESSCOOKIE users carry means nothing
// to Traefik, which balances them afresh; with sessions in each replica's memory most land on another replica.
// Sessions in Redis make the move harmless.
func TestSwitchFromNginxToTraefik(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		to := "{kind: traefik, strategy: cookie-insert}"
		rep, evs := runOn(t, rt, "rr-memory.yaml", switchOverrides("switch-traefik", to)...)
		assertSwitchLosses(t, rep, true)
		served := map[string]bool{}
		for _, e := range evs {
			served[e.Instance] = true
		}
		assert.True(t, served["nginx"] && served["traefik"], "both balancers answered: %v", served)

		redis, _ := runOn(t, rt, "rr-memory.yaml", switchOverrides("switch-traefik-redis", to, "app.sessions=redis")...)
		assertSwitchLosses(t, redis, false)
	})
}

// A switch to another balancer and back (a rollback), and in a tier one instance at a time.
func TestSwitchBackAndRolling(t *testing.T) {
	rep, _ := run(t, "rr-memory.yaml", "name=switch-back", "balancer.strategy=cookie-insert", "clients.users=100",
		"clients.concurrency=100", "clients.pages=20", "clients.keep_alive=100ms", `clients.think={kind: constant, mean: 300ms}`,
		`faults=[{at: "1s", action: switch-balancer, to: {kind: haproxy, strategy: cookie-insert}}, `+
			`{at: "3s", action: switch-balancer, to: {kind: nginx, strategy: cookie-insert}}]`)
	require.Len(t, rep.Faults, 2)
	for _, f := range rep.Faults {
		assert.Empty(t, f.Error)
		require.NotNil(t, f.UsersLost)
		assert.Positive(t, *f.UsersLost, "each balancer's cookie means nothing to the other")
	}
	require.NotNil(t, rep.Tier)
	names := []string{}
	for _, in := range rep.Tier.Instances {
		names = append(names, in.Name)
		assert.Positive(t, in.Requests, "%s served", in.Name)
	}
	assert.Equal(t, []string{"nginx", "haproxy"}, names, "the switch back goes to the balancer the run started with")

	rolling, _ := run(t, "rr-memory.yaml", "name=switch-rolling", "balancer.strategy=cookie-insert", "balancer.instances=2",
		"clients.users=100", "clients.concurrency=100", "clients.pages=20", "clients.keep_alive=100ms",
		`clients.think={kind: constant, mean: 300ms}`,
		`faults=[{at: "1s", action: switch-balancer, pause: 1s, to: {kind: haproxy, strategy: cookie-insert}}]`)
	require.Len(t, rolling.Faults, 1)
	f := rolling.Faults[0]
	assert.Empty(t, f.Error)
	require.NotNil(t, f.EndMs)
	assert.GreaterOrEqual(t, *f.EndMs-*f.StartMs, int64(1000), "one instance, the pause, then the other")
	require.NotNil(t, rolling.Tier)
	assert.Len(t, rolling.Tier.Instances, 4)
}
