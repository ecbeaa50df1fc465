package fakeapp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

func TestNewIdPNeedsAKey(t *testing.T) {
	idp, err := fakeapp.NewIdP(fakeapp.IdPConfig{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "identity provider key")
	assert.Nil(t, idp)
}

func TestIdPRefuses(t *testing.T) {
	idp, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: idpKey, Users: 10})
	require.NoError(t, err)
	cb := "http://app.test/oauth2/callback"
	tests := []struct {
		name, method, path string
		form               url.Values
		status             int
		want               string
	}{
		{"no redirect_uri", http.MethodGet, "/authorize?state=s", nil, http.StatusBadRequest, "redirect_uri must be an absolute http(s) URL"},
		{"relative redirect_uri", http.MethodGet, "/authorize?state=s&redirect_uri=/cb", nil, http.StatusBadRequest, "redirect_uri"},
		{"other scheme", http.MethodGet, "/authorize?state=s&redirect_uri=" + url.QueryEscape("javascript://x/"), nil, http.StatusBadRequest, "redirect_uri"},
		{"no state", http.MethodGet, "/authorize?redirect_uri=" + url.QueryEscape(cb), nil, http.StatusBadRequest, "state is required"},
		{"login without state", http.MethodPost, "/login",
			url.Values{"username": {"user1"}, "password": {"secret"}, "redirect_uri": {cb}}, http.StatusBadRequest, "state is required"},
		{"wrong password", http.MethodPost, "/login",
			url.Values{"username": {"user1"}, "password": {"nope"}, "redirect_uri": {cb}, "state": {"s1"}}, http.StatusUnauthorized, "wrong username or password"},
		{"beyond its users", http.MethodPost, "/login",
			url.Values{"username": {"user11"}, "password": {"secret"}, "redirect_uri": {cb}, "state": {"s1"}}, http.StatusUnauthorized, "wrong username or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, idp, tt.method, tt.path, tt.form)
			assert.Equal(t, tt.status, resp.StatusCode)
			body := bodyOf(t, resp)
			assert.Contains(t, body, tt.want)
			assert.Empty(t, resp.Cookies(), "a refused request must not log anyone in")
			if tt.status == http.StatusUnauthorized {
				assert.Equal(t, map[string]string{"redirect_uri": cb, "state": "s1"}, hiddenFields(body), "the retry form keeps the request")
			}
		})
	}
	assert.Equal(t, 0.0, metric(t, idp, "sessionlab_idp_logins_total"))
	assert.Equal(t, 0.0, metric(t, idp, "sessionlab_idp_silent_authorizations_total"))
}

func TestIdPRemembersItsLogin(t *testing.T) {
	idp, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: idpKey})
	require.NoError(t, err)
	cb := "http://app.test/oauth2/callback?keep=1"
	br := newBrowser(t)
	resp := br.do(idp, http.MethodPost, "/login", url.Values{"username": {"user1"}, "password": {"secret"}, "redirect_uri": {cb}, "state": {"s1"}})
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	assert.Equal(t, "app.test", loc.Host)
	assert.Equal(t, "1", loc.Query().Get("keep"), "the app's own query survives")
	assert.Equal(t, "s1", loc.Query().Get("state"))

	resp = br.do(idp, http.MethodGet, "/authorize?state=s2&redirect_uri="+url.QueryEscape(cb), nil)
	require.Equal(t, http.StatusFound, resp.StatusCode, "a remembered user is not prompted")
	loc, err = resp.Location()
	require.NoError(t, err)
	assert.Equal(t, "s2", loc.Query().Get("state"))

	// Another provider (another key) cannot read this one's cookie: it prompts.
	other, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: []byte("another key")})
	require.NoError(t, err)
	resp = br.do(other, http.MethodGet, "/authorize?state=s3&redirect_uri="+url.QueryEscape(cb), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	assert.Equal(t, 1.0, metric(t, idp, "sessionlab_idp_logins_total"))
	assert.Equal(t, 1.0, metric(t, idp, "sessionlab_idp_silent_authorizations_total"))
	assert.Equal(t, http.StatusOK, serve(t, idp, http.MethodGet, "/healthz", nil).StatusCode)
}
