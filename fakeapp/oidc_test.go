package fakeapp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/sessionlab/sessionlab/fakeapp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The OpenID Connect provider for your own app's SSO: it serves discovery where the harness probes it, and approves
// many logins at once without falling over (mockoidc alone keeps its codes in an unguarded map).
func TestOIDCProviderApprovesConcurrentLogins(t *testing.T) {
	require.Equal(t, mockoidc.IssuerBase, contract.OIDCIssuerPath, "the harness and the provider agree on the issuer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- fakeapp.Main(ctx, []string{"oidc", "-listen", addr, "-client-id", "c", "-client-secret", "s"}, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + contract.OIDCReadyPath)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"scope": {"openid email"}, "state": {"x"}, "client_id": {"c"}, "response_type": {"code"},
		"redirect_uri": {"http://app.test/oauth2/callback"}}
	var wg sync.WaitGroup
	codes := make(chan string, 200)
	for range 200 {
		wg.Go(func() {
			resp, err := client.Get(base + "/oidc/authorize?" + q.Encode())
			if err != nil {
				codes <- ""
				return
			}
			resp.Body.Close()
			loc, _ := resp.Location()
			if resp.StatusCode == http.StatusFound && loc != nil {
				codes <- loc.Query().Get("code")
				return
			}
			codes <- ""
		})
	}
	wg.Wait()
	close(codes)
	seen := map[string]bool{}
	for c := range codes {
		require.NotEmpty(t, c, "every authorization was approved with a code")
		seen[c] = true
	}
	assert.Len(t, seen, 200, "each login its own code")
}
