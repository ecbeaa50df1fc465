package fakeapp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// login posts user's credentials, asserts the accepted answer and returns the session cookie it set.
func login(t *testing.T, h http.Handler, user, cookieName string) *http.Cookie {
	t.Helper()
	resp := serve(t, h, http.MethodPost, "/login", url.Values{"username": {user}, "password": {"secret"}})
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))
	c := cookieNamed(resp, cookieName)
	require.NotNil(t, c, "want cookie %q, got %v", cookieName, resp.Cookies())
	return c
}

func assertBounced(t *testing.T, resp *http.Response) {
	t.Helper()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/login", resp.Header.Get("Location"))
}

func TestLoginFlow(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Name: "replica-2"})

	form := serve(t, app, http.MethodGet, "/login", nil)
	require.Equal(t, http.StatusOK, form.StatusCode)
	assert.Contains(t, bodyOf(t, form), `<form method="post" action="/login">`)

	sid := login(t, app, "user17", "sid")
	assert.NotEmpty(t, sid.Value)
	assert.True(t, sid.HttpOnly, "session cookie must be HttpOnly")
	assert.Equal(t, http.SameSiteLaxMode, sid.SameSite)
	assert.Equal(t, "/", sid.Path)

	for _, path := range []string{"/", "/page/3"} {
		t.Run(path, func(t *testing.T) {
			resp := serve(t, app, http.MethodGet, path, nil, sid)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			body := bodyOf(t, resp)
			assert.Contains(t, body, "user17")
			assert.Contains(t, body, "replica-2")

			assertBounced(t, serve(t, app, http.MethodGet, path, nil))
			assertBounced(t, serve(t, app, http.MethodGet, path, nil, &http.Cookie{Name: "sid", Value: "deadbeef"}))
		})
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct{ name, user, password string }{
		{"wrong password", "user17", "Secret"},
		{"empty password", "user17", ""},
		{"user0", "user0", "secret"},
		{"beyond default users", "user100001", "secret"},
		{"not a user name", "bob", "secret"},
		{"leading zero", "user01", "secret"},
		{"sign", "user+1", "secret"},
		{"bare prefix", "user", "secret"},
	}
	app := fakeapp.New(fakeapp.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, app, http.MethodPost, "/login", url.Values{"username": {tt.user}, "password": {tt.password}})
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Empty(t, resp.Cookies())
			assert.Contains(t, bodyOf(t, resp), "wrong username or password")
		})
	}
	t.Run("last default user accepted", func(t *testing.T) {
		login(t, app, "user100000", "sid")
	})
}

func TestLogout(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{})
	sid := login(t, app, "user5", "sid")

	resp := serve(t, app, http.MethodPost, "/logout", nil, sid)
	assertBounced(t, resp)
	require.Len(t, resp.Cookies(), 1)
	cleared := resp.Cookies()[0]
	assert.Equal(t, "sid", cleared.Name)
	assert.Empty(t, cleared.Value)
	assert.Negative(t, cleared.MaxAge, "the cookie must be deleted (Max-Age=0)")

	assertBounced(t, serve(t, app, http.MethodGet, "/", nil, sid))
}

func TestReplicaHeader(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"health", http.MethodGet, "/healthz", http.StatusOK},
		{"form", http.MethodGet, "/login", http.StatusOK},
		{"protected", http.MethodGet, "/", http.StatusFound},
		{"not found", http.MethodGet, "/nope", http.StatusNotFound},
		{"method not allowed", http.MethodDelete, "/login", http.StatusMethodNotAllowed},
		{"logout by GET", http.MethodGet, "/logout", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, fakeapp.New(fakeapp.Config{Name: "replica-7"}), tt.method, tt.path, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, "replica-7", resp.Header.Get("X-Replica"))

			resp = serve(t, fakeapp.New(fakeapp.Config{}), tt.method, tt.path, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, "replica", resp.Header.Get("X-Replica"))

			resp = serve(t, fakeapp.New(fakeapp.Config{Name: "replica-7", NoReplicaHeader: true}), tt.method, tt.path, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.NotContains(t, resp.Header, "X-Replica")
		})
	}
}

func TestSessionsAcrossReplicas(t *testing.T) {
	shared, secret := fakeapp.NewMemoryStore(), []byte("shared secret")
	tests := []struct {
		name       string
		a, b       fakeapp.Config
		cookieName string
		accepted   bool
	}{
		{"own stores", fakeapp.Config{Name: "replica-1"}, fakeapp.Config{Name: "replica-2"}, "sid", false},
		{"own stores, shared secret", fakeapp.Config{Name: "replica-1", Secret: secret},
			fakeapp.Config{Name: "replica-2", Secret: secret}, "sid", false},
		// The default secret is random per App, so the other replica cannot open the ticket it would find.
		{"shared store, own secrets", fakeapp.Config{Name: "replica-1", Store: shared},
			fakeapp.Config{Name: "replica-2", Store: shared}, "sid", false},
		{"shared store and secret", fakeapp.Config{Name: "replica-1", Store: shared, Secret: secret},
			fakeapp.Config{Name: "replica-2", Store: shared, Secret: secret}, "sid", true},
		{"cookie name", fakeapp.Config{Name: "replica-1", CookieName: "app_session", Store: shared, Secret: secret},
			fakeapp.Config{Name: "replica-2", CookieName: "app_session", Store: shared, Secret: secret}, "app_session", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := fakeapp.New(tt.a), fakeapp.New(tt.b)
			c := login(t, a, "user9", tt.cookieName)

			resp := serve(t, a, http.MethodGet, "/", nil, c)
			require.Equal(t, http.StatusOK, resp.StatusCode, "the replica that made the session must accept it")

			resp = serve(t, b, http.MethodGet, "/page/1", nil, c)
			if !tt.accepted {
				assertBounced(t, resp)
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, bodyOf(t, resp), "user9, served by replica-2")
		})
	}
	t.Run("other cookie name ignored", func(t *testing.T) {
		app := fakeapp.New(fakeapp.Config{CookieName: "app_session", Store: shared})
		c := login(t, app, "user3", "app_session")
		assertBounced(t, serve(t, app, http.MethodGet, "/", nil, &http.Cookie{Name: "sid", Value: c.Value}))
	})
}
