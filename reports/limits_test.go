package reports_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// Exchanges the harness's own part broke are counted apart from the system's errors, the run is marked invalid,
// and the diagnosis says first that the figures are the harness's, naming the part and the limit.
func TestHarnessLimitsAreTheHarnesssNotTheSystems(t *testing.T) {
	const get, post = http.MethodGet, http.MethodPost
	limit := events.LimitHit{Part: "balancer", Limit: "worker_connections", Lines: 37, FirstMs: 2100, LastMs: 3400,
		Sample: "2026/12/01 14:00:03 [alert] 1#1: 64 worker_connections are not enough"}
	r := reports.Compute(meta("replica-1"), []events.Event{
		login(1, 1, get, "/login", "replica-1", "ok"),
		login(1, 1, post, "/login", "replica-1", "ok"),
		login(2, 1, get, "/login", "", events.OutcomeHarnessLimit),
		login(3, 1, get, "/login", "", events.OutcomeHarnessLimit),
		{Step: events.StepBalancer, Balancer: &events.BalancerStats{Kind: "nginx", Limits: []events.LimitHit{limit}}},
	})
	assert.Equal(t, 0, r.Totals.Errors, "not the system's errors")
	assert.Equal(t, 2, r.Totals.HarnessLimit)
	assert.Equal(t, 2, r.FailureCauses[events.OutcomeHarnessLimit])
	assert.Equal(t, 0, r.FailureCauses["error"])
	assert.Equal(t, []events.LimitHit{limit}, r.HarnessLimits)
	assert.Contains(t, r.Invalid, "balancer: worker_connections, 37 lines from 2.1 s to 3.4 s")
	require.NotEmpty(t, r.Diagnosis)
	first := r.Diagnosis[0]
	assert.Equal(t, "harness-limit", first.Rule)
	assert.Contains(t, first.Text, "These figures are the harness's, not the system's: balancer: worker_connections")
	assert.Contains(t, first.Text, "2 exchanges broke on it")
	var bucketed int
	for _, b := range r.OverTime.Buckets {
		bucketed += b.HarnessLimit
		assert.Zero(t, b.Error)
	}
	assert.Equal(t, 2, bucketed)
}

// A run whose parts said nothing of their limits is valid, and says nothing of them.
func TestNoHarnessLimitNoWord(t *testing.T) {
	r := reports.Compute(meta("replica-1"), []events.Event{
		login(1, 1, http.MethodGet, "/login", "", "error"),
		{Step: events.StepBalancer, Balancer: &events.BalancerStats{Kind: "nginx"}},
	})
	assert.Empty(t, r.Invalid)
	assert.Empty(t, r.HarnessLimits)
	assert.Equal(t, 1, r.Totals.Errors)
	for _, f := range r.Diagnosis {
		assert.NotEqual(t, "harness-limit", f.Rule)
	}
}
