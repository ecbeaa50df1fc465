package sessionlabtest_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// How another repository's test uses the helper: one call, the figure it wants as an option.
func TestIPHashKeepsEveryoneLoggedIn(t *testing.T) {
	rep := sessionlabtest.Run(t, "../../scenarios/rr-memory.yaml",
		sessionlabtest.WithSet("balancer.strategy=ip-hash", "clients.users=60"),
		sessionlabtest.WithExpect("login_failure_rate", "== 0"))
	if rep != nil && len(rep.Replicas) != 3 {
		t.Errorf("%d replicas, want 3", len(rep.Replicas))
	}
}
