package scenarios_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Caddy 2 as the balancer (issue 16): the caddy-security report's setup. Round-robin with sessions in each
// replica's memory loops, as on nginx and HAProxy.
func TestCaddyRoundRobinLoops(t *testing.T) {
	rep, _ := run(t, "rr-memory.yaml", "balancer.kind=caddy", "balancer.strategy=round-robin")
	require.NotNil(t, rep.Totals.LoginFailRate)
	assert.Greater(t, *rep.Totals.LoginFailRate, 0.5)
	assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["loop"], "every failure a loop")
	for _, r := range rep.Replicas {
		require.NotNil(t, r.Share)
		assert.InDelta(t, 1.0/3, *r.Share, 0.02, "round_robin spreads evenly: %s", r.Name)
	}
}

// A replica killed under Caddy's cookie policy: its users' cookies name an upstream that is down, so once Caddy has
// marked it down (max_fails) the policy's fallback picks another and writes a new cookie; they lose the session that
// lived there, and nobody else moves. change_on_failure (lb_retries) decides whether the request that found it dead
// fails or is retried: the same difference as on ingress-nginx.
func TestCaddyKillUnderCookieAffinityMovesOnlyItsUsers(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		for _, change := range []bool{false, true} {
			t.Run(fmt.Sprintf("change_on_failure=%v", change), func(t *testing.T) {
				rep, _ := runOn(t, rt, "kill-replica.yaml", "balancer.kind=caddy", "balancer.strategy=cookie-insert", "clients.pages=60",
					fmt.Sprintf("balancer.cookie.change_on_failure=%v", change))
				on := assertKillTookItsUsersOnly(t, rep)
				assert.LessOrEqual(t, *rep.Faults[0].MovedUsers, on, "only replica-2's users moved")
				// Counted over the run: a container's kill can take long enough for the errors to fall in its phase.
				assertChangeOnFailureErrors(t, change, rep.Totals.Errors, on)
			})
		}
	})
}

// Caddy's client_ip_hash hashes the whole address (rendezvous hashing), where nginx's ip_hash keys on the /24: four
// offices of 100 users, each user with an address of its own in the office's /24, spread over all three replicas
// instead of piling each office onto one (TestOfficesPileOntoOneReplicaUnderIPHash is nginx's side).
func TestCaddyAddressHashSpreadsAnOffice(t *testing.T) {
	rep, evs := run(t, "rr-memory.yaml", "balancer.kind=caddy", "balancer.strategy=ip-hash", "clients.network.offices=4",
		"clients.users=400", "clients.pages=4")
	replicasOf := map[netip.Prefix]map[string]bool{}
	replicaOfUser := map[int]string{}
	for _, e := range evs {
		p, _ := netip.MustParseAddr(e.Addr).Prefix(24)
		if replicasOf[p] == nil {
			replicasOf[p] = map[string]bool{}
		}
		replicasOf[p][e.Replica] = true
		if prev, ok := replicaOfUser[e.User]; ok {
			require.Equal(t, prev, e.Replica, "user %d stays on one replica: its address does not change", e.User)
		}
		replicaOfUser[e.User] = e.Replica
	}
	require.Len(t, replicasOf, 4)
	for p, replicas := range replicasOf {
		assert.Len(t, replicas, 3, "office %s is spread over every replica", p)
	}
	require.NotNil(t, rep.Skew.MaxOverMean)
	assert.Less(t, *rep.Skew.MaxOverMean, 1.3, "and the load with it")
	assert.Zero(t, rep.Totals.LoginFailures)
	t.Logf("caddy client_ip_hash, 4 offices: skew max/mean %.3f, per replica %v", *rep.Skew.MaxOverMean, requestsPerReplica(rep))
}

// One user at a time, Caddy's round_robin is deterministic: the same scenario gives the same per-replica counts
// whether Caddy and the replicas are processes or containers.
func TestCaddyCountsAreTheSameInBothRuntimes(t *testing.T) {
	counts := map[string][]int{}
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, _ := runOn(t, rt, "rr-memory.yaml", "balancer.kind=caddy", "balancer.strategy=round-robin", "clients.users=40",
			"clients.concurrency=1", "clients.pages=5")
		for _, r := range rep.Replicas {
			counts[rt.Name()] = append(counts[rt.Name()], r.Requests)
		}
	})
	if len(counts) < 2 {
		t.Skip("one runtime did not run; nothing to compare")
	}
	assert.Equal(t, counts["local"], counts["docker"])
	t.Logf("per-replica requests, both runtimes: %v", counts["local"])
}
