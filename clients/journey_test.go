package clients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
	"github.com/sessionlab/sessionlab/reports"
)

// rotation is a balancer in miniature: it hands each request to the next handler of its cycle, whoever sent it.
// A handler may appear more than once (a weight).
type rotation struct {
	cycle []http.Handler
	n     atomic.Uint64
}

func (r *rotation) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.cycle[(r.n.Add(1)-1)%uint64(len(r.cycle))].ServeHTTP(w, req)
}

// roundRobin alternates between a and b per request.
func roundRobin(a, b http.Handler) http.Handler { return &rotation{cycle: []http.Handler{a, b}} }

// fakeAppJourney is the fake app's journey (a scenario's zero journey), opening pages pages and logging in again
// up to relogin times.
func fakeAppJourney(pages, relogin int) clients.Journey {
	return clients.Journey{Pages: pages, Relogin: relogin, WSPath: "/ws", UserName: "user{{.ID}}", Password: "secret",
		LoginFormPath: "/login", LoginMethod: http.MethodPost,
		LoginForm:     map[string]string{"username": "{{.User}}", "password": "{{.Password}}"},
		SuccessStatus: http.StatusOK, PagePaths: []string{"/page/{{.Page}}"},
		LoggedOutPaths: []string{"/login"}, LoggedOutStatus: []int{http.StatusUnauthorized},
		Logout: clients.Request{Method: http.MethodPost, Path: "/logout"}}
}

// run is one clients.Run with everything it recorded.
type run struct {
	stats  clients.Stats
	evs    []events.Event
	byUser map[int][]events.Event
}

// runJourney runs users through j against target, one user at a time so that a rotation hands each user the same
// replicas on every run, and checks that every request sent was recorded exactly once.
func runJourney(t *testing.T, target string, users []clients.User, j clients.Journey) run {
	t.Helper()
	var mu sync.Mutex
	var r run
	sink := (func(e events.Event) {
		mu.Lock()
		r.evs = append(r.evs, e)
		mu.Unlock()
	})
	st, err := clients.Run(context.Background(), target, users, j, sink, clients.RunOptions{Concurrency: 1, Timeout: 10 * time.Second})
	require.NoError(t, err)
	r.stats = st
	assert.Equal(t, st.Sent, st.Recorded, "sent vs recorded")
	assert.Equal(t, st.Recorded, int64(len(r.evs)), "recorded vs collected")
	assert.Equal(t, len(users), st.Users)
	r.byUser = make(map[int][]events.Event)
	for _, e := range r.evs {
		r.byUser[e.User] = append(r.byUser[e.User], e)
	}
	return r
}

// outcomes counts the events of step (any step when "") by method ("" for any) and outcome.
func outcomes(evs []events.Event, stp, method string) map[string]int {
	out := make(map[string]int)
	for _, e := range evs {
		if (stp == "" || e.Step == stp) && (method == "" || e.Method == method) {
			out[e.Outcome]++
		}
	}
	return out
}

func TestFormCSRFJourney(t *testing.T) {
	t.Run("one replica: the POST carries the token", func(t *testing.T) {
		app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF, Name: "replica-1"})
		var withToken atomic.Int64
		srv := startProxyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.PostFormValue("csrf_token") != "" { // the fake app's hidden field
				withToken.Add(1)
			}
			app.ServeHTTP(w, r)
		}))
		users := population(t, 3, config(8, "203.0.113.0/24"))
		r := runJourney(t, srv.addr, users, fakeAppJourney(2, 0))
		assert.Equal(t, int64(8), withToken.Load(), "every POST carries the form's hidden token")

		want := append(loginSteps(1, events.OutcomeOK),
			step{events.StepPage, 0, http.MethodGet, "/page/1", events.OutcomeOK},
			step{events.StepPage, 0, http.MethodGet, "/page/2", events.OutcomeOK})
		for _, u := range users {
			assert.Equal(t, want, steps(r.byUser[u.ID]), "user %d", u.ID)
			post := r.byUser[u.ID][1]
			assert.Equal(t, http.StatusFound, post.Status, "user %d: a POST without the token is answered 403", u.ID)
			assert.Equal(t, "/", post.Location)
		}
		assert.Zero(t, outcomes(r.evs, "", "")[events.OutcomeCSRF])
		_, requests := srv.seenAddrs()
		assert.Equal(t, 8*5, requests)
	})

	t.Run("two replicas with their own memory: the POST lands where the token is unknown", func(t *testing.T) {
		a := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF, Name: "replica-a"})
		b := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF, Name: "replica-b"})
		srv := startProxyServer(t, roundRobin(a, b))
		users := population(t, 3, config(6, "203.0.113.0/24"))
		r := runJourney(t, srv.addr, users, fakeAppJourney(2, 1))

		// Each attempt is two requests, so the form always comes from replica-a and the POST goes to replica-b.
		csrf := func(attempt int) []step {
			return []step{
				{events.StepLogin, attempt, http.MethodGet, "/login", events.OutcomeOK},
				{events.StepLogin, attempt, http.MethodPost, "/login", events.OutcomeCSRF},
			}
		}
		for _, u := range users {
			evs := r.byUser[u.ID]
			assert.Equal(t, append(csrf(1), csrf(2)...), steps(evs), "user %d gives up after its relogin", u.ID)
			for _, e := range evs {
				if e.Method == http.MethodPost {
					assert.Equal(t, http.StatusForbidden, e.Status)
					assert.Equal(t, "replica-b", e.Replica)
				} else {
					assert.Equal(t, "replica-a", e.Replica)
				}
			}
		}
		assert.Equal(t, map[string]int{events.OutcomeCSRF: 12}, outcomes(r.evs, events.StepLogin, http.MethodPost))
	})
}

// idp starts the fake identity provider on a plain server: browsers reach it directly, not through the balancer.
func idp(t *testing.T, key []byte) *url.URL {
	t.Helper()
	p, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: key})
	require.NoError(t, err)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u
}

// exchange is the part of an event that says where a request went and what came back.
type exchange struct {
	Step, Method, Host, Path string
	Status                   int
	Replica, Outcome         string
}

func exchanges(evs []events.Event) []exchange {
	out := make([]exchange, len(evs))
	for i, e := range evs {
		out[i] = exchange{e.Step, e.Method, e.Host, e.Path, e.Status, e.Replica, e.Outcome}
	}
	return out
}

// ssoReplica is one replica whose login goes through the identity provider at idpURL.
func ssoReplica(idpURL *url.URL, key []byte, cfg fakeapp.Config) *fakeapp.App {
	cfg.Login, cfg.IdPURL, cfg.IdPKey = fakeapp.LoginSSO, idpURL.String(), key
	return fakeapp.New(cfg)
}

var idpKey = []byte("the identity provider's key, held by every app")

func TestSSOJourneyOneReplica(t *testing.T) {
	idpURL := idp(t, idpKey)
	srv := startProxyServer(t, ssoReplica(idpURL, idpKey, fakeapp.Config{Name: "replica-1"}))
	users := population(t, 5, config(6, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, fakeAppJourney(3, 0))

	const get, post = http.MethodGet, http.MethodPost
	idpHost := idpURL.Host
	want := []exchange{
		{events.StepLogin, get, "", "/login", http.StatusFound, "replica-1", events.OutcomeOK},
		{events.StepLogin, get, idpHost, "/authorize", http.StatusOK, "", events.OutcomeOK},
		{events.StepLogin, post, idpHost, "/login", http.StatusFound, "", events.OutcomeOK},
		{events.StepLogin, get, "", "/oauth2/callback", http.StatusFound, "replica-1", events.OutcomeOK},
		{events.StepLogin, get, "", "/", http.StatusOK, "replica-1", events.OutcomeOK},
		{events.StepPage, get, "", "/page/1", http.StatusOK, "replica-1", events.OutcomeOK},
		{events.StepPage, get, "", "/page/2", http.StatusOK, "replica-1", events.OutcomeOK},
		{events.StepPage, get, "", "/page/3", http.StatusOK, "replica-1", events.OutcomeOK},
	}
	for _, u := range users {
		evs := r.byUser[u.ID]
		assert.Equal(t, want, exchanges(evs), "user %d", u.ID)
		require.Len(t, evs, len(want))
		assert.Equal(t, "//"+idpHost+"/authorize", evs[0].Location, "the app sends the browser to the identity provider")
		assert.Equal(t, "/oauth2/callback", evs[2].Location, "the provider sends it back through the balancer")
	}
	// The balancer saw only the app's requests: the browser went to the identity provider directly.
	_, requests := srv.seenAddrs()
	assert.Equal(t, 6*6, requests)
	assert.Equal(t, int64(6*8), r.stats.Sent)

	rep := reports.Compute(events.Meta{Users: 6, Replicas: []string{"replica-1"}}, r.evs)
	assert.Equal(t, 6, rep.Totals.LoginAttempts)
	assert.Zero(t, rep.Totals.LoginFailures)
	assert.Zero(t, rep.Totals.SilentReauths)
	assert.Equal(t, 6*6, rep.Replicas[0].Requests, "exchanges with the identity provider are served by no replica")
}

func TestSSOJourneyTwoReplicas(t *testing.T) {
	idpURL := idp(t, idpKey)
	// OAuth2-Proxy's report: one Redis for sessions and states, but each instance with its own cookie secret and
	// cookie name, so neither can use the other's cookie and each re-authenticates silently.
	store := fakeapp.NewMemoryStore()
	replica := func(name string) *fakeapp.App {
		return ssoReplica(idpURL, idpKey, fakeapp.Config{Name: name, Store: store, StateStore: store,
			Secret: []byte("secret of " + name), CookieName: "sid-" + name})
	}
	a, b := replica("a"), replica("b")
	const pages = 4

	t.Run("every page goes to the identity provider and comes back without a prompt", func(t *testing.T) {
		// a has weight 2: one user at a time, each round trip through the provider (the page, the callback, the
		// page again) takes three requests, so every user meets b, which never holds its session, on every page.
		srv := startProxyServer(t, &rotation{cycle: []http.Handler{a, a, b}})
		users := population(t, 5, config(4, "203.0.113.0/24"))
		r := runJourney(t, srv.addr, users, fakeAppJourney(pages, 0))

		for _, u := range users {
			evs := r.byUser[u.ID]
			reauths := 0
			for i, e := range evs {
				if e.Step != events.StepPage {
					continue
				}
				assert.Contains(t, []string{events.OutcomeOK, events.OutcomeReauth}, e.Outcome, "user %d %s", u.ID, e.Path)
				if e.Outcome != events.OutcomeReauth {
					continue
				}
				reauths++
				assert.Equal(t, "//"+idpURL.Host+"/authorize", e.Location)
				// The re-authentication: the provider (no prompt), the app's callback, the page again.
				require.Greater(t, len(evs), i+3, "user %d", u.ID)
				assert.Equal(t, []exchange{
					{events.StepReauth, http.MethodGet, idpURL.Host, "/authorize", http.StatusFound, "", events.OutcomeOK},
					{events.StepReauth, http.MethodGet, "", "/oauth2/callback", http.StatusFound, "a", events.OutcomeOK},
					{events.StepReauth, http.MethodGet, "", e.Path, http.StatusOK, "a", events.OutcomeOK},
				}, exchanges(evs[i+1:i+4]), "user %d %s", u.ID, e.Path)
				assert.Equal(t, 1, evs[i+1].Attempt, "a re-authentication belongs to the user's login attempt")
			}
			assert.Equal(t, pages, reauths, "user %d", u.ID)
			assert.Equal(t, map[string]int{events.OutcomeOK: 1}, outcomes(evs, events.StepLogin, http.MethodPost), "user %d", u.ID)
		}

		rep := reports.Compute(events.Meta{Users: 4, Replicas: []string{"a", "b"}}, r.evs)
		tot := rep.Totals
		assert.Equal(t, 4, tot.LoginAttempts)
		assert.Zero(t, tot.LoginFailures, "no visible failure")
		assert.Equal(t, 4*pages, tot.SilentReauths)
		assert.Equal(t, 4*pages, tot.PageRequests)
		assert.Zero(t, tot.SessionLosses)
		assert.InDelta(t, 0, figure(t, tot.SessionLoss), 0)
	})

	t.Run("strict alternation never lands the callback where the page is asked for", func(t *testing.T) {
		// Two requests per round trip: the callback always reaches one replica, the page always the other, until
		// the browser gives up after MaxRedirects.
		srv := startProxyServer(t, roundRobin(a, b))
		users := population(t, 5, config(3, "203.0.113.0/24"))
		j := fakeAppJourney(pages, 0)
		j.MaxRedirects = 8
		r := runJourney(t, srv.addr, users, j)
		for _, u := range users {
			evs := r.byUser[u.ID]
			require.Len(t, evs, 3+j.MaxRedirects, "user %d: form, submission, then MaxRedirects hops", u.ID)
			served := map[string]map[string]bool{}
			for _, e := range evs {
				if e.Host == "" {
					if served[e.Path] == nil {
						served[e.Path] = map[string]bool{}
					}
					served[e.Path][e.Replica] = true
				}
			}
			require.Len(t, served["/oauth2/callback"], 1, "user %d: every callback on one replica", u.ID)
			require.Len(t, served["/"], 1, "user %d: every home page on one replica", u.ID)
			assert.NotEqual(t, served["/oauth2/callback"], served["/"], "user %d", u.ID)
			last := evs[len(evs)-1]
			assert.Equal(t, exchange{events.StepLogin, http.MethodGet, "", "/", http.StatusFound, last.Replica, events.OutcomeError},
				exchanges(evs[len(evs)-1:])[0], "user %d: the last redirect allowed is not followed", u.ID)
			assert.Empty(t, outcomes(evs, events.StepPage, ""), "user %d opens no page", u.ID)
		}
		rep := reports.Compute(events.Meta{Users: 3}, r.evs)
		assert.Equal(t, 3, rep.Totals.LoginFailures)
		assert.Equal(t, 3, rep.FailureCauses[events.OutcomeError])
	})
}

// figure dereferences a figure that must have been computed.
func figure(t *testing.T, v *float64) float64 {
	t.Helper()
	require.NotNil(t, v, "figure is null")
	return *v
}
