package reports_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

func meta(replicas ...string) events.Meta {
	return events.Meta{
		Scenario: "rr-memory", Seed: 1, Runtime: "local", App: events.App{Sessions: "memory"}, Users: 3, Replicas: replicas,
		Balancer: events.Balancer{Kind: "nginx", Strategy: "round-robin"},
	}
}

func login(user, attempt int, method, path, replica, outcome string) events.Event {
	return events.Event{User: user, Step: events.StepLogin, Attempt: attempt, Method: method, Path: path, Replica: replica, Outcome: outcome}
}

func page(user int, path, replica, outcome string) events.Event {
	return events.Event{User: user, Step: events.StepPage, Method: http.MethodGet, Path: path, Replica: replica, Outcome: outcome}
}

// figure dereferences a figure that must have been computed.
func figure(t *testing.T, v *float64) float64 {
	t.Helper()
	require.NotNil(t, v, "figure is null")
	return *v
}

// runEvents is a small run over replica-1..3 plus two replicas the topology does not list (replica-0, zz) and one
// exchange no replica answered.
func runEvents() []events.Event {
	const get, post = http.MethodGet, http.MethodPost
	return []events.Event{
		login(1, 1, get, "/login", "replica-1", "ok"),
		login(1, 1, post, "/login", "replica-2", "ok"),
		login(1, 1, get, "/", "replica-3", "loop"),
		login(1, 1, get, "/login", "replica-1", "error"), // later non-ok exchange: the cause stays "loop"
		login(1, 2, get, "/login", "replica-1", "ok"),
		login(1, 2, post, "/login", "replica-2", "ok"),
		login(1, 2, get, "/", "replica-2", "ok"),
		page(1, "/page/1", "replica-2", "ok"),
		page(1, "/page/2", "replica-3", "loss"),
		login(2, 1, get, "/login", "replica-1", "ok"),
		login(2, 1, post, "/login", "replica-1", "rejected"),
		login(3, 1, get, "/login", "", "error"),
		login(3, 2, get, "/login", "zz", "ok"),
		login(3, 2, post, "/login", "replica-0", "ok"),
		login(3, 2, get, "/", "zz", "ok"),
		page(3, "/page/1", "zz", "ok"),
	}
}

// A login refused for rate (429) is its own cause and its own count, never an error.
func TestRateLimitedIsACauseApartFromErrors(t *testing.T) {
	const get, post = http.MethodGet, http.MethodPost
	r := reports.Compute(meta("replica-1"), []events.Event{
		login(1, 1, get, "/login", "replica-1", "ok"),
		login(1, 1, post, "/login", "replica-1", "rate_limited"),
		login(2, 1, get, "/login", "replica-1", "ok"),
		login(2, 1, post, "/login", "replica-1", "ok"),
		login(2, 1, get, "/", "replica-1", "ok"),
		login(3, 1, get, "/login", "", "error"),
	})
	assert.Equal(t, 1, r.Totals.RateLimited)
	assert.Equal(t, 1, r.Totals.Errors)
	assert.Equal(t, 2, r.Totals.LoginFailures)
	assert.Equal(t, map[string]int{"loop": 0, "csrf": 0, "rejected": 0, "rate_limited": 1, "error": 1, "harness_limit": 0}, r.FailureCauses)
}

func TestComputeTotals(t *testing.T) {
	r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents())

	assert.Equal(t, reports.Schema, r.Schema)
	assert.Equal(t, "rr-memory", r.Scenario)
	assert.Equal(t, 3, r.App.Replicas, "app.replicas counts the topology, not the names seen")
	tot := r.Totals
	assert.Equal(t, 3, tot.Users)
	assert.Equal(t, 16, tot.Requests)
	assert.Equal(t, 2, tot.Errors)
	assert.Equal(t, 5, tot.LoginAttempts, "(user, attempt) pairs: (1,1) (1,2) (2,1) (3,1) (3,2)")
	assert.Equal(t, 3, tot.LoginFailures)
	assert.InDelta(t, 3.0/5, figure(t, tot.LoginFailRate), 1e-12)
	assert.Equal(t, map[string]int{"loop": 1, "csrf": 0, "rejected": 1, "rate_limited": 0, "error": 1, "harness_limit": 0}, r.FailureCauses)
	assert.Equal(t, 3, tot.PageRequests)
	assert.Equal(t, 1, tot.SessionLosses)
	assert.InDelta(t, 1.0/3, figure(t, tot.SessionLoss), 1e-12)
	assert.Equal(t, 3, tot.SessionsCreated, "accepted POST /login exchanges")
	assert.Equal(t, 2, tot.UsersLoggedIn)
	assert.InDelta(t, 1.5, figure(t, tot.DuplicateRatio), 1e-12)
}

func TestComputeReplicas(t *testing.T) {
	r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents())

	// 15 of the 16 requests carry a replica; the one that does not counts in requests but in no replica's share.
	want := []struct {
		name     string
		requests int
		users    int
	}{
		{"replica-1", 5, 2}, {"replica-2", 4, 1}, {"replica-3", 2, 1}, {"replica-0", 1, 1}, {"zz", 3, 1},
	}
	require.Len(t, r.Replicas, len(want))
	for i, w := range want {
		got := r.Replicas[i]
		assert.Equal(t, w.name, got.Name, "replica %d: listed ones first, then unknown ones sorted", i)
		assert.Equal(t, w.requests, got.Requests, w.name)
		assert.Equal(t, w.users, got.Users, w.name)
		assert.InDelta(t, float64(w.requests)/15, figure(t, got.Share), 1e-12, w.name)
	}
	// counts [5 4 2 1 3]: mean 3, variance 55/5-9 = 2, jain 15²/(5·55).
	assert.InDelta(t, 5.0/3, figure(t, r.Skew.MaxOverMean), 1e-12)
	assert.InDelta(t, math.Sqrt(2)/3, figure(t, r.Skew.CoV), 1e-12)
	assert.InDelta(t, 9.0/11, figure(t, r.Skew.Jain), 1e-12)
}

func TestComputeSkew(t *testing.T) {
	tests := []struct {
		name                 string
		counts               []int
		maxOverMean, cov, jn float64
	}{
		{"even", []int{1, 1, 1}, 1, 0, 1},
		{"one replica serves all", []int{3, 0, 0}, 3, math.Sqrt(2), 1.0 / 3},
		// mean 4/3, variance (4+1+1)/3 - 16/9 = 2/9, stddev √2/3
		{"one replica serves half", []int{2, 1, 1}, 1.5, (math.Sqrt(2) / 3) / (4.0 / 3), 16.0 / 18},
		{"two replicas", []int{10, 30}, 1.5, 0.5, 0.8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			var evs []events.Event
			for i, n := range tt.counts {
				name := string(rune('a' + i))
				names = append(names, name)
				for range n {
					evs = append(evs, page(1, "/page/1", name, "ok"))
				}
			}
			s := reports.Compute(meta(names...), evs).Skew
			assert.InDelta(t, tt.maxOverMean, figure(t, s.MaxOverMean), 1e-12)
			assert.InDelta(t, tt.cov, figure(t, s.CoV), 1e-12)
			assert.InDelta(t, tt.jn, figure(t, s.Jain), 1e-12)
		})
	}
	for name, m := range map[string]events.Meta{"no replicas": meta(), "replicas idle": meta("a", "b")} {
		t.Run(name, func(t *testing.T) {
			s := reports.Compute(m, nil).Skew
			assert.Nil(t, s.MaxOverMean)
			assert.Nil(t, s.CoV)
			assert.Nil(t, s.Jain)
		})
	}
}

func TestComputeNullRates(t *testing.T) {
	r := reports.Compute(meta("replica-1", "replica-2"), []events.Event{
		{User: 1, Step: events.StepLogout, Method: http.MethodPost, Path: "/logout", Outcome: "error"},
	})
	assert.Equal(t, 1, r.Totals.Requests)
	assert.Nil(t, r.Totals.LoginFailRate, "no login attempts")
	assert.Nil(t, r.Totals.SessionLoss, "no page requests")
	assert.Nil(t, r.Totals.DuplicateRatio, "no user logged in")
	require.Len(t, r.Replicas, 2)
	assert.Nil(t, r.Replicas[0].Share, "no attributed requests")

	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "json", r))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	totals := doc["totals"].(map[string]any)
	for _, k := range []string{"login_failure_rate", "session_loss_rate", "duplicate_session_ratio"} {
		v, ok := totals[k]
		assert.True(t, ok, "totals.%s must be present", k)
		assert.Nil(t, v, "totals.%s must be null, not 0", k)
	}
	assert.Nil(t, doc["skew"].(map[string]any)["jain"])
}

func TestRenderJSONFieldNames(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "json", reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents())))
	var doc struct {
		Schema   string `json:"schema"`
		Scenario string `json:"scenario"`
		Balancer struct {
			Strategy string `json:"strategy"`
		} `json:"balancer"`
		Totals        map[string]any `json:"totals"`
		FailureCauses map[string]int `json:"failure_causes"`
		Replicas      []struct {
			Name  string   `json:"name"`
			Share *float64 `json:"share"`
		} `json:"replicas"`
		Skew         map[string]*float64 `json:"skew"`
		Expectations []any               `json:"expectations"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, "sessionlab.report/v1", doc.Schema)
	assert.Equal(t, "round-robin", doc.Balancer.Strategy)
	for _, k := range []string{"users", "requests", "login_attempts", "login_failures", "login_failure_rate",
		"session_losses", "session_loss_rate", "silent_reauths", "duplicate_session_ratio"} {
		assert.Contains(t, doc.Totals, k)
	}
	assert.InDelta(t, 0.6, doc.Totals["login_failure_rate"], 1e-12)
	assert.Equal(t, 1, doc.FailureCauses["loop"])
	require.NotEmpty(t, doc.Replicas)
	assert.Equal(t, "replica-1", doc.Replicas[0].Name)
	assert.InDelta(t, 5.0/15, figure(t, doc.Replicas[0].Share), 1e-12)
	assert.InDelta(t, 5.0/3, figure(t, doc.Skew["max_over_mean"]), 1e-12)
	assert.NotNil(t, doc.Expectations, "expectations is a list, never null")
	assert.Contains(t, buf.String(), `"schema": "sessionlab.report/v1"`)
}

func TestAccumulatorMatchesCompute(t *testing.T) {
	acc := reports.NewAccumulator(meta("replica-1", "replica-2", "replica-3"))
	sink := acc.Record
	for _, e := range runEvents() {
		sink(e)
	}
	assert.Equal(t, reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents()), acc.Report())
}

// The users at once are the most users whose spans (first exchange's start to last exchange's end) overlap.
func TestPeakUsersAtOnce(t *testing.T) {
	page := func(user int, tms, latencyMS int64) events.Event {
		return events.Event{TMs: tms, LatencyUS: latencyMS * 1000, User: user, Step: events.StepPage, Method: "GET",
			Path: "/page/1", Status: 200, Replica: "replica-1", Outcome: events.OutcomeOK}
	}
	cases := []struct {
		name string
		evs  []events.Event
		want int
	}{
		{"one user", []events.Event{page(1, 0, 5), page(1, 100, 5)}, 1},
		{"two overlap, a third after", []events.Event{page(1, 0, 1), page(2, 50, 1), page(1, 100, 1), page(2, 150, 1), page(3, 200, 1), page(3, 250, 1)}, 2},
		{"one's end is the next's start", []events.Event{page(1, 0, 10), page(2, 11, 1)}, 1},
		{"a long exchange keeps the user there", []events.Event{page(1, 0, 500), page(2, 300, 150), page(3, 400, 1)}, 3},
		{"a short one does not", []events.Event{page(1, 0, 500), page(2, 300, 1), page(3, 400, 1)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1"), c.evs)
			assert.Equal(t, c.want, r.Totals.PeakUsersAtOnce)
		})
	}
}

// A replica's users are the distinct users it answered, each counted once however often it came back: on the first
// 64 replicas and past them alike.
func TestReplicaUsersCountedOnce(t *testing.T) {
	names := make([]string, 70)
	for i := range names {
		names[i] = "replica-" + strconv.Itoa(i+1)
	}
	acc := reports.NewAccumulator(meta(names...))
	// User u goes, twice round, to the replicas at indexes u-1, u and u+1 (mod 70): each is served by three users.
	for round := range 2 {
		for u := 1; u <= 70; u++ {
			for d := -1; d <= 1; d++ {
				rep := names[(u+d+70)%70]
				acc.Record(events.Event{TMs: int64(round), User: u, Step: events.StepPage, Method: http.MethodGet, Path: "/page/1",
					Status: 200, Outcome: events.OutcomeOK, Replica: rep})
			}
		}
	}
	rep := acc.Report()
	require.Len(t, rep.Replicas, 70)
	for _, r := range rep.Replicas {
		assert.Equal(t, 3, r.Users, "%s: three distinct users", r.Name)
		assert.Equal(t, 6, r.Requests, r.Name)
	}
}
