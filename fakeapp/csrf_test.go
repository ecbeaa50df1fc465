package fakeapp_test

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// csrfField is the hidden field of the fake app's form-csrf login form, as a browser reads it from the page.
const csrfField = "csrf_token"

// csrfForm loads the login form from h into b and returns its CSRF token.
func csrfForm(t *testing.T, b *browser, h http.Handler) string {
	t.Helper()
	resp := b.do(h, http.MethodGet, "/login", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, b.cookies, "sid", "the form must come with a pre-login session cookie")
	token := hiddenFields(bodyOf(t, resp))[csrfField]
	require.Len(t, token, 32, "the form must carry a hidden %s", csrfField)
	return token
}

// replicaPair makes two form-csrf replicas; redis-backed pairs skip without redis-server.
type replicaPair func(t *testing.T) (a, b *fakeapp.App)

func csrfPair(a, b fakeapp.Config) replicaPair {
	return func(*testing.T) (*fakeapp.App, *fakeapp.App) {
		a.Login, b.Login = fakeapp.LoginFormCSRF, fakeapp.LoginFormCSRF
		return fakeapp.New(a), fakeapp.New(b)
	}
}

func csrfRedisPair(sameSecret bool) replicaPair {
	return func(t *testing.T) (*fakeapp.App, *fakeapp.App) {
		store := fakeapp.NewRedisStore(startRedis(t), contract.RedisKeyPrefix+"session:sid-")
		a, b := fakeapp.Config{Store: store}, fakeapp.Config{Store: store}
		if sameSecret {
			a.Secret, b.Secret = []byte("shared"), []byte("shared")
		}
		return csrfPair(a, b)(t)
	}
}

func TestFormCSRFAcrossReplicas(t *testing.T) {
	secret, shared := []byte("shared"), fakeapp.NewMemoryStore()
	tests := []struct {
		name     string
		pair     replicaPair
		postToB  bool // post the form to the other replica
		accepted bool
	}{
		{"same replica", csrfPair(fakeapp.Config{}, fakeapp.Config{}), false, true},
		{"other replica, own memory", csrfPair(fakeapp.Config{}, fakeapp.Config{}), true, false},
		{"other replica, own memory, shared secret", csrfPair(fakeapp.Config{Secret: secret}, fakeapp.Config{Secret: secret}), true, false},
		{"other replica, shared memory and secret",
			csrfPair(fakeapp.Config{Store: shared, Secret: secret}, fakeapp.Config{Store: shared, Secret: secret}), true, true},
		{"other replica, shared Redis and secret", csrfRedisPair(true), true, true},
		{"other replica, shared Redis, own secrets", csrfRedisPair(false), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.pair(t)
			target := a
			if tt.postToB {
				target = b
			}
			br := newBrowser(t)
			token := csrfForm(t, br, a)
			resp := br.login(target, "user12", url.Values{csrfField: {token}})
			if !tt.accepted {
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
				assert.Contains(t, bodyOf(t, resp), "the form has expired")
				assert.Equal(t, 1.0, metric(t, target, contract.MetricCSRFRefusals))
				assert.Equal(t, 0.0, metric(t, target, contract.MetricLogins))
				return
			}
			require.Equal(t, http.StatusFound, resp.StatusCode)
			assert.Equal(t, "/", resp.Header.Get("Location"))
			assert.Equal(t, 0.0, metric(t, target, contract.MetricCSRFRefusals))
			assert.Equal(t, 1.0, metric(t, target, contract.MetricLogins))
			home := br.do(target, http.MethodGet, "/", nil)
			require.Equal(t, http.StatusOK, home.StatusCode)
			assert.Contains(t, bodyOf(t, home), "Hello user12")
		})
	}
}

func TestFormCSRFRefusesBadTokens(t *testing.T) {
	tests := []struct {
		name   string
		submit func(t *testing.T, app *fakeapp.App) *http.Response
	}{
		{"no token", func(t *testing.T, app *fakeapp.App) *http.Response {
			br := newBrowser(t)
			csrfForm(t, br, app)
			return br.login(app, "user1", nil)
		}},
		{"wrong token", func(t *testing.T, app *fakeapp.App) *http.Response {
			br := newBrowser(t)
			token := csrfForm(t, br, app)
			return br.login(app, "user1", url.Values{csrfField: {token[1:] + "0"}})
		}},
		{"no pre-login cookie", func(t *testing.T, app *fakeapp.App) *http.Response {
			token := csrfForm(t, newBrowser(t), app)
			return newBrowser(t).login(app, "user1", url.Values{csrfField: {token}})
		}},
		{"another browser's token", func(t *testing.T, app *fakeapp.App) *http.Response {
			token := csrfForm(t, newBrowser(t), app)
			br := newBrowser(t)
			csrfForm(t, br, app)
			return br.login(app, "user1", url.Values{csrfField: {token}})
		}},
		{"token used twice", func(t *testing.T, app *fakeapp.App) *http.Response {
			br := newBrowser(t)
			token := csrfForm(t, br, app)
			require.Equal(t, http.StatusFound, br.login(app, "user1", url.Values{csrfField: {token}}).StatusCode)
			return br.login(app, "user1", url.Values{csrfField: {token}})
		}},
		{"logged in, no token", func(t *testing.T, app *fakeapp.App) *http.Response {
			br := newBrowser(t)
			token := csrfForm(t, br, app)
			require.Equal(t, http.StatusFound, br.login(app, "user1", url.Values{csrfField: {token}}).StatusCode)
			return br.login(app, "user1", nil) // the logged-in session has no token to match an empty one
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF})
			resp := tt.submit(t, app)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Equal(t, 1.0, metric(t, app, contract.MetricCSRFRefusals))
		})
	}
	t.Run("good token, wrong password", func(t *testing.T) {
		app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF})
		br := newBrowser(t)
		token := csrfForm(t, br, app)
		resp := br.do(app, http.MethodPost, "/login", url.Values{"username": {"user1"}, "password": {"nope"}, csrfField: {token}})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, 0.0, metric(t, app, contract.MetricCSRFRefusals))
	})
	t.Run("plain form has no token", func(t *testing.T) {
		resp := serve(t, fakeapp.New(fakeapp.Config{}), http.MethodGet, "/login", nil)
		assert.Empty(t, resp.Cookies(), "a plain form login keeps no pre-login session")
		assert.Empty(t, hiddenFields(bodyOf(t, resp)))
	})
}

// TestFormCSRFPreLoginSession: the form's token lives in a pre-login session, counted as active, which the login
// turns into the logged-in session (same record), and which ends ten minutes after the form was served.
func TestFormCSRFPreLoginSession(t *testing.T) {
	tests := []struct {
		name   string
		wait   time.Duration
		status int
	}{
		{"submitted in time", 9*time.Minute + 59*time.Second, http.StatusFound},
		{"submitted too late", 10 * time.Minute, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF})
				br := newBrowser(t)
				token := csrfForm(t, br, app)
				assert.Equal(t, 1.0, metric(t, app, contract.MetricSessionsActive), "a served form is a pre-login session")

				time.Sleep(tt.wait)
				resp := br.login(app, "user1", url.Values{csrfField: {token}})
				assert.Equal(t, tt.status, resp.StatusCode)
				if tt.status == http.StatusFound {
					assert.Equal(t, 1.0, metric(t, app, contract.MetricSessionsActive), "the login keeps the pre-login record")
					assert.Equal(t, http.StatusOK, br.do(app, http.MethodGet, "/", nil).StatusCode)
				}
			})
		})
	}
}
