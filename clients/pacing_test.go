package clients_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

func TestPopulationPacing(t *testing.T) {
	cfg := config(2000, "198.18.0.0/15")
	cfg.MinPages, cfg.MaxPages = 2, 6
	cfg.Logout = 0.25
	cfg.Rate, cfg.Poisson = 100, true
	users := population(t, 4, cfg)
	assert.Equal(t, users, population(t, 4, cfg), "pages, logouts and arrivals derive from the seed")

	counts := map[int]int{}
	logouts := 0
	seeds := map[uint64]bool{}
	for i, u := range users {
		counts[u.Pages]++
		if u.Logout {
			logouts++
		}
		seeds[u.Seed] = true
		if i > 0 {
			assert.GreaterOrEqual(t, u.Start, users[i-1].Start, "users arrive in order")
		}
	}
	for n := 2; n <= 6; n++ {
		assert.InDelta(t, 400, counts[n], 80, "%d pages drawn about as often as the others", n)
	}
	assert.Len(t, counts, 5, "pages stay in 2..6")
	assert.Equal(t, 500, logouts)
	assert.Len(t, seeds, 2000, "every user its own seed")
	mean := users[len(users)-1].Start.Seconds() / float64(len(users)-1)
	assert.InDelta(t, 0.01, mean, 0.001, "Poisson gaps average 1/rate")

	cfg.Rate, cfg.Poisson = 50, false
	fixed := population(t, 4, cfg)
	assert.Equal(t, 20*time.Millisecond, fixed[1].Start)
	assert.Equal(t, 20*time.Millisecond*1999, fixed[1999].Start)
	cfg.Rate = 0
	for _, u := range population(t, 4, cfg) {
		require.Zero(t, u.Start, "all at once by default")
	}
}

func TestJourneyPacing(t *testing.T) {
	srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
	cfg := config(6, "198.51.100.0/24")
	cfg.MinPages, cfg.MaxPages = 1, 4
	cfg.Logout = 0.5
	cfg.Rate = 20
	users := population(t, 3, cfg)
	j := fakeAppJourney(cfg.MinPages, 0)
	j.Think = func(*rand.Rand) time.Duration { return 30 * time.Millisecond }
	byUser, err := runUsers(t, context.Background(), srv.addr, users, j, 6)
	require.NoError(t, err)
	for _, u := range users {
		evs := byUser[u.ID]
		require.NotEmpty(t, evs)
		assert.GreaterOrEqual(t, evs[0].TMs, u.Start.Milliseconds(), "user %d starts when it arrives", u.ID)
		var pages []events.Event
		var logout []events.Event
		for _, e := range evs {
			switch e.Step {
			case events.StepPage:
				pages = append(pages, e)
			case events.StepLogout:
				logout = append(logout, e)
			}
		}
		assert.Len(t, pages, u.Pages, "user %d opens its own number of pages", u.ID)
		for i := 1; i < len(pages); i++ {
			assert.GreaterOrEqual(t, pages[i].TMs-pages[i-1].TMs, int64(29), "user %d thinks 30ms before each page", u.ID)
		}
		if u.Logout {
			require.Len(t, logout, 1, "user %d logs out", u.ID)
			assert.Equal(t, http.MethodPost, logout[0].Method)
			assert.Equal(t, events.OutcomeOK, logout[0].Outcome)
			assert.Equal(t, logout[0], evs[len(evs)-1], "last")
		} else {
			assert.Empty(t, logout, "user %d stays logged in", u.ID)
		}
	}
}
