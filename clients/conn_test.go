package clients_test

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// The balancer instance that answered, as it named itself, is in every exchange's record: the WebSocket upgrade's
// too. Without the header (one balancer) there is none.
func TestInstanceRecorded(t *testing.T) {
	for _, named := range []bool{true, false} {
		t.Run(map[bool]string{true: "named", false: "one balancer"}[named], func(t *testing.T) {
			app := fakeapp.New(fakeapp.Config{Name: "replica-1"})
			// The instance's name says which request it answered, so that each record can be checked.
			srv := startProxyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if named {
					w.Header().Set("X-Sessionlab-Instance", "haproxy-"+r.Method+r.URL.Path)
				}
				app.ServeHTTP(w, r)
			}))
			users := population(t, 2, config(3, "203.0.113.0/24"))
			r := runJourney(t, srv.addr, users, wsJourney(2, 1))
			require.Len(t, r.evs, 3*(3+1+2))
			for _, e := range r.evs {
				require.Equal(t, events.OutcomeOK, e.Outcome, "%s %s: %s", e.Method, e.Path, e.Error)
				want := ""
				if named {
					want = "haproxy-" + e.Method + e.Path
				}
				assert.Equal(t, want, e.Instance, "%s %s %s", e.Step, e.Method, e.Path)
			}
		})
	}
}

// Each exchange with the balancer that opened a new connection says why; one that reused the connection says
// nothing.
func TestConnCause(t *testing.T) {
	pause := func(*rand.Rand) time.Duration { return 60 * time.Millisecond }
	tests := []struct {
		name      string
		handler   func(app http.Handler) http.Handler
		tune      func(*http.Server)
		think     func(*rand.Rand) time.Duration
		keepAlive time.Duration
		roamAt    int
		failed    string // the path whose exchange fails
		// want is the conn of each exchange: the login form, its POST, the page it redirects to, then 3 pages.
		want []string
	}{
		{name: "one connection for all", want: []string{"first", "", "", "", "", ""}},
		{name: "let go over pauses longer than keep_alive", think: pause, keepAlive: 20 * time.Millisecond,
			want: []string{"first", "", "", "keep-alive", "keep-alive", "keep-alive"}},
		{name: "kept over pauses shorter than keep_alive", think: pause, keepAlive: 10 * time.Second,
			want: []string{"first", "", "", "", "", ""}},
		{name: "a roam before page 2", roamAt: 2, want: []string{"first", "", "", "", "roam", ""}},
		{name: "a roam wins over keep_alive", roamAt: 2, think: pause, keepAlive: 20 * time.Millisecond,
			want: []string{"first", "", "", "keep-alive", "roam", "keep-alive"}},
		{name: "idle connections closed by the server", think: pause, keepAlive: 10 * time.Second,
			tune: func(s *http.Server) { s.IdleTimeout = 20 * time.Millisecond },
			want: []string{"first", "", "", "closed", "closed", "closed"}},
		{name: "answers with Connection: close", handler: func(app http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				app.ServeHTTP(w, r)
			})
		}, want: []string{"first", "closed", "closed", "closed", "closed", "closed"}},
		{name: "after a failed exchange", handler: failing("/page/1"), failed: "/page/1",
			want: []string{"first", "", "", "", "error", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler = fakeapp.New(fakeapp.Config{Name: "replica-1"})
			if tt.handler != nil {
				h = tt.handler(h)
			}
			var tune []func(*http.Server)
			if tt.tune != nil {
				tune = append(tune, tt.tune)
			}
			srv := startProxyServer(t, h, tune...)
			users := population(t, 4, config(2, "198.51.100.0/24"))
			for i := range users {
				if tt.roamAt > 0 {
					users[i].RoamAddr, users[i].RoamAt = netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), tt.roamAt
				}
			}
			j := fakeAppJourney(3, 0)
			j.Think, j.KeepAlive = tt.think, tt.keepAlive
			r := runJourney(t, srv.addr, users, j)
			for _, u := range users {
				evs := r.byUser[u.ID]
				require.Len(t, evs, len(tt.want), "user %d", u.ID)
				got := make([]string, len(evs))
				for i, e := range evs {
					got[i] = e.Conn
					want := events.OutcomeOK
					if e.Path == tt.failed {
						want = events.OutcomeError
					}
					assert.Equal(t, want, e.Outcome, "user %d %s %s: %s", u.ID, e.Method, e.Path, e.Error)
				}
				assert.Equal(t, tt.want, got, "user %d", u.ID)
			}
		})
	}
}

// failing answers path with bytes that are no HTTP answer, on a connection it then closes: the exchange fails.
func failing(path string) func(app http.Handler) http.Handler {
	return func(app http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				app.ServeHTTP(w, r)
				return
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = conn.Write([]byte("nonsense\r\n\r\n"))
			_ = conn.Close()
		})
	}
}

// Exchanges with another host than the balancer (an identity provider) carry no conn: the connection to the
// balancer, kept meanwhile, is reused after them.
func TestConnNotOnOtherHosts(t *testing.T) {
	idpURL := idp(t, idpKey)
	srv := startProxyServer(t, ssoReplica(idpURL, idpKey, fakeapp.Config{Name: "replica-1"}))
	users := population(t, 5, config(2, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, fakeAppJourney(1, 0))
	for _, u := range users {
		var got []string
		for _, e := range r.byUser[u.ID] {
			got = append(got, e.Host+" "+e.Conn)
		}
		idp := idpURL.Host + " "
		assert.Equal(t, []string{" first", idp, idp, " ", " ", " "}, got, "user %d: login, provider, provider, callback, /, page", u.ID)
	}
}
