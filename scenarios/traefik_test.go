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
