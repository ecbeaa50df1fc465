package fakeapp_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/fakeapp"
)

func TestMainServesUntilCancelled(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fakeapp.Main(ctx, []string{"-listen", addr, "-name", "replica-9"}, io.Discard) }()

	client := &http.Client{Timeout: time.Second}
	var resp *http.Response
	require.Eventually(t, func() bool {
		r, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		resp = r
		return r.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "fakeapp never answered /healthz on %s", addr)
	assert.Equal(t, "replica-9", resp.Header.Get("X-Replica"))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Main did not return after its context was cancelled")
	}
}

// TestMainRedisSessions runs the process's wiring against a real Redis: sessions under the documented prefix,
// named after the cookie.
func TestMainRedisSessions(t *testing.T) {
	rdb := startRedis(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-listen", addr, "-sessions", "redis", "-redis", rdb.Options().Addr, "-cookie-name", "app_sid"}
	go func() { done <- fakeapp.Main(ctx, args, io.Discard) }()

	client := &http.Client{Timeout: time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	var status int
	require.Eventually(t, func() bool {
		resp, err := client.PostForm("http://"+addr+"/login", url.Values{"username": {"user2"}, "password": {"secret"}})
		if err != nil {
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return true
	}, 10*time.Second, 20*time.Millisecond, "fakeapp never answered on %s", addr)
	assert.Equal(t, http.StatusFound, status)

	n, err := contract.CountKeys(ctx, rdb, contract.RedisKeyPrefix+"session:app_sid-*")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	cancel()
	require.NoError(t, <-done)
}

func TestMainRejectsArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-bogus"}, "bogus"},
		{"stray argument", []string{"-name", "r1", "extra"}, "unexpected arguments"},
		{"bad duration", []string{"-session-ttl", "soon"}, "session-ttl"},
		{"bad listen address", []string{"-listen", "256.0.0.1:99999"}, "listen"},
		{"unknown login", []string{"-login", "nope"}, `-login "nope": allowed: form, form-csrf, sso`},
		{"sso without provider", []string{"-login", "sso"}, "-login sso needs -idp-url and -idp-key"},
		{"sso without key", []string{"-login", "sso", "-idp-url", "http://idp"}, "-login sso needs -idp-url and -idp-key"},
		{"sso without url", []string{"-login", "sso", "-idp-key", "k"}, "-login sso needs -idp-url and -idp-key"},
		{"redis without address", []string{"-sessions", "redis"}, "-sessions redis needs -redis host:port"},
		{"unknown sessions", []string{"-sessions", "nope"}, `-sessions "nope": allowed: memory, redis, cookie`},
		{"idp without key", []string{"idp"}, "identity provider key"},
		{"idp unknown flag", []string{"idp", "-bogus"}, "bogus"},
		{"idp stray argument", []string{"idp", "-key", "k", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // should an argument be accepted by mistake, Main returns instead of serving
			err := fakeapp.Main(ctx, tt.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
