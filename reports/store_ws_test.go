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

func reauth(user int, path, replica, outcome string) events.Event {
	return events.Event{User: user, Step: events.StepReauth, Attempt: 1, Method: http.MethodGet, Path: path, Replica: replica, Outcome: outcome}
}

func ws(user, conn int, replica, outcome string) events.Event {
	return events.Event{User: user, Step: events.StepWS, Attempt: conn, Method: http.MethodGet, Path: "/ws", Status: http.StatusSwitchingProtocols,
		Replica: replica, Outcome: outcome}
}

func storeRecord(s events.StoreStats) events.Event {
	return events.Event{TMs: 99, Step: events.StepStore, Store: &s}
}

var redisStats = events.StoreStats{Kind: "redis", Sessions: 7, SessionsCreated: 9, Logins: 3, SilentReauths: 6,
	CSRFRefusals: 1, BadCookies: 2, Unread: []string{"replica-2"}}

// ssoEvents: user 1 logs in and has one page re-authenticated silently; user 2 logs in twice (a lost session in
// between); user 3 is rejected. 4 attempts, 3 pages, 3 sessions created for 2 users; 15 requests.
func ssoEvents() []events.Event {
	const get, post = http.MethodGet, http.MethodPost
	return []events.Event{
		login(1, 1, get, "/login", "replica-1", "ok"),
		login(1, 1, post, "/login", "", "ok"), // the identity provider: no replica
		login(1, 1, get, "/", "replica-1", "ok"),
		page(1, "/page/1", "replica-2", events.OutcomeReauth),
		reauth(1, "/authorize", "", "ok"),
		reauth(1, "/oauth2/callback", "replica-1", "ok"),
		reauth(1, "/page/1", "replica-1", "ok"),
		login(2, 1, get, "/login", "replica-1", "ok"),
		login(2, 1, post, "/login", "", "ok"),
		page(2, "/page/1", "replica-2", events.OutcomeLoss),
		login(2, 2, get, "/login", "replica-1", "ok"),
		login(2, 2, post, "/login", "", "ok"),
		page(2, "/page/1", "replica-1", "ok"),
		login(3, 1, get, "/login", "replica-1", "ok"),
		login(3, 1, post, "/login", "", "rejected"),
	}
}

func TestComputeStore(t *testing.T) {
	withStore := func(first bool) []events.Event {
		if first {
			return append([]events.Event{storeRecord(redisStats)}, ssoEvents()...)
		}
		return append(ssoEvents(), storeRecord(redisStats))
	}
	tests := []struct {
		name          string
		evs           []events.Event
		storeSessions *int
		silent        int
		dupRatio      *float64
	}{
		{"store record last", withStore(false), new(7), 6, new(7.0 / 2)},
		{"store record first", withStore(true), new(7), 6, new(7.0 / 2)},
		// Without it: sessions_created / users_logged_in, and the pages the clients saw sent to the provider.
		{"no store record", ssoEvents(), nil, 1, new(3.0 / 2)},
		{"store record, nobody logged in", []events.Event{ssoEvents()[13], ssoEvents()[14], storeRecord(redisStats)}, new(7), 6, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1", "replica-2"), tt.evs)
			tot := r.Totals
			assert.Equal(t, tt.storeSessions, tot.StoreSessions)
			assert.Equal(t, tt.silent, tot.SilentReauths)
			if tt.dupRatio == nil {
				assert.Nil(t, tot.DuplicateRatio)
			} else {
				assert.InDelta(t, *tt.dupRatio, figure(t, tot.DuplicateRatio), 1e-12)
			}
			exchanges := 0
			for _, e := range tt.evs {
				if e.Step != events.StepStore {
					exchanges++
				}
			}
			assert.Equal(t, exchanges, tot.Requests, "the store record is not a request")
			if tt.storeSessions == nil {
				assert.Nil(t, r.Store)
				return
			}
			require.NotNil(t, r.Store)
			assert.Equal(t, redisStats, r.Store.StoreStats)
			assert.Contains(t, r.Store.Source, "Redis")
		})
	}

	// The store record changes no request figure.
	with, without := reports.Compute(meta("replica-1", "replica-2"), withStore(false)), reports.Compute(meta("replica-1", "replica-2"), ssoEvents())
	assert.Equal(t, without.Replicas, with.Replicas)
	assert.Equal(t, without.FailureCauses, with.FailureCauses)
	assert.Equal(t, []int{15, 3, 4, 1, 3, 1, 3, 2}, []int{with.Totals.Requests, with.Totals.PageRequests, with.Totals.LoginAttempts,
		with.Totals.LoginFailures, with.Totals.SessionsCreated, with.Totals.SessionLosses, without.Totals.SessionsCreated, with.Totals.UsersLoggedIn})
}

func TestStoreSource(t *testing.T) {
	tests := []struct{ kind, want string }{
		{"redis", "session keys in Redis"},
		{"cookie", "sealed cookies are held by no store"},
		{"memory", "replicas' memory"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			r := reports.Compute(meta("replica-1"), []events.Event{storeRecord(events.StoreStats{Kind: tt.kind, Sessions: 1})})
			require.NotNil(t, r.Store)
			assert.Equal(t, tt.kind, r.Store.Kind)
			assert.Contains(t, r.Store.Source, tt.want)
			assert.Zero(t, r.Totals.Requests)
		})
	}
}

func TestComputeReauthLosses(t *testing.T) {
	base := func(last events.Event) []events.Event {
		return []events.Event{
			login(1, 1, http.MethodGet, "/login", "replica-1", "ok"),
			login(1, 1, http.MethodPost, "/login", "", "ok"),
			login(1, 1, http.MethodGet, "/", "replica-1", "ok"),
			page(1, "/page/1", "replica-2", events.OutcomeReauth),
			reauth(1, "/authorize", "", "ok"),
			last,
		}
	}
	tests := []struct {
		name           string
		last           events.Event
		losses, errors int
	}{
		{"re-authenticated silently", reauth(1, "/oauth2/callback", "replica-1", events.OutcomeOK), 0, 0},
		{"the provider prompts again", reauth(1, "/authorize", "", events.OutcomeLoss), 1, 0},
		{"the app sends the user to log in", reauth(1, "/page/1", "replica-2", events.OutcomeLoss), 1, 0},
		{"the callback lands where the state is unknown", reauth(1, "/oauth2/callback", "replica-2", events.OutcomeCSRF), 1, 0},
		{"the callback fails", reauth(1, "/oauth2/callback", "replica-2", events.OutcomeError), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1", "replica-2"), base(tt.last))
			tot := r.Totals
			assert.Equal(t, 1, tot.PageRequests, "re-authentication exchanges are not page requests")
			assert.Equal(t, tt.losses, tot.SessionLosses)
			assert.InDelta(t, float64(tt.losses), figure(t, tot.SessionLoss), 1e-12)
			assert.Equal(t, tt.errors, tot.Errors)
			assert.Equal(t, 6, tot.Requests)
			assert.Equal(t, 1, tot.LoginAttempts, "re-authentication exchanges are not login attempts")
			assert.Zero(t, tot.LoginFailures, "a lost re-authentication does not fail the login before it")
		})
	}

	t.Run("a page sent to the provider is not a loss", func(t *testing.T) {
		evs := []events.Event{page(1, "/page/1", "replica-2", events.OutcomeReauth), page(1, "/page/2", "replica-2", events.OutcomeReauth)}
		tot := reports.Compute(meta("replica-1", "replica-2"), evs).Totals
		assert.Zero(t, tot.SessionLosses)
		assert.Equal(t, 2, tot.SilentReauths)
		assert.InDelta(t, 0, figure(t, tot.SessionLoss), 0)
	})
}

// Phases and fault results split the same losses the totals count, re-authentications included.
func TestReauthLossesInPhases(t *testing.T) {
	evs := []events.Event{
		at(10, login(1, 1, http.MethodPost, "/login", "", "ok")),
		at(20, page(1, "/page/1", "replica-2", events.OutcomeOK)),
		start(30, 0, "kill", "replica-2"),
		at(40, page(1, "/page/2", "replica-1", events.OutcomeReauth)),
		at(41, reauth(1, "/authorize", "", events.OutcomeLoss)),
		end(50, 0, "kill", "replica-2"),
		at(60, page(1, "/page/3", "replica-1", events.OutcomeOK)),
	}
	r := reports.Compute(faultMeta(killR2), evs)
	assert.Equal(t, 1, r.Totals.SessionLosses)
	require.Len(t, r.Phases, 3)
	assert.Equal(t, []int{0, 1, 0}, []int{r.Phases[0].SessionLosses, r.Phases[1].SessionLosses, r.Phases[2].SessionLosses})
	assert.Equal(t, 1, r.Phases[1].UsersWithLoss)
	assertPhasesSum(t, r)
	require.Len(t, r.Faults, 1)
	f := r.Faults[0]
	require.NotNil(t, f.UsersOnTarget)
	assert.Equal(t, 1, *f.UsersOnTarget, "user 1 was on replica-2 when it was killed")
	assert.Equal(t, 1, *f.LostOnTarget, "and lost its session during the fault")
}

func TestComputeWebSocket(t *testing.T) {
	tests := []struct {
		name string
		evs  []events.Event
		want reports.WebSocket
		rate *float64
	}{
		{"first connections only", []events.Event{ws(1, 1, "a", "ok"), ws(2, 1, "b", "ok")},
			reports.WebSocket{Connections: 2}, nil},
		{"reconnects, some lost", []events.Event{
			ws(1, 1, "a", "ok"), ws(1, 2, "b", "loss"), ws(1, 3, "b", "ok"),
			ws(2, 1, "", "error"), ws(2, 2, "", "error"), ws(2, 3, "a", "loss"),
		}, reports.WebSocket{Connections: 6, Errors: 2, Reconnects: 3, StateLost: 2}, new(2.0 / 3)},
		{"errors only", []events.Event{ws(1, 1, "", "error"), ws(1, 2, "", "error")},
			reports.WebSocket{Connections: 2, Errors: 2}, nil},
		{"every reconnect lost", []events.Event{ws(1, 1, "a", "ok"), ws(1, 2, "b", "loss"), ws(1, 3, "a", "loss")},
			reports.WebSocket{Connections: 3, Reconnects: 2, StateLost: 2}, new(1.0)},
		{"every reconnect kept", []events.Event{ws(1, 1, "a", "ok"), ws(1, 2, "a", "ok"), ws(2, 1, "b", "ok"), ws(2, 2, "b", "ok")},
			reports.WebSocket{Connections: 4, Reconnects: 2}, new(0.0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(meta("a", "b"), tt.evs)
			require.NotNil(t, r.WebSocket)
			got := *r.WebSocket
			if tt.rate == nil {
				assert.Nil(t, got.StateLossRate)
			} else {
				assert.InDelta(t, *tt.rate, figure(t, got.StateLossRate), 1e-12)
			}
			got.StateLossRate = nil
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.evs), r.Totals.Requests, "every connection is a request")
			assert.Equal(t, tt.want.Errors, r.Totals.Errors)
			assert.Zero(t, r.Totals.SessionLosses, "lost WebSocket state is not a lost session")
			assert.Zero(t, r.Totals.PageRequests)
		})
	}

	t.Run("no connections, no section", func(t *testing.T) {
		r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents())
		assert.Nil(t, r.WebSocket)
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "json", r))
		var doc map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
		assert.NotContains(t, doc, "websocket")
		assert.NotContains(t, doc, "store")
		assert.Contains(t, doc["totals"], "store_sessions")
		assert.Nil(t, doc["totals"].(map[string]any)["store_sessions"], "null without the store record")
	})
}

func TestStoreAndWebSocketJSON(t *testing.T) {
	evs := append(ssoEvents(), ws(1, 1, "replica-1", "ok"), ws(1, 2, "replica-2", "loss"), storeRecord(redisStats))
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "json", reports.Compute(meta("replica-1", "replica-2"), evs)))
	var doc struct {
		Totals    map[string]any `json:"totals"`
		Store     map[string]any `json:"store"`
		WebSocket map[string]any `json:"websocket"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, map[string]any{"kind": "redis", "sessions": 7.0, "sessions_created": 9.0, "logins": 3.0, "silent_reauths": 6.0,
		"csrf_refusals": 1.0, "bad_cookies": 2.0, "unread": []any{"replica-2"}, "source": doc.Store["source"]}, doc.Store)
	assert.NotEmpty(t, doc.Store["source"])
	assert.Equal(t, map[string]any{"connections": 2.0, "errors": 0.0, "reconnects": 1.0, "state_lost": 1.0, "state_loss_rate": 1.0}, doc.WebSocket)
	assert.Equal(t, 7.0, doc.Totals["store_sessions"])
	assert.Equal(t, 6.0, doc.Totals["silent_reauths"])
	assert.InDelta(t, 3.5, doc.Totals["duplicate_session_ratio"], 1e-12)
}

func TestExpectStoreAndWebSocket(t *testing.T) {
	expect := map[string]string{"store_sessions": "<= 2", "duplicate_session_ratio": "< 1.5", "websocket.state_loss_rate": "< 0.5"}
	tests := []struct {
		name string
		evs  []events.Event
		got  map[string]*float64
	}{
		{"with store and websocket", append(ssoEvents(), ws(1, 1, "a", "ok"), ws(1, 2, "b", "loss"), storeRecord(redisStats)),
			map[string]*float64{"store_sessions": new(7.0), "duplicate_session_ratio": new(3.5), "websocket.state_loss_rate": new(1.0)}},
		// A figure the run could not give is unknown, never a pass.
		{"without", ssoEvents(),
			map[string]*float64{"store_sessions": nil, "duplicate_session_ratio": new(1.5), "websocket.state_loss_rate": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(meta("a", "b"), tt.evs)
			assert.False(t, r.Check(expect))
			require.Len(t, r.Expectations, 3)
			for _, e := range r.Expectations {
				assert.Equal(t, tt.got[e.Key], e.Got, e.Key)
				assert.False(t, e.OK, e.Key)
			}
		})
	}
}

func TestRenderTextStoreAndWebSocket(t *testing.T) {
	render := func(evs []events.Event) string {
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "text", reports.Compute(meta("replica-1", "replica-2"), evs)))
		return buf.String()
	}

	out := render(append(ssoEvents(), ws(1, 1, "replica-1", "ok"), ws(1, 2, "replica-2", "loss"), ws(1, 3, "", "error"), storeRecord(redisStats)))
	for _, s := range []string{
		"7 held by the redis store for 2 users logged in (duplicate ratio 3.500), 6 silent re-authentications\n",
		"store     9 sessions issued, 3 after a password, 1 csrf refusals, 2 cookies a replica could not open (unread: replica-2)\n",
		"websocket 3 connections, 1 errors, state lost on 1 of 1 reconnects (rate 1.000)\n",
		"sessions  1 of 3 protected pages lost (rate 0.333)\n",
	} {
		assert.Contains(t, out, s)
	}
	assert.NotContains(t, out, "created for")

	out = render(ssoEvents())
	assert.Contains(t, out, "3 created for 2 users logged in (duplicate ratio 1.500), 1 silent re-authentications\n")
	assert.NotContains(t, out, "held by the")
	assert.NotContains(t, out, "\nstore ")
	assert.NotContains(t, out, "websocket")

	out = render([]events.Event{ws(1, 1, "replica-1", "ok"), storeRecord(events.StoreStats{Kind: "cookie", Sessions: 4, SessionsCreated: 4})})
	assert.Contains(t, out, "websocket 1 connections, 0 errors, state lost on 0 of 0 reconnects (rate n/a)\n")
	assert.Contains(t, out, "4 held by the cookie store for 0 users logged in (duplicate ratio n/a)")
	assert.Contains(t, out, "cookies a replica could not open\n", "no unread list when every replica was read")
}
