package clients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// ingress stands in for a live deployment's ingress in front of the fake app: it remembers the X-Forwarded-For
// each request carried, names a pod in a header the way an ingress that tried two upstreams does ("first, last"),
// and sets an affinity cookie naming it on the first answer only, as a balancer that pins a user does.
type ingress struct {
	mu        sync.Mutex
	forwarded map[string]int // X-Forwarded-For value -> requests
}

func (g *ingress) wrap(app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.forwarded[r.Header.Get("X-Forwarded-For")]++
		g.mu.Unlock()
		w.Header().Set("X-Pod", "10.0.0.9:80, pod-b")
		if _, err := r.Cookie("LB"); err != nil {
			http.SetCookie(w, &http.Cookie{Name: "LB", Value: "pod-b", Path: "/"})
		}
		app.ServeHTTP(w, r)
	})
}

func runAgainst(t *testing.T, url string, users []clients.User, opts clients.RunOptions) []events.Event {
	t.Helper()
	var mu sync.Mutex
	var evs []events.Event
	opts.Concurrency, opts.Timeout = 4, 10*time.Second
	_, err := clients.Run(context.Background(), url, users, fakeAppJourney(2, 0), (func(e events.Event) {
		mu.Lock()
		evs = append(evs, e)
		mu.Unlock()
	}), opts)
	require.NoError(t, err)
	return evs
}

func TestLiveTargetIdentityAndAttribution(t *testing.T) {
	g := &ingress{forwarded: map[string]int{}}
	srv := httptest.NewServer(g.wrap(fakeapp.New(fakeapp.Config{Name: "app-help"})))
	defer srv.Close()
	users := population(t, 5, config(6, "203.0.113.0/24"))

	t.Run("x-forwarded-for and a header", func(t *testing.T) {
		evs := runAgainst(t, srv.URL, users, clients.RunOptions{ForwardedFor: true,
			Attribution: clients.Attribution{Header: "X-Pod"}})
		require.Len(t, evs, 6*5, "three login exchanges and two pages per user")
		for _, e := range evs {
			assert.Equal(t, "pod-b", e.Replica, "the last upstream the header names, not the app's X-Replica")
			assert.Equal(t, events.OutcomeOK, e.Outcome)
		}
		for _, u := range users {
			assert.Equal(t, 5, g.forwarded[u.Addr.String()], "user %d's address in X-Forwarded-For", u.ID)
		}
	})
	t.Run("none and a cookie", func(t *testing.T) {
		g.forwarded = map[string]int{}
		evs := runAgainst(t, srv.URL, users, clients.RunOptions{Anonymous: true,
			Attribution: clients.Attribution{Cookie: "LB"}})
		for _, e := range evs {
			assert.Equal(t, "pod-b", e.Replica, "the cookie the answer set, then the one the request carried")
		}
		assert.Equal(t, map[string]int{"": 6 * 5}, g.forwarded, "no address sent")
	})
	t.Run("nothing names the replica", func(t *testing.T) {
		for _, e := range runAgainst(t, srv.URL, users, clients.RunOptions{Anonymous: true, Attribution: clients.Attribution{None: true}}) {
			assert.Empty(t, e.Replica)
		}
	})
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string][2]string{
		"127.0.0.1:8080":           {"http://127.0.0.1:8080", "127.0.0.1:8080"},
		"http://staging.example":   {"http://staging.example", "staging.example:80"},
		"https://staging.example/": {"https://staging.example", "staging.example:443"},
		"http://[::1]:9000":        {"http://[::1]:9000", "[::1]:9000"},
	} {
		base, dial, err := clients.ParseTarget(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]string{base.String(), dial}, in)
	}
	for _, bad := range []string{"ftp://x", "http://", "://nothing"} {
		_, _, err := clients.ParseTarget(bad)
		assert.ErrorContains(t, err, "is not host:port or an http(s) URL", bad)
	}
	_, _, err := clients.ParseTarget("https://staging.example/app")
	assert.ErrorContains(t, err, "has a path")
}
