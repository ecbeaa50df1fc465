package clients_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
	"github.com/sessionlab/sessionlab/reports"
)

// wsJourney is the fake app's journey with conns WebSocket connections of two increments each.
func wsJourney(pages, conns int) clients.Journey {
	j := fakeAppJourney(pages, 0)
	j.WSConnections, j.WSMessages = conns, 2
	return j
}

// journeySteps is one user's steps without the login: "ws<n>" for a connection, "p<n>" for a page.
func journeySteps(evs []events.Event) string {
	var out []string
	for _, e := range evs {
		switch e.Step {
		case events.StepWS:
			out = append(out, "ws"+string(rune('0'+e.Attempt)))
		case events.StepPage:
			out = append(out, "p"+strings.TrimPrefix(e.Path, "/page/"))
		}
	}
	return strings.Join(out, " ")
}

func wsEvents(evs []events.Event) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if e.Step == events.StepWS {
			out = append(out, e)
		}
	}
	return out
}

func TestWebSocketJourneyOneReplica(t *testing.T) {
	tests := []struct {
		pages, conns int
		want         string // where the connections fall among the pages
	}{
		{pages: 2, conns: 3, want: "ws1 ws2 p1 ws3 p2"},
		{pages: 5, conns: 2, want: "ws1 p1 p2 ws2 p3 p4 p5"},
		{pages: 3, conns: 3, want: "ws1 p1 ws2 p2 ws3 p3"},
		{pages: 0, conns: 3, want: "ws1 ws2 ws3"},
		{pages: 4, conns: 1, want: "ws1 p1 p2 p3 p4"},
		{pages: 2, conns: 0, want: "p1 p2"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
			users := population(t, 9, config(4, "203.0.113.0/24", "2001:db8::/64"))
			r := runJourney(t, srv.addr, users, wsJourney(tt.pages, tt.conns))

			for _, u := range users {
				evs := r.byUser[u.ID]
				assert.Equal(t, tt.want, journeySteps(evs), "user %d", u.ID)
				ws := wsEvents(evs)
				require.Len(t, ws, tt.conns, "user %d", u.ID)
				for i, e := range ws {
					assert.Equal(t, i+1, e.Attempt, "user %d: connections are numbered from 1", u.ID)
					assert.Equal(t, http.StatusSwitchingProtocols, e.Status)
					assert.Equal(t, "replica-1", e.Replica)
					assert.Equal(t, events.OutcomeOK, e.Outcome, "user %d connection %d: %s", u.ID, e.Attempt, e.Error)
					assert.Equal(t, http.MethodGet, e.Method)
					assert.Equal(t, "/ws", e.Path)
					assert.Equal(t, u.Addr.String(), e.Addr)
				}
			}
			// Every connection is one request sent, one event recorded, one request the server saw.
			perUser := 3 + tt.pages + tt.conns
			assert.Equal(t, int64(4*perUser), r.stats.Sent)
			assert.Equal(t, int64(4*perUser), r.stats.Recorded)
			_, requests := srv.seenAddrs()
			assert.Equal(t, 4*perUser, requests)

			rep := reports.Compute(events.Meta{Users: 4, Replicas: []string{"replica-1"}}, r.evs)
			if tt.conns == 0 {
				assert.Nil(t, rep.WebSocket)
				return
			}
			require.NotNil(t, rep.WebSocket)
			assert.Equal(t, reports.WebSocket{Connections: 4 * tt.conns, Reconnects: 4 * (tt.conns - 1),
				StateLossRate: rep.WebSocket.StateLossRate}, *rep.WebSocket)
			if tt.conns > 1 {
				assert.InDelta(t, 0, figure(t, rep.WebSocket.StateLossRate), 0)
			} else {
				assert.Nil(t, rep.WebSocket.StateLossRate, "no reconnect")
			}
			assert.Equal(t, 4*perUser, rep.Totals.Requests)
		})
	}
}

func TestWebSocketJourneyTwoReplicas(t *testing.T) {
	// Sessions shared and one secret, so the login works on both; the WebSocket counter stays in each one's memory.
	store, secret := fakeapp.NewMemoryStore(), []byte("one secret for both")
	a := fakeapp.New(fakeapp.Config{Name: "replica-a", Store: store, Secret: secret})
	b := fakeapp.New(fakeapp.Config{Name: "replica-b", Store: store, Secret: secret})
	srv := startProxyServer(t, roundRobin(a, b))
	users := population(t, 9, config(5, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, wsJourney(2, 3))

	losses := 0
	for _, u := range users {
		evs := r.byUser[u.ID]
		assert.Equal(t, "ws1 ws2 p1 ws3 p2", journeySteps(evs), "user %d", u.ID)
		assert.Equal(t, map[string]int{events.OutcomeOK: 3}, outcomes(evs, events.StepLogin, ""), "user %d", u.ID)
		ws := wsEvents(evs)
		require.Len(t, ws, 3)
		assert.Equal(t, events.OutcomeOK, ws[0].Outcome, "user %d: a first connection has nothing to lose", u.ID)
		for _, e := range ws {
			assert.Equal(t, http.StatusSwitchingProtocols, e.Status)
			assert.Contains(t, []string{"replica-a", "replica-b"}, e.Replica)
			assert.Contains(t, []string{events.OutcomeOK, events.OutcomeLoss}, e.Outcome, "user %d: %s", u.ID, e.Error)
			if e.Outcome == events.OutcomeLoss {
				losses++
			}
		}
		// A reconnect finds its state only on the replica that served the previous connection.
		for i := 1; i < len(ws); i++ {
			if ws[i].Replica != ws[i-1].Replica {
				assert.Equal(t, events.OutcomeLoss, ws[i].Outcome, "user %d connection %d moved", u.ID, i+1)
			}
		}
	}
	// One user at a time, eight requests each: every user's connections go to b, a, a (the login takes three
	// requests, a page sits between the second and the third), so both reconnects find the state gone or stale.
	assert.Equal(t, 5*2, losses)
	assert.Equal(t, int64(5*8), r.stats.Sent)
	_, requests := srv.seenAddrs()
	assert.Equal(t, 5*8, requests)

	rep := reports.Compute(events.Meta{Users: 5, Replicas: []string{"replica-a", "replica-b"}}, r.evs)
	require.NotNil(t, rep.WebSocket)
	assert.Equal(t, 15, rep.WebSocket.Connections)
	assert.Equal(t, 10, rep.WebSocket.Reconnects)
	assert.Equal(t, losses, rep.WebSocket.StateLost)
	assert.InDelta(t, float64(losses)/10, figure(t, rep.WebSocket.StateLossRate), 1e-12)
	assert.Zero(t, rep.Totals.SessionLosses, "the login sessions are shared; only the WebSocket state is not")
}

func TestWebSocketJourneyErrors(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Name: "replica-1"})
	tests := []struct {
		name    string
		ws      http.HandlerFunc
		status  int
		errPart string
	}{
		{"no endpoint", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(contract.ReplicaHeader, "replica-1")
			http.NotFound(w, nil)
		}, http.StatusNotFound, "404"},
		{"upgrade refused by the balancer", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}, http.StatusBadGateway, "502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/", app)
			mux.Handle("GET /ws", tt.ws)
			srv := startProxyServer(t, mux)
			users := population(t, 9, config(3, "203.0.113.0/24"))
			r := runJourney(t, srv.addr, users, wsJourney(2, 2))
			for _, u := range users {
				evs := r.byUser[u.ID]
				assert.Equal(t, "ws1 p1 ws2 p2", journeySteps(evs), "user %d: a failed connection does not stop the pages", u.ID)
				for _, e := range wsEvents(evs) {
					assert.Equal(t, events.OutcomeError, e.Outcome)
					assert.Equal(t, tt.status, e.Status)
					assert.Contains(t, e.Error, tt.errPart)
				}
			}
			assert.Equal(t, int64(3*7), r.stats.Sent)
			rep := reports.Compute(events.Meta{Users: 3}, r.evs)
			require.NotNil(t, rep.WebSocket)
			assert.Equal(t, reports.WebSocket{Connections: 6, Errors: 6}, *rep.WebSocket, "errors are not reconnects")
			assert.Equal(t, 6, rep.Totals.Errors)
		})
	}
}
