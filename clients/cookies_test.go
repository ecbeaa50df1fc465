package clients_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// fp is the fingerprint the event log gives a cookie's value: the first 8 hex digits of its SHA-256.
func fp(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:4])
}

// cookieHeaders remembers the Cookie header of every request h answers, in the order they came, and adds the
// Set-Cookie lines setCookie gives for one.
type cookieHeaders struct {
	mu        sync.Mutex
	seen      []string
	h         http.Handler
	setCookie func(r *http.Request) []string
}

func (c *cookieHeaders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.seen = append(c.seen, r.Header.Get("Cookie"))
	c.mu.Unlock()
	if c.setCookie != nil {
		for _, line := range c.setCookie(r) {
			w.Header().Add("Set-Cookie", line)
		}
	}
	c.h.ServeHTTP(w, r)
}

// sent is what each request carried, as the events name it: "name:fingerprint" in the header's order.
func (c *cookieHeaders) sent(t *testing.T) [][]string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]string, len(c.seen))
	for i, header := range c.seen {
		if header == "" {
			continue
		}
		cookies, err := http.ParseCookie(header)
		require.NoError(t, err)
		for _, ck := range cookies {
			out[i] = append(out[i], ck.Name+":"+fp(ck.Value))
		}
	}
	return out
}

func sentOf(evs []events.Event) [][]string {
	out := make([][]string, len(evs))
	for i, e := range evs {
		out[i] = e.Sent
	}
	return out
}

var tagPattern = regexp.MustCompile(`^[^:]+:([0-9a-f]{8}|-)$`)

// noValues checks that the records name cookies by fingerprint only: no value of values appears in any record's
// line, and every tag is "name:fingerprint" or "name:-".
func noValues(t *testing.T, evs []events.Event, values ...string) {
	t.Helper()
	for _, e := range evs {
		for _, tag := range append(append([]string(nil), e.Sent...), e.Set...) {
			assert.Regexp(t, tagPattern, tag)
		}
		line, err := e.AppendJSON(nil)
		require.NoError(t, err)
		for _, v := range values {
			assert.NotContains(t, string(line), v, "a cookie's value in the log")
		}
	}
}

// TestCookiesSentAndSet: every exchange's record names the cookies its request carried, in the Cookie header's
// order, and those its answer set, in the answer's order, a cleared one as "name:-"; a user who blocks cookies
// sends none, whatever the answers set.
func TestCookiesSentAndSet(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", serveLoginForm)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "sid=A-"+r.PostFormValue("username")+"; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "pref=1; Path=/page")
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("home")) })
	mux.HandleFunc("GET /page/{n}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("n") == "2" {
			w.Header().Add("Set-Cookie", "sid=; Path=/; Max-Age=0") // what a logout answers
		}
		_, _ = w.Write([]byte("page"))
	})
	seen := &cookieHeaders{h: mux}
	srv := startProxyServer(t, seen)
	users := population(t, 3, config(4, "203.0.113.0/24"))
	users[1].BlockCookies = true
	r := runJourney(t, srv.addr, users, fakeAppJourney(3, 0))
	require.Equal(t, sentOf(r.evs), seen.sent(t), "each record names what its request carried")

	const get, post = http.MethodGet, http.MethodPost
	type record struct {
		Method, Path string
		Sent, Set    []string
	}
	value := func(u clients.User) string { return "A-user" + strconv.Itoa(u.ID) } // the fake journey's user name
	for _, u := range users {
		sid := "sid:" + fp(value(u))
		pref := "pref:" + fp("1")
		want := []record{
			{get, "/login", nil, nil},
			{post, "/login", nil, []string{sid, pref}},
			{get, "/", []string{sid}, nil},
			{get, "/page/1", []string{pref, sid}, nil}, // the longer path first, as the header has them
			{get, "/page/2", []string{pref, sid}, []string{"sid:-"}},
			{get, "/page/3", []string{pref}, nil},
		}
		if u.BlockCookies {
			for i := range want {
				want[i].Sent = nil
			}
		}
		var got []record
		for _, e := range r.byUser[u.ID] {
			require.Equal(t, events.OutcomeOK, e.Outcome, "%s %s: %s", e.Method, e.Path, e.Error)
			got = append(got, record{e.Method, e.Path, e.Sent, e.Set})
		}
		assert.Equal(t, want, got, "user %d (blocks cookies: %v)", u.ID, u.BlockCookies)
		assert.NotEqual(t, "sid:"+value(u), sid)
		noValues(t, r.byUser[u.ID], value(u))
	}

	// In the log's line too.
	line, err := r.byUser[users[0].ID][4].AppendJSON(nil)
	require.NoError(t, err)
	assert.Contains(t, string(line), `"sent":["pref:`+fp("1")+`","sid:`+fp(value(users[0]))+`"],"set":["sid:-"]`)
}

// TestCookiesWithTheIdentityProvider: the exchanges with the identity provider, another host, carry the
// provider's own cookies (and the app's: cookies do not tell ports apart), and are recorded too.
func TestCookiesWithTheIdentityProvider(t *testing.T) {
	p, err := fakeapp.NewIdP(fakeapp.IdPConfig{Key: idpKey})
	require.NoError(t, err)
	atIdP := &cookieHeaders{h: p}
	idpSrv := httptest.NewServer(atIdP)
	t.Cleanup(idpSrv.Close)
	idpURL, err := url.Parse(idpSrv.URL)
	require.NoError(t, err)
	atApp := &cookieHeaders{h: ssoReplica(idpURL, idpKey, fakeapp.Config{Name: "replica-1"})}
	srv := startProxyServer(t, atApp)
	users := population(t, 5, config(3, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, fakeAppJourney(2, 0))

	var app, provider []events.Event
	for _, e := range r.evs {
		require.Equal(t, events.OutcomeOK, e.Outcome, "%s %s%s: %s", e.Method, e.Host, e.Path, e.Error)
		if e.Host == idpURL.Host {
			provider = append(provider, e)
		} else {
			app = append(app, e)
		}
	}
	require.Len(t, provider, 3*2)
	assert.Equal(t, sentOf(app), atApp.sent(t))
	assert.Equal(t, sentOf(provider), atIdP.sent(t))
	for _, u := range users {
		evs := r.byUser[u.ID]
		require.Len(t, evs, 7)
		// GET /login (the app), GET /authorize, POST /login (the provider, which sets its session), the callback…
		require.Equal(t, idpURL.Host, evs[2].Host)
		require.Len(t, evs[2].Set, 1)
		idpSession := evs[2].Set[0]
		assert.Regexp(t, `^idp_session:[0-9a-f]{8}$`, idpSession)
		assert.Contains(t, evs[3].Sent, idpSession, "the callback carries it: the same host, another port")
		assert.Contains(t, evs[6].Sent, idpSession)
		assert.NotContains(t, evs[1].Sent, idpSession, "not before the provider set it")
	}
	noValues(t, r.evs)
}

// TestCookiesOfWebSocketUpgrades: a WebSocket upgrade's record names the cookies it carried and those its answer
// set.
func TestCookiesOfWebSocketUpgrades(t *testing.T) {
	app := &cookieHeaders{h: fakeapp.New(fakeapp.Config{Name: "replica-1"}), setCookie: func(r *http.Request) []string {
		if r.URL.Path == "/ws" {
			return []string{"ws=" + r.URL.Query().Get("client") + "; Path=/"}
		}
		return nil
	}}
	srv := startProxyServer(t, app)
	users := population(t, 9, config(2, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, wsJourney(1, 2))
	assert.Equal(t, sentOf(r.evs), app.sent(t))
	for _, u := range users {
		ws := wsEvents(r.byUser[u.ID])
		require.Len(t, ws, 2)
		for i, e := range ws {
			require.Equal(t, events.OutcomeOK, e.Outcome, e.Error)
			require.Len(t, e.Set, 1)
			assert.Regexp(t, `^ws:[0-9a-f]{8}$`, e.Set[0])
			assert.NotEmpty(t, e.Sent, "the session cookie goes with the upgrade")
			if i == 1 {
				assert.Contains(t, e.Sent, ws[0].Set[0], "the cookie the first upgrade set goes with the second")
			} else {
				assert.NotContains(t, e.Sent, e.Set[0])
			}
		}
	}
	noValues(t, r.evs)
}

// TestCookiesOfAFailedExchange: a request that got no answer still names the cookies it carried, and sets none.
func TestCookiesOfAFailedExchange(t *testing.T) {
	srv := startProxyServer(t, failing("/page/2")(fakeapp.New(fakeapp.Config{Name: "replica-1"})))
	users := population(t, 5, config(2, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, fakeAppJourney(3, 0))
	for _, u := range users {
		var failed, before *events.Event
		for i, e := range r.byUser[u.ID] {
			if e.Path == "/page/2" {
				failed, before = &r.byUser[u.ID][i], &r.byUser[u.ID][i-1]
			}
		}
		require.NotNil(t, failed, "user %d", u.ID)
		require.Equal(t, events.OutcomeError, failed.Outcome)
		assert.Zero(t, failed.Status)
		assert.NotEmpty(t, failed.Sent)
		assert.Equal(t, before.Sent, failed.Sent, "user %d: the session cookie, as on the page before", u.ID)
		assert.Nil(t, failed.Set)
	}
}
