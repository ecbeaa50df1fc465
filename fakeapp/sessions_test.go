package fakeapp_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// TestCookieSessions: a session sealed whole in the cookie (Wakapi, caddy-security) holds on every replica with
// the secret, and on no other.
func TestCookieSessions(t *testing.T) {
	secret := []byte("shared")
	tests := []struct {
		name      string
		a, b      fakeapp.Config
		accepted  bool
		clearedOn bool // b answers the cookie by clearing it
	}{
		{"shared secret", fakeapp.Config{Secret: secret}, fakeapp.Config{Secret: secret}, true, false},
		{"own secrets", fakeapp.Config{}, fakeapp.Config{}, false, false},
		{"own secrets, clear bad cookie", fakeapp.Config{}, fakeapp.Config{ClearBadCookie: true}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.a.Name, tt.a.Stateless, tt.b.Name, tt.b.Stateless = "replica-a", true, "replica-b", true
			a, b := fakeapp.New(tt.a), fakeapp.New(tt.b)
			br := newBrowser(t)
			require.Equal(t, http.StatusFound, br.login(a, "user3", nil).StatusCode)

			resp := br.do(b, http.MethodGet, "/page/2", nil)
			if tt.accepted {
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "Page 2 for user3, served by replica-b\n", bodyOf(t, resp))
				assert.Equal(t, 0.0, metric(t, b, contract.MetricBadCookies))
				return
			}
			assertBounced(t, resp)
			assert.Equal(t, 1.0, metric(t, b, contract.MetricBadCookies))
			cleared := cookieNamed(resp, "sid")
			if !tt.clearedOn {
				assert.Nil(t, cleared, "without ClearBadCookie the cookie is left alone")
				assert.Equal(t, http.StatusOK, br.do(a, http.MethodGet, "/", nil).StatusCode, "the first replica still accepts it")
				return
			}
			require.NotNil(t, cleared, "ClearBadCookie must answer with a Set-Cookie")
			assert.Negative(t, cleared.MaxAge)
			assert.Empty(t, cleared.Value)
			// Wakapi's loop: the browser lost its good cookie too, so the first replica turns it away as well.
			assertBounced(t, br.do(a, http.MethodGet, "/", nil))
		})
	}
}

func TestCookieSessionTampered(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Stateless: true})
	sid := login(t, app, "user3", "sid")
	tampered := &http.Cookie{Name: "sid", Value: flipByte(t, sid.Value, 20)}
	assertBounced(t, serve(t, app, http.MethodGet, "/", nil, tampered))
	assert.Equal(t, 1.0, metric(t, app, contract.MetricBadCookies))
	assert.Equal(t, http.StatusOK, serve(t, app, http.MethodGet, "/", nil, sid).StatusCode)
}

// TestTicketReuse replays OAuth2-Proxy's record growth: two replicas on one shared store, a browser bouncing
// between them. A cookie a replica opens keeps its ticket; any other makes a new record the first replica cannot
// remove.
func TestTicketReuse(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) func(prefix string) fakeapp.Store
	}{
		{"memory", func(*testing.T) func(string) fakeapp.Store {
			return func(string) fakeapp.Store { return fakeapp.NewMemoryStore() }
		}},
		{"redis", func(t *testing.T) func(string) fakeapp.Store {
			rdb := startRedis(t)
			return func(prefix string) fakeapp.Store { return fakeapp.NewRedisStore(rdb, prefix) }
		}},
	}
	secret := []byte("shared")
	tests := []struct {
		name string
		a, b fakeapp.Config
		want []int // records after each visit, alternating a, b, a, …
	}{
		{"own secrets, same cookie name", fakeapp.Config{}, fakeapp.Config{}, []int{1, 2, 3, 4, 5, 6}},
		{"own secrets, own cookie names", fakeapp.Config{CookieName: "sid_a"}, fakeapp.Config{CookieName: "sid_b"}, []int{1, 2, 2, 2, 2, 2}},
		{"shared secret", fakeapp.Config{Secret: secret}, fakeapp.Config{Secret: secret}, []int{1, 1, 1, 1, 1, 1}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			newStore := st.open(t)
			for _, tt := range tests {
				for _, always := range []bool{false, true} {
					name := tt.name + ", log in when sent to"
					if always {
						name = tt.name + ", log in every visit"
					}
					t.Run(name, func(t *testing.T) {
						store := newStore(contract.RedisKeyPrefix + "session:" + t.Name() + ":")
						tt.a.Store, tt.b.Store = store, store
						bounce(t, store, [2]*fakeapp.App{fakeapp.New(tt.a), fakeapp.New(tt.b)}, always, tt.want)
					})
				}
			}
		})
	}
}

// bounce visits the replicas in turn, logging in when sent to (or on every visit), and checks the record count.
func bounce(t *testing.T, store fakeapp.Store, replicas [2]*fakeapp.App, always bool, want []int) {
	t.Helper()
	br := newBrowser(t)
	for i, records := range want {
		app := replicas[i%2]
		if always || br.do(app, http.MethodGet, "/", nil).StatusCode != http.StatusOK {
			require.Equal(t, http.StatusFound, br.login(app, "user4", nil).StatusCode)
		}
		require.Equal(t, http.StatusOK, br.do(app, http.MethodGet, "/", nil).StatusCode, "visit %d", i+1)
		n, err := store.Len(context.Background())
		require.NoError(t, err)
		assert.Equal(t, records, n, "records after visit %d", i+1)
	}
}

// TestIdleTimeout runs on synctest's clock: exact, and no test waits for real.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	tests := []struct {
		name      string
		stateless bool
	}{
		{"server-side", false},
		{"cookie", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := fakeapp.NewMemoryStore()
				app := fakeapp.New(fakeapp.Config{IdleTimeout: idle, SessionTTL: 2 * time.Second, Stateless: tt.stateless, Store: store})

				unused := newBrowser(t)
				require.Equal(t, http.StatusFound, unused.login(app, "user1", nil).StatusCode)
				used := newBrowser(t)
				require.Equal(t, http.StatusFound, used.login(app, "user2", nil).StatusCode)
				for range 5 { // 1s in all, far past the idle time, but never idle for it
					time.Sleep(idle * 2 / 3)
					require.Equal(t, http.StatusOK, used.do(app, http.MethodGet, "/", nil).StatusCode, "a session in use slides on")
				}
				assertBounced(t, unused.do(app, http.MethodGet, "/", nil))

				time.Sleep(idle)
				assertBounced(t, used.do(app, http.MethodGet, "/", nil))
				assert.Equal(t, 0.0, metric(t, app, contract.MetricBadCookies), "an idle session is gone, not bad")
				if !tt.stateless {
					assertLen(t, store, 0)
				}
			})
		})
	}
}

// TestIdleTimeoutKeepsTheLifetime: using a session does not make it outlive SessionTTL.
func TestIdleTimeoutKeepsTheLifetime(t *testing.T) {
	for _, tt := range []struct {
		name      string
		stateless bool
	}{{"server-side", false}, {"cookie", true}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				app := fakeapp.New(fakeapp.Config{IdleTimeout: 300 * time.Millisecond, SessionTTL: time.Second, Stateless: tt.stateless})
				br := newBrowser(t)
				require.Equal(t, http.StatusFound, br.login(app, "user1", nil).StatusCode)
				for range 4 {
					time.Sleep(200 * time.Millisecond)
					require.Equal(t, http.StatusOK, br.do(app, http.MethodGet, "/", nil).StatusCode)
				}
				time.Sleep(200 * time.Millisecond)
				assertBounced(t, br.do(app, http.MethodGet, "/", nil))
			})
		})
	}
}

// TestIdleTimeoutRedis checks that Redis holds the idle time, not the lifetime, and that each use pushes it out.
func TestIdleTimeoutRedis(t *testing.T) {
	const idle = 500 * time.Millisecond
	rdb := startRedis(t)
	ctx := context.Background()
	store := fakeapp.NewRedisStore(rdb, "s:")
	app := fakeapp.New(fakeapp.Config{IdleTimeout: idle, Store: store})
	br := newBrowser(t)
	require.Equal(t, http.StatusFound, br.login(app, "user1", nil).StatusCode)

	keys, err := rdb.Keys(ctx, "s:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	pttl := func() time.Duration {
		d, err := rdb.PTTL(ctx, keys[0]).Result()
		require.NoError(t, err)
		return d
	}
	assert.LessOrEqual(t, pttl(), idle)

	time.Sleep(300 * time.Millisecond)
	require.Less(t, pttl(), 250*time.Millisecond)
	require.Equal(t, http.StatusOK, br.do(app, http.MethodGet, "/", nil).StatusCode)
	assert.Greater(t, pttl(), 300*time.Millisecond, "a use must push the record's expiry out again")

	time.Sleep(idle + 200*time.Millisecond)
	assertBounced(t, br.do(app, http.MethodGet, "/", nil))
	assertLen(t, store, 0)
}
