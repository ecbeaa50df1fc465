package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

func appTopology(t *testing.T, set ...string) Topology {
	t.Helper()
	s, err := Parse("t.yaml", []byte("name: app-test\n"), set...)
	require.NoError(t, err)
	return s.Topology()
}

// argValue returns the value after name in args, and whether name is there.
func argValue(args []string, name string) (string, bool) {
	i := slices.Index(args, name)
	if i < 0 {
		return "", false
	}
	if i+1 < len(args) {
		return args[i+1], true
	}
	return "", true
}

func TestReplicaArgs(t *testing.T) {
	tests := []struct {
		name       string
		set        []string
		sameSecret bool
		cookies    [2]string
		extra      map[string]string // flag -> value ("" for a bare flag)
		absent     []string
	}{
		{"defaults: memory, form, shared secret and name", nil, true, [2]string{"sid", "sid"},
			map[string]string{"-sessions": "memory", "-login": "form"}, []string{"-redis", "-idp-url", "-idle-timeout", "-clear-bad-cookie"}},
		{"per-replica secret and cookie name", []string{"app.secret=per-replica", "app.cookie_name=per-replica"}, false,
			[2]string{"sid-replica-1", "sid-replica-2"}, nil, nil},
		{"redis", []string{"app.sessions=redis"}, true, [2]string{"sid", "sid"},
			map[string]string{"-sessions": "redis", "-redis": "10.0.0.3:6379"}, []string{"-idp-url"}},
		{"sso", []string{"app.login=sso"}, true, [2]string{"sid", "sid"},
			map[string]string{"-login": "sso", "-idp-url": "http://127.0.0.1:9"}, []string{"-redis"}},
		{"lifetimes and Wakapi's cookie clearing", []string{"app.session_ttl=1h", "app.idle_timeout=90s", "app.clear_bad_cookie=true", "app.sessions=cookie"},
			true, [2]string{"sid", "sid"}, map[string]string{"-session-ttl": "1h0m0s", "-idle-timeout": "1m30s", "-clear-bad-cookie": "", "-sessions": "cookie"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := appTopology(t, tt.set...)
			var secrets []string
			for i, r := range top.Replicas[:2] {
				args := top.replicaArgs(r, "127.0.0.1:1", "10.0.0.3:6379", "http://127.0.0.1:9")
				name, _ := argValue(args, "-name")
				assert.Equal(t, r.Name, name)
				cookie, _ := argValue(args, "-cookie-name")
				assert.Equal(t, tt.cookies[i], cookie)
				secret, _ := argValue(args, "-secret")
				require.Len(t, secret, 64, "a 256-bit secret, hex")
				secrets = append(secrets, secret)
				for f, want := range tt.extra {
					got, ok := argValue(args, f)
					require.True(t, ok, "%s in %q", f, args)
					if want != "" {
						assert.Equal(t, want, got, f)
					}
				}
				for _, f := range tt.absent {
					_, ok := argValue(args, f)
					assert.False(t, ok, "%s not in %q", f, args)
				}
			}
			assert.Equal(t, tt.sameSecret, secrets[0] == secrets[1])
		})
	}
}

func TestSecretsDeriveFromTheSeed(t *testing.T) {
	a := appTopology(t, "app.secret=per-replica", "app.login=sso")
	b := appTopology(t, "app.secret=per-replica", "app.login=sso")
	c := appTopology(t, "app.secret=per-replica", "app.login=sso", "seed=2")
	assert.Equal(t, a.Replicas, b.Replicas, "same seed, same secrets")
	assert.Equal(t, a.App.IdPKey, b.App.IdPKey)
	assert.NotEqual(t, a.Replicas[0].Secret, c.Replicas[0].Secret, "another seed, other secrets")
	assert.NotEqual(t, a.App.IdPKey, c.App.IdPKey)
	assert.NotEqual(t, a.Replicas[0].Secret, a.App.IdPKey)
}

func TestScrapeReadsTheAppMetrics(t *testing.T) {
	app := fakeapp.New(fakeapp.Config{Login: fakeapp.LoginFormCSRF})
	srv := httptest.NewServer(app)
	defer srv.Close()
	// A form post without the form's token: one refusal.
	resp, err := http.PostForm(srv.URL+"/login", url.Values{"username": {"user1"}, "password": {"secret"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	m, err := scrape(context.Background(), srv.URL+"/metrics")
	require.NoError(t, err)
	assert.Equal(t, 1.0, m[fakeapp.MetricCSRFRefusals])
	assert.Equal(t, 0.0, m[fakeapp.MetricSessionsCreated])
	assert.Contains(t, m, fakeapp.MetricSessionsActive)

	_, err = scrape(context.Background(), srv.URL+"/nothing")
	assert.ErrorContains(t, err, "404")
}

// StoreStats counts the session keys in the real Redis, not what the replicas or the clients say.
func TestStoreStatsCountsRedisKeys(t *testing.T) {
	requireIntegration(t)
	d := StartT(t, NewLocal(), appTopology(t, "app.sessions=redis", "app.replicas=2"))
	require.NotNil(t, d.store)
	addr, err := d.store.HostAddr(context.Background())
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	for _, k := range []string{"session:sid-a", "session:sid-b", "session:other-c", "state:x"} {
		require.NoError(t, rdb.Set(ctx, fakeapp.RedisKeyPrefix+k, "v", 0).Err())
	}
	require.NoError(t, rdb.Set(ctx, "unrelated", "v", 0).Err())

	st, err := d.StoreStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, "redis", st.Kind)
	assert.Equal(t, 3, st.Sessions, "session keys only: not SSO states, not other keys")
	assert.Empty(t, st.Unread, "both replicas' metrics were read")

	// A replica that is down is named, not silently counted as zero.
	p, err := d.Part("replica-2")
	require.NoError(t, err)
	require.NoError(t, p.Kill(ctx))
	st, err = d.StoreStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-2"}, st.Unread)
}

func TestRestartStore(t *testing.T) {
	requireIntegration(t)
	d := StartT(t, NewLocal(), appTopology(t, "app.sessions=redis", "app.replicas=1"))
	ctx := context.Background()
	count := func() int {
		addr, err := d.store.HostAddr(ctx)
		require.NoError(t, err)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		n, err := rdb.DBSize(ctx).Result()
		require.NoError(t, err)
		return int(n)
	}
	addr, err := d.store.HostAddr(ctx)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	rdb.Close()

	require.NoError(t, d.restartStore(ctx, true))
	assert.Equal(t, 1, count(), "saved before the restart: the key is back")
	require.NoError(t, d.restartStore(ctx, false))
	assert.Equal(t, 0, count(), "no persistence: everything is gone, the earlier save included")
}

func TestBindIdentityIsLocalOnly(t *testing.T) {
	d, err := NewDocker().Start(context.Background(), appTopology(t, "clients.identity=bind"))
	require.ErrorContains(t, err, "clients.identity: bind works on the local runtime only")
	assert.NoError(t, d.Close(context.Background()), "nothing was started")
}
