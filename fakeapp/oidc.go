package fakeapp

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/oauth2-proxy/mockoidc"
)

// mainOIDC runs an OpenID Connect provider that approves every authorization request at once (mockoidc, the
// test provider of the OAuth2-Proxy project) for one client: a real app's SSO login (OAuth2-Proxy's) against a
// conforming provider — discovery, JWKS, code flow, tokens — without a password prompt.
func mainOIDC(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeapp oidc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on (host:port); the issuer is http://ADDR"+contract.OIDCIssuerPath)
	clientID := fs.String("client-id", "", "the one client's id (required)")
	clientSecret := fs.String("client-secret", "", "the one client's secret (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *clientID == "" || *clientSecret == "" {
		return errors.New("oidc needs -client-id and -client-secret")
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	m.ClientID, m.ClientSecret = *clientID, *clientSecret
	// mockoidc keeps its codes in a plain map: concurrent logins would crash it (concurrent map writes), so its
	// handlers take turns. Each is a few microseconds of work.
	var mu sync.Mutex
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := m.Start(ln, nil); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("replica", "oidc")
	log.Info("serving", "issuer", m.Issuer())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := m.Server.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("oidc: shut down: %w", err)
	}
	return nil
}
