package scenarios_test

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/netip"
	"testing"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Traefik in front of three replicas keeping sessions in memory: wrr loses most logins, its sticky cookie none.
func TestTraefikRoundRobinAndStickyCookie(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rr, _ := runOn(t, rt, "rr-memory.yaml", "name=traefik-rr", "balancer.kind=traefik")
		assert.Greater(t, failRate(t, rr), 0.5, "round-robin loses most logins")

		sticky, _ := runOn(t, rt, "rr-memory.yaml", "name=traefik-sticky", "balancer.kind=traefik", "balancer.strategy=cookie-insert")
		assert.Zero(t, sticky.Totals.LoginFailures, "the sticky cookie keeps every login")
		assert.Zero(t, sticky.Totals.SessionLosses)
	})
}

// traefikHRW is Traefik v3.6's hrw choice (pkg/server/service/loadbalancer/hrw): each server scores
// weight / -ln(fnv64a(client IP + server URL) / 2^64) and the highest wins. A model of the real thing, to check it.
func traefikHRW(clientIP string, urls []string) int {
	best, bestScore := -1, math.Inf(-1)
	for i, u := range urls {
		h := fnv.New64a()
		h.Write([]byte(clientIP + u))
		score := 1.0 / -math.Log(float64(h.Sum64())/math.Pow(2, 64))
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// In the docker runtime Traefik's server URLs are the replicas' names (http://replica-2:8080), the same run after
// run: hrw then gives the same counts each time, and each user the replica the model computes for its address.
func TestTraefikIPHashIsHRWOverTheServerURLs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Traefik and fakeapp containers; skipped with -short")
	}
	var docker harness.Runtime
	for _, r := range runtimes {
		if r.name == "docker" {
			docker = r.new(t)
		}
	}
	require.NotNil(t, docker)
	var counts [][]int
	for i := range 2 {
		rep, evs := runOn(t, docker, "rr-memory.yaml", fmt.Sprintf("name=traefik-hrw-%d", i), "balancer.kind=traefik",
			"balancer.strategy=ip-hash", `clients.network.pools=["198.18.0.0/15", "2001:db8::/48"]`, "clients.users=150", "clients.pages=3")
		urls := []string{"http://replica-1:8080", "http://replica-2:8080", "http://replica-3:8080"}
		for _, e := range evs {
			if e.Replica == "" {
				continue
			}
			want := fmt.Sprintf("replica-%d", traefikHRW(netip.MustParseAddr(e.Addr).String(), urls)+1)
			require.Equal(t, want, e.Replica, "user %d at %s", e.User, e.Addr)
		}
		var c []int
		for _, r := range rep.Replicas {
			c = append(c, r.Requests)
		}
		counts = append(counts, c)
		assert.Zero(t, rep.Totals.SessionLosses, "an address hash keeps each user on one replica")
	}
	assert.Equal(t, counts[0], counts[1], "the same counts run after run")
}

// A replica killed under Traefik's sticky cookie. Traefik runs no health check unless asked, and then keeps
// proxying each of the dead replica's users to it: a stream of errors. max_fails (its passive health check) marks
// it down after a failure, so each user meets about one error and is re-pinned. change_on_failure (its retry
// middleware, 3 attempts) re-sends only a request that was not written to the server (pkg/middlewares/retry): one
// written on a kept-alive connection to the dead replica fails all the same, so the errors stay (measured 48 to 61
// with it, 49 to 92 without). The other replicas' users keep their sessions.
func TestTraefikStickyCookieAfterAKill(t *testing.T) {
	errors := map[string]int{}
	users := map[string]int{}
	for _, tt := range []struct {
		name string
		set  []string
	}{
		{"no health check", nil},
		{"max_fails 1", []string{"balancer.max_fails=1"}},
		{"max_fails 1, change_on_failure", []string{"balancer.max_fails=1", "balancer.cookie.change_on_failure=true"}},
	} {
		rep, _ := run(t, "kill-replica.yaml", append([]string{"name=traefik-kill", "balancer.kind=traefik", "balancer.strategy=cookie-insert"}, tt.set...)...)
		require.Len(t, rep.Faults, 1)
		f := rep.Faults[0]
		require.NotNil(t, f.UsersOnTarget, "%s: the fault ran: %+v", tt.name, f)
		assert.Empty(t, f.Error)
		assert.Zero(t, *f.LostElsewhere, "%s: nobody off replica-2 lost a session", tt.name)
		errors[tt.name], users[tt.name] = rep.Totals.Errors, *f.UsersOnTarget
		t.Logf("%s: %d errors, %d users on replica-2, %d of them lost their session", tt.name, rep.Totals.Errors, *f.UsersOnTarget, *f.LostOnTarget)
	}
	assert.Greater(t, errors["no health check"], 2*users["no health check"], "Traefik keeps sending the dead replica's users to it")
	assertChangeOnFailureErrors(t, false, errors["max_fails 1"], users["max_fails 1"])
	assertChangeOnFailureErrors(t, false, errors["max_fails 1, change_on_failure"], users["max_fails 1, change_on_failure"])
}
