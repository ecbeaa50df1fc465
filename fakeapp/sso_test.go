package fakeapp_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// ssoRig is an identity provider and two app replicas, each on its own server: the app builds redirect_uri from
// the Host it was reached on.
type ssoRig struct {
	idp        *fakeapp.IdP
	idpURL     string
	a, b       *fakeapp.App
	aURL, bURL string
}

var idpKey = []byte("idp key")

func startIdP(t *testing.T, key []byte) (*fakeapp.IdP, string) {
	t.Helper()
	idp, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: key})
	require.NoError(t, err)
	srv := httptest.NewServer(idp)
	t.Cleanup(srv.Close)
	return idp, srv.URL
}

func startSSORig(t *testing.T, a, b fakeapp.Config) *ssoRig {
	t.Helper()
	r := &ssoRig{}
	r.idp, r.idpURL = startIdP(t, idpKey)
	start := func(cfg fakeapp.Config) (*fakeapp.App, string) {
		cfg.Login, cfg.IdPURL, cfg.IdPKey = fakeapp.LoginSSO, r.idpURL+"/", idpKey
		app := fakeapp.New(cfg)
		srv := httptest.NewServer(app)
		t.Cleanup(srv.Close)
		return app, srv.URL
	}
	r.a, r.aURL = start(a)
	r.b, r.bURL = start(b)
	return r
}

// ssoBrowser is a real client with a cookie jar that does not follow redirects: each hop is asserted.
type ssoBrowser struct {
	t *testing.T
	c *http.Client
}

func newSSOBrowser(t *testing.T) *ssoBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &ssoBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// hop is one answer: its status, the absolute URL it redirects to, its body.
type hop struct {
	status int
	loc    *url.URL
	body   string
}

func (b *ssoBrowser) get(u string) hop {
	b.t.Helper()
	return b.send(http.NewRequest(http.MethodGet, u, nil))
}

func (b *ssoBrowser) post(u string, form url.Values) hop {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return b.send(req, err)
}

func (b *ssoBrowser) send(req *http.Request, err error) hop {
	b.t.Helper()
	require.NoError(b.t, err)
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	h := hop{status: resp.StatusCode, body: string(body)}
	if loc, err := resp.Location(); err == nil {
		h.loc = loc
	}
	return h
}

func (b *ssoBrowser) hasCookie(u, name string) bool {
	parsed, err := url.Parse(u)
	require.NoError(b.t, err)
	for _, c := range b.c.Jar.Cookies(parsed) {
		if c.Name == name {
			return true
		}
	}
	return false
}

// base is u without its path and query.
func base(u *url.URL) string { return u.Scheme + "://" + u.Host }

// idpLogin answers the provider's form for the authorize redirect toIdP and returns the redirect to the callback.
func (b *ssoBrowser) idpLogin(idpURL string, toIdP hop) hop {
	b.t.Helper()
	require.Equal(b.t, http.StatusFound, toIdP.status)
	form := b.get(toIdP.loc.String())
	require.Equal(b.t, http.StatusOK, form.status, "a first visit to the provider must prompt")
	fields := url.Values{"username": {"user7"}, "password": {"secret"}}
	for k, v := range hiddenFields(form.body) {
		fields.Set(k, v)
	}
	return b.post(idpURL+"/login", fields)
}

func TestSSOLoginThenSilentReauth(t *testing.T) {
	r := startSSORig(t, fakeapp.Config{Name: "app-a"}, fakeapp.Config{Name: "app-b"})
	br := newSSOBrowser(t)

	toIdP := br.get(r.aURL + "/login")
	require.Equal(t, http.StatusFound, toIdP.status)
	assert.Equal(t, r.idpURL+"/authorize", base(toIdP.loc)+toIdP.loc.Path)
	q := toIdP.loc.Query()
	state := q.Get("state")
	require.NotEmpty(t, state)
	assert.Equal(t, r.aURL+"/oauth2/callback", q.Get("redirect_uri"))

	form := br.get(toIdP.loc.String())
	require.Equal(t, http.StatusOK, form.status)
	assert.Equal(t, map[string]string{"redirect_uri": r.aURL + "/oauth2/callback", "state": state}, hiddenFields(form.body))

	back := br.post(r.idpURL+"/login", url.Values{"username": {"user7"}, "password": {"secret"},
		"redirect_uri": {r.aURL + "/oauth2/callback"}, "state": {state}})
	require.Equal(t, http.StatusFound, back.status)
	assert.Equal(t, r.aURL+"/oauth2/callback", base(back.loc)+back.loc.Path)
	assert.Equal(t, state, back.loc.Query().Get("state"))
	assert.NotEmpty(t, back.loc.Query().Get("code"))

	home := br.get(back.loc.String())
	require.Equal(t, http.StatusFound, home.status)
	assert.Equal(t, r.aURL+"/", home.loc.String())
	page := br.get(home.loc.String())
	require.Equal(t, http.StatusOK, page.status)
	assert.Equal(t, "Hello user7, served by app-a\n", page.body)

	// The other replica does not know the session; the provider vouches again without a prompt.
	toIdP = br.get(r.bURL + "/page/3")
	require.Equal(t, http.StatusFound, toIdP.status)
	assert.Equal(t, r.bURL+"/oauth2/callback", toIdP.loc.Query().Get("redirect_uri"))
	back = br.get(toIdP.loc.String())
	require.Equal(t, http.StatusFound, back.status, "a provider that remembers the user must not show a form")
	assert.Equal(t, r.bURL+"/oauth2/callback", base(back.loc)+back.loc.Path)
	home = br.get(back.loc.String())
	require.Equal(t, http.StatusFound, home.status)
	assert.Equal(t, r.bURL+"/page/3", home.loc.String(), "back to where the user was going")
	page = br.get(home.loc.String())
	require.Equal(t, http.StatusOK, page.status)
	assert.Equal(t, "Page 3 for user7, served by app-b\n", page.body)

	assert.Equal(t, 1.0, metric(t, r.a, contract.MetricLogins))
	assert.Equal(t, 0.0, metric(t, r.a, contract.MetricSilentReauths))
	assert.Equal(t, 0.0, metric(t, r.b, contract.MetricLogins))
	assert.Equal(t, 1.0, metric(t, r.b, contract.MetricSilentReauths))
	assert.Equal(t, 1.0, metric(t, r.b, contract.MetricSessionsCreated))
	// Cookies are not isolated by port (RFC 6265), so b was sent a's cookie, sealed with a's random secret.
	assert.Equal(t, 1.0, metric(t, r.b, contract.MetricBadCookies))
	assert.Equal(t, 1.0, metric(t, r.idp, "sessionlab_idp_logins_total"))
	assert.Equal(t, 1.0, metric(t, r.idp, "sessionlab_idp_silent_authorizations_total"))

	// b's cookie replaced a's, so back on a the session is silently replaced in turn.
	page = br.follow(r.aURL+"/", 3) // to the provider, to the callback, home
	assert.Equal(t, "Hello user7, served by app-a\n", page.body)
	assert.Equal(t, 1.0, metric(t, r.a, contract.MetricSilentReauths))
	assert.Equal(t, 2.0, metric(t, r.idp, "sessionlab_idp_silent_authorizations_total"))
}

// follow follows redirects from u, which must take exactly hops of them to end with a 200.
func (b *ssoBrowser) follow(u string, hops int) hop {
	b.t.Helper()
	h := b.get(u)
	for i := 0; i < hops; i++ {
		require.Equal(b.t, http.StatusFound, h.status, "hop %d of %d", i+1, hops)
		h = b.get(h.loc.String())
	}
	require.Equal(b.t, http.StatusOK, h.status)
	return h
}

// ssoCallback runs a login at appURL through the provider and returns the callback URL, not yet followed.
func ssoCallback(t *testing.T, br *ssoBrowser, idpURL, appURL string) *url.URL {
	t.Helper()
	back := br.idpLogin(idpURL, br.get(appURL+"/login"))
	require.Equal(t, http.StatusFound, back.status)
	return back.loc
}

// onto is u sent to the replica at appURL instead, as a balancer might.
func onto(t *testing.T, u *url.URL, appURL string) string {
	t.Helper()
	to, err := url.Parse(appURL)
	require.NoError(t, err)
	moved := *u
	moved.Host = to.Host
	return moved.String()
}

func TestSSOCallbackOnTheOtherReplica(t *testing.T) {
	secret, states := []byte("shared"), fakeapp.NewMemoryStore()
	tests := []struct {
		name     string
		a, b     fakeapp.Config
		accepted bool
	}{
		{"own memory", fakeapp.Config{}, fakeapp.Config{}, false},
		{"own memory, shared secret", fakeapp.Config{Secret: secret}, fakeapp.Config{Secret: secret}, false},
		{"shared state store", fakeapp.Config{StateStore: states}, fakeapp.Config{StateStore: states}, true},
		{"stateless, shared secret", fakeapp.Config{Stateless: true, Secret: secret}, fakeapp.Config{Stateless: true, Secret: secret}, true},
		{"stateless, own secrets", fakeapp.Config{Stateless: true}, fakeapp.Config{Stateless: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startSSORig(t, tt.a, tt.b)
			br := newSSOBrowser(t)
			callback := ssoCallback(t, br, r.idpURL, r.aURL)

			got := br.get(onto(t, callback, r.bURL))
			if tt.accepted {
				require.Equal(t, http.StatusFound, got.status)
				assert.Equal(t, r.bURL+"/", got.loc.String())
				assert.Equal(t, 1.0, metric(t, r.b, contract.MetricLogins), "the user typed a password for this code")
				assert.Equal(t, 0.0, metric(t, r.b, contract.MetricCSRFRefusals))
				return
			}
			assert.Equal(t, http.StatusForbidden, got.status)
			assert.Contains(t, got.body, "this login was started elsewhere")
			assert.Equal(t, 1.0, metric(t, r.b, contract.MetricCSRFRefusals))
			assert.Equal(t, 0.0, metric(t, r.b, contract.MetricSessionsCreated))

			// The replica that started the login still takes its callback.
			got = br.get(callback.String())
			require.Equal(t, http.StatusFound, got.status)
			assert.Equal(t, 1.0, metric(t, r.a, contract.MetricLogins))
		})
	}
}

func TestSSOStateIsUsedOnce(t *testing.T) {
	r := startSSORig(t, fakeapp.Config{}, fakeapp.Config{})
	br := newSSOBrowser(t)
	callback := ssoCallback(t, br, r.idpURL, r.aURL)
	require.Equal(t, http.StatusFound, br.get(callback.String()).status)
	assert.Equal(t, http.StatusForbidden, br.get(callback.String()).status, "a replayed callback must be refused")
	assert.Equal(t, 1.0, metric(t, r.a, contract.MetricCSRFRefusals))
	assert.Equal(t, 1.0, metric(t, r.a, contract.MetricSessionsCreated))
}

func TestSSORefusesBadCodes(t *testing.T) {
	withCode := func(u *url.URL, code string) string {
		q := u.Query()
		q.Set("code", code)
		moved := *u
		moved.RawQuery = q.Encode()
		return moved.String()
	}
	tests := []struct {
		name     string
		callback func(t *testing.T, r *ssoRig, br *ssoBrowser) string
	}{
		{"tampered code", func(t *testing.T, r *ssoRig, br *ssoBrowser) string {
			cb := ssoCallback(t, br, r.idpURL, r.aURL)
			return withCode(cb, flipByte(t, cb.Query().Get("code"), 30))
		}},
		{"no code", func(t *testing.T, r *ssoRig, br *ssoBrowser) string {
			return withCode(ssoCallback(t, br, r.idpURL, r.aURL), "")
		}},
		{"forged code", func(t *testing.T, r *ssoRig, br *ssoBrowser) string {
			return withCode(ssoCallback(t, br, r.idpURL, r.aURL), "Zm9yZ2Vk")
		}},
		{"code for another state", func(t *testing.T, r *ssoRig, br *ssoBrowser) string {
			first := ssoCallback(t, br, r.idpURL, r.aURL)
			second := ssoCallback(t, newSSOBrowser(t), r.idpURL, r.aURL)
			return withCode(second, first.Query().Get("code"))
		}},
		{"code from a provider with another key", func(t *testing.T, r *ssoRig, br *ssoBrowser) string {
			_, otherURL := startIdP(t, []byte("another key"))
			back := br.idpLogin(otherURL, br.get(r.aURL+"/login"))
			require.Equal(t, http.StatusFound, back.status)
			return back.loc.String()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startSSORig(t, fakeapp.Config{}, fakeapp.Config{})
			br := newSSOBrowser(t)
			got := br.get(tt.callback(t, r, br))
			assert.Equal(t, http.StatusUnauthorized, got.status)
			assert.Contains(t, got.body, "code does not hold")
			assert.False(t, br.hasCookie(r.aURL, "sid"), "a refused code must not set a session")
			assert.Equal(t, 0.0, metric(t, r.a, contract.MetricSessionsCreated))
		})
	}
}

func TestSSOWithoutProvider(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginSSO})
	for _, path := range []string{"/login", "/"} {
		resp := serve(t, app, http.MethodGet, path, nil)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, path)
		assert.Contains(t, bodyOf(t, resp), "no identity provider configured")
	}
	resp := serve(t, app, http.MethodPost, "/login", url.Values{"username": {"user1"}, "password": {"secret"}})
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "an SSO app takes no password")
}

// TestSSOExpiry runs on synctest's clock: a state the callback carries lives ten minutes, a provider's code one.
func TestSSOExpiry(t *testing.T) {
	tests := []struct {
		name                     string
		stateless                bool
		beforeIdP, beforeAppBack time.Duration
		status                   int
	}{
		{"in time", false, 9 * time.Minute, 59 * time.Second, http.StatusFound},
		{"in time, stateless", true, 9 * time.Minute, 59 * time.Second, http.StatusFound},
		{"state expired", false, 10 * time.Minute, 0, http.StatusForbidden},
		{"state expired, stateless", true, 10 * time.Minute, 0, http.StatusForbidden},
		{"code expired", false, 0, time.Minute, http.StatusUnauthorized},
		{"code expired, stateless", true, 0, time.Minute, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				idp, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: idpKey})
				require.NoError(t, err)
				app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginSSO, IdPURL: "http://idp.test", IdPKey: idpKey, Stateless: tt.stateless})

				toIdP, err := serve(t, app, http.MethodGet, "/login", nil).Location()
				require.NoError(t, err)
				time.Sleep(tt.beforeIdP)
				form := url.Values{"username": {"user1"}, "password": {"secret"}}
				for k, v := range toIdP.Query() {
					form[k] = v
				}
				back, err := serve(t, idp, http.MethodPost, "/login", form).Location()
				require.NoError(t, err)
				time.Sleep(tt.beforeAppBack)
				resp := serve(t, app, http.MethodGet, back.RequestURI(), nil)
				assert.Equal(t, tt.status, resp.StatusCode)
			})
		})
	}
}
