package reports_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// formLogin is one login attempt through a form: the form, the accepted POST on replica, the home page on home with
// the home page's outcome.
func formLogin(user, attempt int, replica, home, outcome string) []events.Event {
	get := login(user, attempt, http.MethodGet, "/login", replica, events.OutcomeOK)
	get.Status = http.StatusOK
	post := login(user, attempt, http.MethodPost, "/login", replica, events.OutcomeOK)
	post.Status = http.StatusFound
	landing := login(user, attempt, http.MethodGet, "/", home, outcome)
	landing.Status = http.StatusOK
	if outcome != events.OutcomeOK {
		landing.Status = http.StatusFound
	}
	return []events.Event{get, post, landing}
}

func seq(parts ...[]events.Event) []events.Event {
	var out []events.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func pages(user int, replicaOutcomes ...string) []events.Event {
	var out []events.Event
	for i := 0; i+1 < len(replicaOutcomes); i += 2 {
		e := page(user, "/page/x", replicaOutcomes[i], replicaOutcomes[i+1])
		e.Status = http.StatusOK
		out = append(out, e)
	}
	return out
}

func TestLoginLoopsAffectedUsersAndStickiness(t *testing.T) {
	r1, r2 := "replica-1", "replica-2"
	ok, loss, loop := events.OutcomeOK, events.OutcomeLoss, events.OutcomeLoop
	tests := []struct {
		name               string
		evs                []events.Event
		loop, affected     int
		stickyUsers, atOne int
		mean               float64
	}{
		{"all on the creator", seq(formLogin(1, 1, r1, r1, ok), pages(1, r1, ok, r1, ok)), 0, 0, 1, 1, 1},
		{"two loops in a row", seq(formLogin(1, 1, r1, r2, loop), formLogin(1, 2, r2, r1, loop)), 1, 1, 0, 0, 0},
		{"a loop, then a loss on the very next page", seq(formLogin(1, 1, r1, r2, loop), formLogin(1, 2, r2, r2, ok), pages(1, r1, loss)),
			1, 1, 1, 0, 0},
		{"one bounce only", seq(formLogin(1, 1, r1, r2, loop), formLogin(1, 2, r2, r2, ok), pages(1, r2, ok, r1, loss)),
			0, 1, 1, 0, 0.5},
		{"a loss later than the next page is no login loop", seq(formLogin(1, 1, r1, r1, ok), pages(1, r1, ok, r2, loss),
			formLogin(1, 2, r2, r2, ok), pages(1, r1, loss)), 0, 1, 1, 0, 1.0 / 3},
		{"a refused form breaks the run", seq(formLogin(1, 1, r1, r2, loop),
			[]events.Event{login(1, 2, http.MethodPost, "/login", r1, events.OutcomeCSRF)}, formLogin(1, 3, r1, r2, loop)), 0, 1, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := reports.Compute(meta(r1, r2), tt.evs)
			assert.Equal(t, tt.loop, rep.Totals.UsersInLoginLoop, "users in a login loop")
			assert.Equal(t, tt.affected, rep.Totals.AffectedUsers, "affected users")
			assert.Equal(t, tt.stickyUsers, rep.Stickiness.Users)
			assert.Equal(t, tt.atOne, rep.Stickiness.UsersAtOne)
			if tt.stickyUsers > 0 {
				assert.InDelta(t, tt.mean, figure(t, rep.Stickiness.Mean), 1e-9)
			} else {
				assert.Nil(t, rep.Stickiness.Mean)
			}
		})
	}
}
