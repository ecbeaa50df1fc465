package clients_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/pires/go-proxyproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// proxyServer serves h behind a listener that requires a PROXY protocol header, the way the balancer does, and
// remembers which client addresses the handler saw.
type proxyServer struct {
	addr     string
	mu       sync.Mutex
	seen     map[netip.Addr]int
	requests int
	conns    atomic.Int64 // connections accepted
}

// startProxyServer starts a proxyServer for h; tune, when given, sets its http.Server up further.
func startProxyServer(t testing.TB, h http.Handler, tune ...func(*http.Server)) *proxyServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &proxyServer{addr: ln.Addr().String(), seen: make(map[netip.Addr]int)}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		s.mu.Lock()
		s.requests++
		if err == nil {
			s.seen[ap.Addr()]++
		}
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})}
	for _, f := range tune {
		f(srv)
	}
	go func() { _ = srv.Serve(&proxyproto.Listener{Listener: ln}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *proxyServer) seenAddrs() (map[netip.Addr]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen, s.requests
}

// step is the part of an event a journey decides.
type step struct {
	Step    string
	Attempt int
	Method  string
	Path    string
	Outcome string
}

// runUsers runs users through j against target and returns the events per user, after asserting that every request
// sent was recorded exactly once.
func runUsers(t *testing.T, ctx context.Context, target string, users []clients.User, j clients.Journey, concurrency int) (map[int][]events.Event, error) {
	t.Helper()
	var mu sync.Mutex
	var evs []events.Event
	sink := (func(e events.Event) {
		mu.Lock()
		evs = append(evs, e)
		mu.Unlock()
	})
	st, err := clients.Run(ctx, target, users, j, sink, clients.RunOptions{Concurrency: concurrency, Timeout: 10 * time.Second})
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, st.Sent, st.Recorded, "sent vs recorded")
	assert.Equal(t, st.Recorded, int64(len(evs)), "recorded vs collected")
	byUser := make(map[int][]events.Event)
	for _, e := range evs {
		byUser[e.User] = append(byUser[e.User], e)
	}
	return byUser, err
}

func steps(evs []events.Event) []step {
	out := make([]step, len(evs))
	for i, e := range evs {
		out[i] = step{e.Step, e.Attempt, e.Method, e.Path, e.Outcome}
	}
	return out
}

// loginSteps is one login attempt through the fake app's form, its last exchange (GET /) ending with last.
func loginSteps(attempt int, last string) []step {
	return []step{
		{events.StepLogin, attempt, http.MethodGet, "/login", events.OutcomeOK},
		{events.StepLogin, attempt, http.MethodPost, "/login", events.OutcomeOK},
		{events.StepLogin, attempt, http.MethodGet, "/", last},
	}
}

func TestRunHappyPath(t *testing.T) {
	for _, pool := range []string{"203.0.113.0/24", "2001:db8::/64"} {
		t.Run(pool, func(t *testing.T) {
			srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
			users := population(t, 11, config(20, pool))
			byUser, err := runUsers(t, context.Background(), srv.addr, users, fakeAppJourney(5, 1), 4)
			require.NoError(t, err)

			want := loginSteps(1, events.OutcomeOK)
			for p := 1; p <= 5; p++ {
				want = append(want, step{events.StepPage, 0, http.MethodGet, fmt.Sprintf("/page/%d", p), events.OutcomeOK})
			}
			wantSeen := make(map[netip.Addr]int)
			for _, u := range users {
				evs := byUser[u.ID]
				assert.Equal(t, want, steps(evs), "user %d", u.ID)
				for _, e := range evs {
					assert.Equal(t, u.Addr.String(), e.Addr, "user %d", u.ID)
					assert.Equal(t, "replica-1", e.Replica)
					wantStatus := http.StatusOK
					if e.Method == http.MethodPost {
						wantStatus = http.StatusFound
					}
					assert.Equal(t, wantStatus, e.Status, "user %d %s %s", u.ID, e.Method, e.Path)
				}
				wantSeen[u.Addr] += len(evs)
			}
			seen, requests := srv.seenAddrs()
			assert.Equal(t, wantSeen, seen, "the server must see each user's simulated address")
			assert.Equal(t, 20*8, requests)
		})
	}
}

// serveLoginForm answers with a login form the journey can fill in.
func serveLoginForm(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte(`<form method="post"><input name="username"><input name="password" type="password"></form>`))
}

// bouncer accepts every login, then sends every page back to the login form, as a replica that cannot find the
// session does.
func bouncer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", serveLoginForm)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusFound) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/login", http.StatusFound) })
	return mux
}

func TestRunFailures(t *testing.T) {
	refuse := http.NewServeMux()
	refuse.HandleFunc("GET /login", serveLoginForm)
	refuse.HandleFunc("POST /login", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	broken := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })

	loop := func(a int) []step { return loginSteps(a, events.OutcomeLoop) }
	rejected := func(a int) []step {
		return []step{
			{events.StepLogin, a, http.MethodGet, "/login", events.OutcomeOK},
			{events.StepLogin, a, http.MethodPost, "/login", events.OutcomeRejected},
		}
	}
	tests := []struct {
		name    string
		handler http.Handler
		relogin int
		want    []step
	}{
		{"loop, no relogin", bouncer(), 0, loop(1)},
		{"loop, relogin 2 gives up after 3 attempts", bouncer(), 2, append(append(loop(1), loop(2)...), loop(3)...)},
		{"rejected", refuse, 0, rejected(1)},
		{"rejected, relogin 1", refuse, 1, append(rejected(1), rejected(2)...)},
		{"server error stops the user", broken, 0, []step{{events.StepLogin, 1, http.MethodGet, "/login", events.OutcomeError}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startProxyServer(t, tt.handler)
			users := population(t, 2, config(6, "198.51.100.0/24"))
			byUser, err := runUsers(t, context.Background(), srv.addr, users, fakeAppJourney(3, tt.relogin), 3)
			require.NoError(t, err)
			require.Len(t, byUser, len(users))
			for _, u := range users {
				assert.Equal(t, tt.want, steps(byUser[u.ID]), "user %d", u.ID)
			}
			_, requests := srv.seenAddrs()
			assert.Equal(t, len(users)*len(tt.want), requests)
		})
	}
}

func TestRunServerErrorIsRecorded(t *testing.T) {
	srv := startProxyServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(contract.ReplicaHeader, "replica-3")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	users := population(t, 2, config(1, "198.51.100.0/24"))
	byUser, err := runUsers(t, context.Background(), srv.addr, users, fakeAppJourney(3, 0), 1)
	require.NoError(t, err)
	require.Len(t, byUser[1], 1)
	e := byUser[1][0]
	assert.Equal(t, http.StatusInternalServerError, e.Status)
	assert.Equal(t, "replica-3", e.Replica)
	assert.Equal(t, events.OutcomeError, e.Outcome)
}

func TestRunCancelledBeforeStart(t *testing.T) {
	srv := startProxyServer(t, fakeapp.New(fakeapp.Config{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	byUser, err := runUsers(t, ctx, srv.addr, population(t, 1, config(10, "203.0.113.0/24")), fakeAppJourney(2, 1), 2)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, byUser)
	_, requests := srv.seenAddrs()
	assert.Zero(t, requests)
}

func TestRunBlockedCookiesLoop(t *testing.T) {
	srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
	cfg := config(10, "203.0.113.0/24")
	cfg.CookiesBlocked = 0.5
	users := population(t, 4, cfg)
	byUser, err := runUsers(t, context.Background(), srv.addr, users, fakeAppJourney(2, 0), 5)
	require.NoError(t, err)

	ok := append(loginSteps(1, events.OutcomeOK),
		step{events.StepPage, 0, http.MethodGet, "/page/1", events.OutcomeOK},
		step{events.StepPage, 0, http.MethodGet, "/page/2", events.OutcomeOK})
	blocked := 0
	for _, u := range users {
		if u.BlockCookies {
			blocked++
			assert.Equal(t, loginSteps(1, events.OutcomeLoop), steps(byUser[u.ID]), "user %d keeps no cookie", u.ID)
		} else {
			assert.Equal(t, ok, steps(byUser[u.ID]), "user %d", u.ID)
		}
	}
	assert.Equal(t, 5, blocked)
}

// A user whose pause is longer than the keep-alive lets its connection go before it and opens a new one for the
// next page; a shorter pause keeps it.
func TestKeepAliveLetsIdleConnectionsGo(t *testing.T) {
	for _, c := range []struct {
		name  string
		keep  time.Duration
		conns int64
	}{
		{"pause longer than keep_alive", 20 * time.Millisecond, 2 * (1 + 3)},
		{"pause shorter than keep_alive", time.Second, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
			users, err := clients.Population(1, config(2, "198.18.0.0/15"))
			require.NoError(t, err)
			j := fakeAppJourney(3, 0)
			j.Think = func(*rand.Rand) time.Duration { return 60 * time.Millisecond }
			j.KeepAlive = c.keep
			var failed atomic.Int64
			_, err = clients.Run(context.Background(), srv.addr, users, j, (func(e events.Event) {
				if e.Outcome != events.OutcomeOK {
					failed.Add(1)
				}
			}), clients.RunOptions{Concurrency: 2})
			require.NoError(t, err)
			assert.Zero(t, failed.Load())
			assert.Equal(t, c.conns, srv.conns.Load(), "one connection for the login, then one per page after a long pause")
		})
	}
}
