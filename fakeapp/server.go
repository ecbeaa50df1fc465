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
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/redis/go-redis/v9"
)

// Main runs one replica as a process, with the first argument "idp" the identity provider, or with "oidc" an
// OpenID Connect provider that approves every login (for your own app's SSO): it parses args
// (without the program name), serves until ctx ends, then drains in-flight requests before returning. cmd/fakeapp
// calls it with a context that SIGTERM and SIGINT cancel.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "idp" {
		return mainIdP(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "oidc" {
		return mainOIDC(ctx, args[1:], stderr)
	}
	fs := flag.NewFlagSet("fakeapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port)")
	var cfg Config
	fs.StringVar(&cfg.Name, "name", "replica", "replica name, sent in the X-Replica header")
	fs.BoolVar(&cfg.NoReplicaHeader, "no-replica-header", false, "do not send the X-Replica header")
	fs.IntVar(&cfg.Users, "users", 100000, "accounts user1..userN exist")
	fs.StringVar(&cfg.Password, "password", "secret", "the password of every account")
	fs.StringVar(&cfg.CookieName, "cookie-name", "sid", "session cookie name")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", 24*time.Hour, "session lifetime")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "end a session unused for this long (0: never)")
	sessions := fs.String("sessions", "memory", "where sessions live: memory, redis or cookie")
	redisAddr := fs.String("redis", "", "Redis address (host:port) for -sessions redis")
	secret := fs.String("secret", "", "secret sealing cookies and tickets (default: random, this process's own)")
	fs.BoolVar(&cfg.ClearBadCookie, "clear-bad-cookie", false, "clear a session cookie this replica cannot open (Wakapi)")
	fs.StringVar(&cfg.Login, "login", LoginForm, "login flow: form, form-csrf or sso")
	fs.StringVar(&cfg.IdPURL, "idp-url", "", "identity provider base URL as browsers reach it (-login sso)")
	idpKey := fs.String("idp-key", "", "key the identity provider seals its codes with (-login sso)")
	loginRate := fs.String("login-max-rate", "", "at most COUNT/WINDOW login submissions per client address, e.g. 10/1m (Wakapi's limit); default none")
	trustProxies := fs.String("trust-proxies", "", "comma-separated CIDRs whose X-Forwarded-For names the client for -login-max-rate (Wakapi's WAKAPI_TRUST_REVERSE_PROXY_IPS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loginRate != "" {
		var err error
		if cfg.LoginRate.Count, cfg.LoginRate.Window, err = parseRate(*loginRate); err != nil {
			return fmt.Errorf("-login-max-rate: %w", err)
		}
	}
	for _, c := range strings.FieldsFunc(*trustProxies, func(r rune) bool { return r == ',' }) {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("-trust-proxies: %q is not a CIDR", c)
		}
		cfg.LoginRate.TrustProxies = append(cfg.LoginRate.TrustProxies, p)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if !slices.Contains([]string{LoginForm, LoginFormCSRF, LoginSSO}, cfg.Login) {
		return fmt.Errorf("-login %q: allowed: form, form-csrf, sso", cfg.Login)
	}
	if cfg.Login == LoginSSO && (cfg.IdPURL == "" || *idpKey == "") {
		return errors.New("-login sso needs -idp-url and -idp-key")
	}
	cfg.Secret, cfg.IdPKey = []byte(*secret), []byte(*idpKey)
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("replica", cfg.Name)
	cfg.Log = log
	switch *sessions {
	case "memory":
	case "cookie":
		cfg.Stateless = true
	case "redis":
		if *redisAddr == "" {
			return errors.New("-sessions redis needs -redis host:port")
		}
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
		cfg.Store = NewRedisStore(rdb, contract.RedisKeyPrefix+"session:"+cfg.CookieName+"-")
		cfg.StateStore = NewRedisStore(rdb, contract.RedisKeyPrefix+"state:")
	default:
		return fmt.Errorf("-sessions %q: allowed: memory, redis, cookie", *sessions)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(ctx, ln, New(cfg), log)
}

func mainIdP(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeapp idp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on (host:port)")
	var cfg IdPConfig
	fs.IntVar(&cfg.Users, "users", 100000, "accounts user1..userN exist")
	fs.StringVar(&cfg.Password, "password", "secret", "the password of every account")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", 24*time.Hour, "how long the provider remembers a login")
	key := fs.String("key", "", "key sealing the provider's cookie and its codes; every app needs it as -idp-key (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.Key = []byte(*key)
	idp, err := NewIdP(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(ctx, ln, idp, slog.New(slog.NewTextHandler(stderr, nil)).With("replica", "idp"))
}

// drainTimeout bounds how long serve waits for in-flight requests once ctx ends.
const drainTimeout = 5 * time.Second

// serve serves h on ln until ctx ends, then stops accepting and lets in-flight requests finish (up to
// drainTimeout) before returning: a replica stopped with SIGTERM answers what it already accepted.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
