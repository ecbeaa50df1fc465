package fakeapp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

var counters = []string{
	contract.MetricSessionsCreated, contract.MetricLogins, contract.MetricSilentReauths,
	contract.MetricCSRFRefusals, contract.MetricBadCookies, "sessionlab_ws_connections_total",
}

func TestMetricsText(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{})
	resp := serve(t, app, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	body := bodyOf(t, resp)
	for _, name := range counters {
		assert.Contains(t, body, "# TYPE "+name+" counter\n")
		assert.Contains(t, body, "\n"+name+" 0\n", "a fresh replica counts zero")
	}
	assert.Contains(t, body, "# TYPE "+contract.MetricSessionsActive+" gauge\n")
}

func TestMetricsCountSessions(t *testing.T) {
	store := fakeapp.NewMemoryStore()
	app := fakeapp.New(fakeapp.Config{Store: store})
	var sids []*http.Cookie
	for _, user := range []string{"user1", "user2", "user3"} {
		sids = append(sids, login(t, app, user, "sid"))
	}
	assertBounced(t, serve(t, app, http.MethodPost, "/logout", nil, sids[0]))
	require.NoError(t, store.Save(context.Background(), "planted", []byte("{}"), time.Hour))

	m := scrape(t, app)
	assert.Equal(t, 3.0, m[contract.MetricSessionsActive], "two sessions left, plus the planted record: the gauge asks the store")
	assert.Equal(t, 3.0, m[contract.MetricSessionsCreated])
	assert.Equal(t, 3.0, m[contract.MetricLogins])
	assert.Zero(t, m[contract.MetricBadCookies])
}

func TestMetricsStatelessHasNoActiveSessions(t *testing.T) {
	store := fakeapp.NewMemoryStore()
	app := fakeapp.New(fakeapp.Config{Stateless: true, Store: store})
	login(t, app, "user1", "sid")

	m := scrape(t, app)
	assert.NotContains(t, m, contract.MetricSessionsActive, "a stateless replica holds no sessions to count")
	assert.Equal(t, 1.0, m[contract.MetricSessionsCreated])
	assertLen(t, store, 0) // the session went into the cookie, not into the store
}

// flakyStore is a memory store that fails on demand, the way a Redis that went away does.
type flakyStore struct {
	fakeapp.Store
	down atomic.Bool
}

var errStoreDown = errors.New("store is down")

func (s *flakyStore) Save(ctx context.Context, id string, v []byte, ttl time.Duration) error {
	if s.down.Load() {
		return errStoreDown
	}
	return s.Store.Save(ctx, id, v, ttl)
}

func (s *flakyStore) Load(ctx context.Context, id string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, errStoreDown
	}
	return s.Store.Load(ctx, id)
}

func (s *flakyStore) Len(ctx context.Context) (int, error) {
	if s.down.Load() {
		return 0, errStoreDown
	}
	return s.Store.Len(ctx)
}

// TestStoreDown: a store that cannot answer makes a 500 that says why, logged, never a made-up answer.
func TestStoreDown(t *testing.T) {
	var logs bytes.Buffer
	store := &flakyStore{Store: fakeapp.NewMemoryStore()}
	app := fakeapp.New(fakeapp.Config{Store: store, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	csrf := fakeapp.New(fakeapp.Config{Store: store, Login: fakeapp.LoginFormCSRF})
	sid := login(t, app, "user1", "sid")
	store.down.Store(true)

	creds := url.Values{"username": {"user1"}, "password": {"secret"}}
	tests := []struct {
		name, method, path string
		app                *fakeapp.App
		form               url.Values
		cookie             *http.Cookie
		want               string
	}{
		{"protected page", http.MethodGet, "/page/1", app, nil, sid, "look up session"},
		{"login", http.MethodPost, "/login", app, creds, nil, "create session"},
		{"login with a cookie", http.MethodPost, "/login", app, creds, sid, "read session"},
		{"logout", http.MethodPost, "/logout", app, nil, sid, "delete session"},
		{"csrf form", http.MethodGet, "/login", csrf, nil, nil, "keep pre-login session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tt.cookie != nil {
				cookies = append(cookies, tt.cookie)
			}
			resp := serve(t, tt.app, tt.method, tt.path, tt.form, cookies...)
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			assert.Equal(t, tt.want+": "+errStoreDown.Error()+"\n", bodyOf(t, resp))
		})
	}
	assert.Contains(t, logs.String(), `msg="look up session" err="store is down"`)

	resp := serve(t, app, http.MethodGet, "/metrics", nil)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "no sessions_active rather than a wrong one")
	assert.Contains(t, bodyOf(t, resp), errStoreDown.Error())

	store.down.Store(false)
	resp = serve(t, app, http.MethodGet, "/", nil, sid)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the session outlives the outage")
	assert.True(t, strings.HasPrefix(bodyOf(t, resp), "Hello user1"))
}
