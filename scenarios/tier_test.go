package scenarios_test

import (
	"math"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usersWithLoss counts the users who lost a session at least once.
func usersWithLoss(evs []events.Event) int {
	users := map[int]bool{}
	for _, e := range evs {
		if e.Outcome == events.OutcomeLoss {
			users[e.User] = true
		}
	}
	return len(users)
}

// assertInstancesAddUp checks the tier's figures cover every request once: each instance's, and those no instance
// answered.
func assertInstancesAddUp(t *testing.T, rep *reports.Report, instances int) {
	t.Helper()
	require.NotNil(t, rep.Tier, "a tier's report has its tier section")
	require.Len(t, rep.Tier.Instances, instances)
	sum := rep.Tier.NoInstance
	for _, in := range rep.Tier.Instances {
		assert.Positive(t, in.Requests, "the front sent %s its share", in.Name)
		sum += in.Requests
	}
	assert.Equal(t, rep.Totals.Requests, sum, "per-instance requests and those no instance answered add up to the total")
}

// Stick tables live in each HAProxy instance's memory: behind a front that spreads connections, a user whose next
// connection reaches the other instance is sent to a replica that never saw the session. A peers section shares the
// table, and one instance never had the problem.
func TestTierStickTablesAreEachInstancesOwn(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, evs := runOn(t, rt, "balancer-tier.yaml")
		require.NotNil(t, rep.Totals.SessionLoss)
		assert.Greater(t, *rep.Totals.SessionLoss, 0.2, "two instances, each its own table")
		assertInstancesAddUp(t, rep, 2)
		assert.Greater(t, rep.Tier.LossesElsewhere, rep.Tier.LossesSameInstance, "losses come on the instance that did not see the login")
		assert.Positive(t, rep.Tier.UsersOnSeveral)
		assert.Positive(t, rep.Totals.Connections["keep-alive"], "each page after a pause opens a new connection")
		assertNamesFixes(t, rep, reports.FixPeers)
		for _, e := range evs {
			if e.Status != 0 && e.Host == "" {
				require.Contains(t, []string{"haproxy-1", "haproxy-2"}, e.Instance, "every answer names its instance")
			}
		}

		peers, _ := runOn(t, rt, "balancer-tier.yaml", "name=balancer-tier-peers", "balancer.peers=true")
		require.NotNil(t, peers.Totals.SessionLoss)
		assert.LessOrEqual(t, *peers.Totals.SessionLoss, 0.01, "the instances share the table")
		assert.Positive(t, peers.Tier.UsersOnSeveral, "users still reach both instances")

		one, _ := runOn(t, rt, "balancer-tier.yaml", "name=balancer-tier-one", "balancer.instances=1")
		require.NotNil(t, one.Totals.SessionLoss)
		assert.Zero(t, *one.Totals.SessionLoss, "one instance, one table")
		assert.Nil(t, one.Tier, "one balancer has no tier section")
	})
}

// Stateless affinity holds across instances given the same server list: the cookie names the replica on every
// instance alike.
func TestTierCookieInsertHoldsAcrossInstances(t *testing.T) {
	for _, kind := range []string{"nginx", "caddy"} {
		t.Run(kind, func(t *testing.T) {
			eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
				rep, _ := runOn(t, rt, "balancer-tier.yaml", "name=tier-cookie-"+kind, "balancer.kind="+kind,
					"balancer.strategy=cookie-insert", "balancer.instances=3")
				assert.Zero(t, rep.Totals.SessionLosses, "no session lost on %s", kind)
				assert.Zero(t, rep.Totals.LoginFailures)
				assertInstancesAddUp(t, rep, 3)
				assert.Positive(t, rep.Tier.UsersOnSeveral, "users went through several instances")
			})
		})
	}
}

// Caddy's affinity cookie is an HMAC of the upstream under the instance's secret: instances with secrets of their
// own do not recognise each other's cookies, re-pin the user and overwrite the cookie.
func TestTierCaddyPerInstanceCookieSecret(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, evs := runOn(t, rt, "balancer-tier.yaml", "name=tier-caddy-secret", "balancer.kind=caddy",
			"balancer.strategy=cookie-insert", "balancer.cookie_secret=per-instance")
		assert.Greater(t, usersWithLoss(evs), rep.Totals.Users/2, "most users lose their session")
		assertInstancesAddUp(t, rep, 2)
		require.NotEmpty(t, rep.Diagnosis)
		assert.Equal(t, "tier-affinity", rep.Diagnosis[0].Rule)
	})
}

// Two nginx instances pick a scale-out up 2 s apart under ingress-nginx's balanced cookie: a key moves on one and
// not yet on the other, so a user whose connections alternate is sent back and forth. Without the stagger the
// instances agree, as one does.
func TestTierStaggeredScaleOut(t *testing.T) {
	base := []string{"balancer.kind=nginx", "balancer.strategy=cookie-balanced", "clients.users=200", "clients.concurrency=200",
		"clients.pages=20", "clients.relogin=5", `faults=[{at: "1s", action: scale-out}]`}
	run := func(t *testing.T, name string, set ...string) *reports.Report {
		rep, _ := run(t, "balancer-tier.yaml", append(append([]string{"name=" + name}, base...), set...)...)
		require.Len(t, rep.Faults, 1)
		require.NotNil(t, rep.Faults[0].FlippedUsers, "the scale-out ended")
		return rep
	}
	staggered := run(t, "tier-stagger", "balancer.stagger=2s")
	assert.Positive(t, *staggered.Faults[0].FlippedUsers, "users sent back and forth while the instances disagreed")

	together := run(t, "tier-together", "balancer.stagger=0s")
	one := run(t, "tier-single", "balancer.instances=1")
	assert.LessOrEqual(t, *together.Faults[0].FlippedUsers, 1+*one.Faults[0].FlippedUsers, "instances that agree flip nobody")
	require.NotNil(t, together.Faults[0].MovedShare)
	require.NotNil(t, one.Faults[0].MovedShare)
	assert.InDelta(t, *one.Faults[0].MovedShare, *together.Faults[0].MovedShare, sharesApart(t, one.Faults[0], together.Faults[0]),
		"the single instance's figures")
	t.Logf("flipped: staggered %d, together %d, one %d; moved share together %.3f, one %.3f", *staggered.Faults[0].FlippedUsers,
		*together.Faults[0].FlippedUsers, *one.Faults[0].FlippedUsers, *together.Faults[0].MovedShare, *one.Faults[0].MovedShare)
}

// sharesApart is how far two runs' moved shares may differ by chance alone: three standard errors of the difference
// of two proportions. The keys are nginx's $request_id, random as in ingress-nginx, so each share is a sample of the
// users across the fault, and 200 users leave a spread of about 0.04 around a quarter.
func sharesApart(t *testing.T, a, b reports.FaultResult) float64 {
	t.Helper()
	require.NotNil(t, a.UsersAcross)
	require.NotNil(t, b.UsersAcross)
	require.Positive(t, *a.UsersAcross, "users were served before and after the fault")
	require.Positive(t, *b.UsersAcross, "users were served before and after the fault")
	na, nb := float64(*a.UsersAcross), float64(*b.UsersAcross)
	p := (*a.MovedShare*na + *b.MovedShare*nb) / (na + nb)
	return 3 * math.Sqrt(p*(1-p)*(1/na+1/nb))
}

// One of two instances dies: the connections it held are cut, the front sends the users' next connections to the
// other, and under cookie-insert nobody loses a session.
func TestTierKillBalancer(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, _ := runOn(t, rt, "balancer-tier.yaml", "name=tier-kill", "balancer.kind=nginx", "balancer.strategy=cookie-insert",
			"clients.keep_alive=30s", "clients.pages=20", `faults=[{at: "1s", action: kill-balancer, target: balancer-2}]`)
		require.Len(t, rep.Faults, 1)
		assert.Empty(t, rep.Faults[0].Error)
		assert.Equal(t, "nginx-2", rep.Faults[0].Target)
		before, after := 0, 0
		for _, p := range rep.Phases {
			if p.Name == "before" {
				before += p.ConnectionsClosed
			} else {
				after += p.ConnectionsClosed
			}
		}
		assert.Zero(t, before, "nothing closed the users' connections before the kill")
		assert.Positive(t, after, "the killed instance's connections were cut")
		assert.Zero(t, rep.Totals.SessionLosses, "nothing else is lost under cookie-insert")
	})
}

// The stateless mechanisms hold across instances given the same server list: a cookie that names the replica, and
// address hashes (modulo over the same ordered list, or a ring over the same names), whichever instance a
// connection reaches.
func TestTierStatelessStrategiesHold(t *testing.T) {
	for _, tt := range []struct{ kind, strategy, extra string }{
		{"haproxy", "cookie-insert", ""},
		{"nginx", "ip-hash", ""},
		{"nginx", "ip-hash", "balancer.hash_type=consistent"},
		{"haproxy", "ip-hash", ""},
		{"haproxy", "ip-hash", "balancer.hash_type=consistent"},
		{"caddy", "ip-hash", ""},
		{"traefik", "cookie-insert", ""},
		{"traefik", "ip-hash", ""},
	} {
		t.Run(tt.kind+" "+tt.strategy+" "+tt.extra, func(t *testing.T) {
			set := []string{"name=tier-" + tt.kind + "-" + tt.strategy, "balancer.kind=" + tt.kind, "balancer.strategy=" + tt.strategy}
			if tt.extra != "" {
				set = append(set, tt.extra)
			}
			rep, _ := run(t, "balancer-tier.yaml", set...)
			assert.Zero(t, rep.Totals.SessionLosses)
			assertInstancesAddUp(t, rep, 2)
			assert.Positive(t, rep.Tier.UsersOnSeveral, "users went through both instances")
		})
	}
}

// The balancer's own idle timeout reopens connections the browser would have kept: with pauses shorter than
// clients.keep_alive but longer than balancer.idle_timeout, every page after one comes on a new connection the
// front may send to the other instance, and stick tables kept per instance lose sessions again.
func TestTierIdleTimeoutReopensConnections(t *testing.T) {
	rep, _ := run(t, "balancer-tier.yaml", "name=tier-idle", "clients.keep_alive=30s", "balancer.idle_timeout=150ms")
	assert.Positive(t, rep.Totals.Connections["closed"], "the instances closed idle connections")
	assert.Zero(t, rep.Totals.Connections["keep-alive"], "the browsers kept theirs")
	require.NotNil(t, rep.Totals.SessionLoss)
	assert.Greater(t, *rep.Totals.SessionLoss, 0.1)

	kept, _ := run(t, "balancer-tier.yaml", "name=tier-kept", "clients.keep_alive=30s")
	assert.Zero(t, kept.Totals.Connections["closed"], "nothing closed them at the kinds' default idle timeouts")
	assert.Zero(t, kept.Totals.SessionLosses, "one connection per user never meets the second instance")
}

// In a tier with a stagger, a replica's death reaches the instances one after another: it is taken out of each
// instance's config in turn, as Kubernetes takes a dead pod out of the endpoints, and put back in turn once it
// serves again.
func TestTierStaggeredReplicaKill(t *testing.T) {
	rep, _ := run(t, "balancer-tier.yaml", "name=tier-kill-replica", "balancer.kind=nginx", "balancer.strategy=cookie-insert",
		"balancer.stagger=1s", "clients.pages=20", `faults=[{at: "1s", action: kill, target: replica-1, for: 2s}]`)
	require.Len(t, rep.Faults, 1)
	f := rep.Faults[0]
	assert.Empty(t, f.Error)
	require.NotNil(t, f.StartMs)
	require.NotNil(t, f.EndMs)
	// Killed, withdrawn from two instances 1 s apart, 2 s down, started, restored on two 1 s apart.
	assert.GreaterOrEqual(t, *f.EndMs-*f.StartMs, int64(4000), "the withdrawal and the restore each took a stagger")
	require.NotNil(t, f.UsersOnTarget)
	require.NotNil(t, f.LostOnTarget)
	assert.Positive(t, *f.UsersOnTarget)
	assert.Equal(t, *f.UsersLost, *f.LostOnTarget, "the dead replica's users lose their sessions, nobody else")
}
