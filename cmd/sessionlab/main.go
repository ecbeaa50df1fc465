// Command sessionlab runs scenarios: replicas of a stateful app behind a real balancer, simulated users logging in
// and browsing, and the report of what happened to their sessions.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Exit codes: 0 all good, 1 the run finished but an expectation was not met, 2 bad input or a failed run.
const (
	exitUnmet  = 1
	exitFailed = 2
)

// unmetError marks a finished run whose expectations were not all met.
type unmetError struct{ n int }

func (e unmetError) Error() string { return fmt.Sprintf("%d expectation(s) not met", e.n) }

func main() {
	// testcontainers-go prints a banner and a line per container step; -v turns them back on.
	tclog.SetDefault(tclog.NewNoopLogger())
	// The command's own default, for its own process (the library sets nothing): runs remove their own containers,
	// and the reaper testcontainers would start instead cannot be pulled here. A user's setting wins.
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "sessionlab:", err)
	var unmet unmetError
	if errors.As(err, &unmet) {
		os.Exit(exitUnmet)
	}
	os.Exit(exitFailed)
}
