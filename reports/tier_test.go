package reports_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

// The helpers below carry a "tier" prefix: other test files of the package are written alongside this one.

// tierMeta is a run over replica-1..3 behind haproxy-1 and haproxy-2, with the faults given.
func tierMeta(faults ...events.FaultPlan) events.Meta {
	m := faultMeta(faults...)
	m.Balancer = events.Balancer{Kind: "haproxy", Strategy: "client-ip-sticky", Instances: []string{"haproxy-1", "haproxy-2"},
		Front: "connection", StaggerMs: 200}
	return m
}

// via has e answered by a balancer instance, on a connection opened for conn ("" for a reused one).
func via(instance, conn string, e events.Event) events.Event {
	e.Instance, e.Conn = instance, conn
	return e
}

// tierLogin is an accepted form login: the form, then the submission, both through instance, on replica.
func tierLogin(user int, instance, replica string) []events.Event {
	return []events.Event{
		via(instance, "first", login(user, 1, http.MethodGet, "/login", replica, "ok")),
		via(instance, "", login(user, 1, http.MethodPost, "/login", replica, "ok")),
	}
}

func TestTierRequestsSumToTotals(t *testing.T) {
	idp := login(3, 1, http.MethodGet, "/authorize", "", "ok")
	idp.Host = "idp.example"
	evs := seq(
		tierLogin(1, "haproxy-1", "replica-1"),
		tierLogin(2, "haproxy-2", "replica-2"),
		[]events.Event{
			via("haproxy-2", "keep-alive", page(1, "/page/1", "replica-2", "ok")), // user 1 met both instances
			via("haproxy-1", "", page(2, "/page/1", "replica-2", "error")),
			via("", "error", page(2, "/page/2", "", "error")), // no answer: no instance
			idp, // the identity provider's host: no instance
			via("haproxy-9", "roam", page(3, "/page/1", "replica-3", "ok")), // a name the header does not list
			via("haproxy-0", "first", page(4, "/page/1", "replica-3", "ok")),
		})
	r := reports.Compute(tierMeta(), evs)
	require.NotNil(t, r.Tier)
	tr := r.Tier

	sum := tr.NoInstance
	for _, in := range tr.Instances {
		sum += in.Requests
	}
	assert.Equal(t, r.Totals.Requests, sum, "the instances' requests and no_instance sum to totals.requests")
	assert.Equal(t, 10, sum)
	assert.Equal(t, 2, tr.NoInstance, "the connection error and the identity provider's request")

	type row struct {
		name                                 string
		requests, users, errors, connections int
	}
	var got []row
	for _, in := range tr.Instances {
		got = append(got, row{in.Name, in.Requests, in.Users, in.Errors, in.Connections})
	}
	assert.Equal(t, []row{
		{"haproxy-1", 3, 2, 1, 1},
		{"haproxy-2", 3, 2, 0, 2},
		{"haproxy-0", 1, 1, 0, 1}, // unknown names after the header's, sorted
		{"haproxy-9", 1, 1, 0, 1},
	}, got)
	assert.InDelta(t, 3.0/8, figure(t, tr.Instances[0].Share), 1e-12, "a share of the requests some instance answered")
	assert.Equal(t, 2, tr.UsersOnSeveral, "users 1 and 2 met both instances; 3 and 4 one each")
	assert.Equal(t, "connection", tr.Front)
}

func TestTierLossSplit(t *testing.T) {
	const post = http.MethodPost
	tests := []struct {
		name                          string
		evs                           []events.Event
		elsewhere, same, unattributed int
	}{
		{"lost on another instance than the login's", seq(tierLogin(1, "haproxy-1", "replica-1"),
			[]events.Event{via("haproxy-2", "keep-alive", page(1, "/page/1", "replica-2", "loss"))}), 1, 0, 0},
		{"lost on the login's instance", seq(tierLogin(1, "haproxy-1", "replica-1"),
			[]events.Event{via("haproxy-1", "", page(1, "/page/1", "replica-2", "loss"))}), 0, 1, 0},
		{"the last accepted login counts", seq(tierLogin(1, "haproxy-1", "replica-1"),
			[]events.Event{via("haproxy-2", "", login(1, 2, post, "/login", "replica-2", "ok")),
				via("haproxy-2", "", page(1, "/page/1", "replica-3", "loss"))}), 0, 1, 0},
		{"a refused submission is no login", seq(tierLogin(1, "haproxy-1", "replica-1"),
			[]events.Event{via("haproxy-2", "", login(1, 2, post, "/login", "replica-2", "rejected")),
				via("haproxy-2", "", page(1, "/page/1", "replica-3", "loss"))}), 1, 0, 0},
		{"a login through no instance", []events.Event{login(1, 1, post, "/login", "", "ok"),
			via("haproxy-2", "first", page(1, "/page/1", "replica-2", "loss"))}, 0, 0, 1},
		{"no login at all", []events.Event{via("haproxy-2", "first", page(1, "/page/1", "replica-2", "loss"))}, 0, 0, 1},
		{"a re-authentication lost at the provider counts against its page", seq(tierLogin(1, "haproxy-1", "replica-1"),
			[]events.Event{via("haproxy-2", "", page(1, "/page/1", "replica-2", events.OutcomeReauth)),
				reauth(1, "/authorize", "", events.OutcomeLoss)}), 1, 0, 0},
		{"single sign-on: the callback's instance", []events.Event{
			login(1, 1, post, "/authorize", "", "ok"), // at the provider, through no instance
			via("haproxy-2", "first", events.Event{User: 1, Step: events.StepLogin, Attempt: 1, Method: http.MethodGet,
				Path: "/oauth2/callback", Status: http.StatusFound, Replica: "replica-2", Outcome: "ok"}),
			via("haproxy-2", "", page(1, "/page/1", "replica-3", "loss")),
			via("haproxy-1", "keep-alive", page(1, "/page/2", "replica-1", "loss"))}, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(tierMeta(), tt.evs)
			require.NotNil(t, r.Tier)
			tr := r.Tier
			assert.Equal(t, []int{tt.elsewhere, tt.same, tt.unattributed},
				[]int{tr.LossesElsewhere, tr.LossesSameInstance, tr.LossesUnattributed}, "elsewhere, same, unattributed")
			assert.Equal(t, r.Totals.SessionLosses, tr.LossesElsewhere+tr.LossesSameInstance+tr.LossesUnattributed,
				"the split sums to totals.session_losses")
		})
	}
}

// One balancer: no tier, and a log that does not say why connections opened has no connections by cause (and
// none closed).
func TestNoTierWithOneBalancer(t *testing.T) {
	r := reports.Compute(faultMeta(killR2), withMarks())
	assert.Nil(t, r.Tier)
	assert.Nil(t, r.Totals.Connections)
	assert.Zero(t, r.Totals.ConnectionsClosed)
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "json", r))
	for _, key := range []string{`"tier"`, `"connections"`} {
		assert.NotContains(t, buf.String(), key)
	}
	for _, key := range []string{"tier.no_instance", "connections.closed"} {
		_, found := r.Lookup(key)
		assert.False(t, found, key)
	}
	for _, key := range []string{"connections_closed", "phases.1.connections_closed"} {
		v, found := r.Lookup(key)
		require.True(t, found, key)
		assert.Zero(t, figure(t, v), key)
	}
}

// Connections by cause, and the connections a dead balancer instance closed, in the phase its death began.
func TestConnectionsPerPhase(t *testing.T) {
	killLB := events.FaultPlan{Action: "kill-balancer", Target: "balancer-2", At: "1s"}
	evs := []events.Event{
		at(1, via("haproxy-1", "first", page(1, "/page/1", "replica-1", "ok"))),
		at(2, via("haproxy-2", "first", page(2, "/page/1", "replica-2", "ok"))),
		at(3, via("haproxy-2", "first", page(3, "/page/1", "replica-3", "ok"))),
		at(5, via("haproxy-1", "keep-alive", page(1, "/page/2", "replica-1", "ok"))),
		start(10, 0, "kill-balancer", "balancer-2"),
		at(11, via("", "closed", page(2, "/page/2", "", "error"))),
		at(12, via("haproxy-1", "error", page(2, "/page/2", "replica-2", "ok"))),
		at(13, via("haproxy-1", "closed", page(3, "/page/2", "replica-3", "ok"))),
		end(20, 0, "kill-balancer", "balancer-2"),
		at(21, via("haproxy-1", "roam", page(1, "/page/3", "replica-1", "ok"))),
		at(22, via("haproxy-1", "", page(2, "/page/3", "replica-2", "ok"))),
	}
	r := reports.Compute(tierMeta(killLB), evs)
	assert.Equal(t, map[string]int{"first": 3, "keep-alive": 1, "roam": 1, "closed": 2, "error": 1}, r.Totals.Connections)
	assert.Equal(t, 3, r.Totals.ConnectionsClosed, "closed and error")

	closed := map[string]int{}
	for _, p := range r.Phases {
		closed[p.Name] = p.ConnectionsClosed
	}
	assert.Equal(t, map[string]int{"before": 0, "during kill-balancer balancer-2": 3, "after kill-balancer balancer-2": 0}, closed)
	assert.Equal(t, []int{5, 2}, []int{r.Tier.Instances[0].Connections, r.Tier.Instances[1].Connections},
		"connections opened through each instance")

	t.Run("one balancer whose log records them", func(t *testing.T) {
		r := reports.Compute(meta("replica-1"), []events.Event{via("", "first", page(1, "/page/1", "replica-1", "ok"))})
		assert.Nil(t, r.Tier)
		assert.Equal(t, map[string]int{"first": 1, "keep-alive": 0, "roam": 0, "closed": 0, "error": 0}, r.Totals.Connections)
		assert.Zero(t, r.Totals.ConnectionsClosed)
	})
}

// plan.checkExpect checks expect: keys against NewAccumulator(meta).Report(): a tier's skeleton has every tier
// figure.
func TestSkeletonTier(t *testing.T) {
	r := reports.NewAccumulator(tierMeta(scaleOut)).Report()
	require.NotNil(t, r.Tier)
	require.Len(t, r.Tier.Instances, 2)
	assert.Equal(t, []string{"haproxy-1", "haproxy-2"}, []string{r.Tier.Instances[0].Name, r.Tier.Instances[1].Name})
	for key, null := range map[string]bool{
		"tier.losses_elsewhere": false, "tier.losses_same_instance": false, "tier.losses_unattributed": false,
		"tier.no_instance": false, "tier.users_on_several": false, "tier.instances.1.requests": false,
		"tier.instances.0.share": true, "tier.instances.0.connections": false,
		"connections_closed": false, "totals.connections.closed": false, "connections.keep-alive": false,
		"phases.1.connections_closed": false, "faults.0.flipped_users": true,
	} {
		v, found := r.Lookup(key)
		assert.True(t, found, key)
		assert.Equal(t, null, v == nil, key)
	}
	_, found := r.Lookup("tier.instances.2.requests")
	assert.False(t, found)

	expect := map[string]string{"tier.losses_elsewhere": "== 0", "faults.0.flipped_users": "== 0"}
	done := reports.Compute(tierMeta(scaleOut), []events.Event{start(1, 0, "scale-out", ""), end(2, 0, "scale-out", "")})
	assert.True(t, done.Check(expect), "%+v", done.Expectations)
}

// The tier's JSON names.
func TestTierJSON(t *testing.T) {
	r := reports.Compute(tierMeta(), seq(tierLogin(1, "haproxy-1", "replica-1")))
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "json", r))
	var doc struct {
		Tier   map[string]any `json:"tier"`
		Totals map[string]any `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	for _, k := range []string{"front", "instances", "no_instance", "users_on_several", "losses_elsewhere",
		"losses_same_instance", "losses_unattributed"} {
		assert.Contains(t, doc.Tier, k)
	}
	inst := doc.Tier["instances"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "requests", "share", "users", "errors", "connections"} {
		assert.Contains(t, inst, k)
	}
	assert.Contains(t, doc.Totals, "connections")
	assert.Contains(t, doc.Totals, "connections_closed")
}

// FlippedUsers: in the fault's window, a user's replicas go back to one the user had left (A, B, A).
func TestFlippedUsers(t *testing.T) {
	// user 1's answers, one replica each, at the times given; the scale-out lasts from 10 to 20 ms. The marks come
	// where the harness writes them: before any exchange answered after them.
	inOrder := func(answers ...events.Event) []events.Event {
		evs := []events.Event{start(10, 0, "scale-out", "")}
		ended := false
		for _, e := range answers {
			if !ended && e.TMs+e.LatencyUS/1000 > 20 {
				evs, ended = append(evs, end(20, 0, "scale-out", "")), true
			}
			evs = append(evs, e)
		}
		if !ended {
			evs = append(evs, end(20, 0, "scale-out", ""))
		}
		return evs
	}
	answers := func(seq ...any) []events.Event {
		var evs []events.Event
		for i := 0; i+1 < len(seq); i += 2 {
			evs = append(evs, at(int64(seq[i].(int)), page(1, "/page/x", seq[i+1].(string), "ok")))
		}
		return inOrder(evs...)
	}
	tests := []struct {
		name    string
		evs     []events.Event
		flipped int
	}{
		{"A B A", answers(11, "replica-1", 12, "replica-2", 13, "replica-1"), 1},
		{"A B", answers(11, "replica-1", 12, "replica-2", 13, "replica-2"), 0},
		{"A B C A", answers(11, "replica-1", 12, "replica-2", 13, "replica-3", 14, "replica-1"), 1},
		{"A, no answer, A", answers(11, "replica-1", 12, "", 13, "replica-1"), 0},
		{"A before the start, B A in the window", answers(5, "replica-1", 11, "replica-2", 13, "replica-1"), 0},
		{"A B in the window, A after the end", answers(11, "replica-1", 12, "replica-2", 25, "replica-1"), 0},
		{"A B A at the window's edges", answers(10, "replica-1", 15, "replica-2", 20, "replica-1"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(faultMeta(scaleOut), tt.evs)
			require.Len(t, r.Faults, 1)
			require.NotNil(t, r.Faults[0].FlippedUsers)
			assert.Equal(t, tt.flipped, *r.Faults[0].FlippedUsers)
		})
	}

	t.Run("answered late: the answer time places an exchange", func(t *testing.T) {
		late := at(19, page(1, "/page/x", "replica-1", "ok"))
		late.LatencyUS = 5000 // sent in the window, answered at 24 ms, after the end
		evs := inOrder(at(11, page(1, "/page/x", "replica-1", "ok")), at(12, page(1, "/page/x", "replica-2", "ok")), late)
		assert.Equal(t, 0, *reports.Compute(faultMeta(scaleOut), evs).Faults[0].FlippedUsers)
	})
	t.Run("null until the fault ended", func(t *testing.T) {
		evs := answers(11, "replica-1", 12, "replica-2", 13, "replica-1")
		r := reports.Compute(faultMeta(scaleOut), evs[:len(evs)-1])
		assert.Nil(t, r.Faults[0].FlippedUsers)
	})
	t.Run("two instances picking the change up at different times", func(t *testing.T) {
		// Users 1 and 2 alternate between the instances; haproxy-1 sends them to replica-3 from 12 ms, haproxy-2
		// keeps them on their old replica until 18 ms. User 3 stays on haproxy-1.
		evs := []events.Event{start(10, 0, "scale-out", "")}
		for _, user := range []struct {
			u   int
			old string
		}{{1, "replica-1"}, {2, "replica-2"}} {
			u, old := user.u, user.old
			evs = append(evs,
				at(11, via("haproxy-1", "", page(u, "/page/1", old, "ok"))),
				at(13, via("haproxy-1", "keep-alive", page(u, "/page/2", "replica-3", "ok"))),
				at(15, via("haproxy-2", "keep-alive", page(u, "/page/3", old, "ok"))),
				at(19, via("haproxy-2", "", page(u, "/page/4", "replica-3", "ok"))))
		}
		evs = append(evs, at(11, via("haproxy-1", "", page(3, "/page/1", "replica-1", "ok"))),
			at(13, via("haproxy-1", "", page(3, "/page/2", "replica-3", "ok"))), end(20, 0, "scale-out", ""))
		r := reports.Compute(tierMeta(scaleOut), evs)
		assert.Equal(t, 2, *r.Faults[0].FlippedUsers)
	})
}
