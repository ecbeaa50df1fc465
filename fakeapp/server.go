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
	"time"
)

// Main runs one replica as a process: it parses args (without the program name), serves until ctx ends, then drains
// in-flight requests before returning. cmd/fakeapp calls it with a context that SIGTERM and SIGINT cancel.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port)")
	var cfg Config
	fs.StringVar(&cfg.Name, "name", "replica", "replica name, sent in the X-Replica header")
	fs.IntVar(&cfg.Users, "users", 100000, "accounts user1..userN exist")
	fs.StringVar(&cfg.Password, "password", "secret", "the password of every account")
	fs.StringVar(&cfg.CookieName, "cookie-name", "sid", "session cookie name")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", 24*time.Hour, "session lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("replica", cfg.Name)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: New(cfg), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
