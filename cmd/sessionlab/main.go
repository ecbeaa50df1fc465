// Command sessionlab runs scenarios: replicas of a stateful app behind a real balancer, simulated users logging in
// and browsing, and the report of what happened to their sessions.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Exit codes: 0 all good, 1 the run finished but an expectation was not met, 2 bad input or a failed run, 3 the run
// finished but is invalid: the harness's own parts ran out (Report.Invalid), whatever its expectations say.
const (
	exitUnmet   = 1
	exitFailed  = 2
	exitInvalid = 3
)

// invalidError marks a finished run whose figures are the harness's, not the system's: exit code 3.
type invalidError struct{ why string }

func (e invalidError) Error() string { return "invalid run: " + e.why }

// unmetError marks a finished run whose expectations were not all met (or a doctor's check that found what a
// scenario needs missing): exit code 1.
type unmetError struct {
	n    int
	what string // the message, when not the expectations'
}

func (e unmetError) Error() string {
	if e.what != "" {
		return e.what
	}
	return fmt.Sprintf("%d expectation(s) not met", e.n)
}

// startCPUProfile writes a CPU profile of the whole command to $SESSIONLAB_CPUPROFILE when it is set, and a heap
// profile to $SESSIONLAB_MEMPROFILE: how the client's cost per request and per user was taken apart (make
// bench-clients measures them, pprof says where they go).
func startCPUProfile() (stop func()) {
	if path := os.Getenv("SESSIONLAB_MEMPROFILE"); path != "" {
		// The heap in use after SESSIONLAB_MEMPROFILE_AFTER (default 5s): users at once are there mid-run, gone at the end.
		after, err := time.ParseDuration(os.Getenv("SESSIONLAB_MEMPROFILE_AFTER"))
		if err != nil {
			after = 5 * time.Second
		}
		time.AfterFunc(after, func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
		})
	}
	path := os.Getenv("SESSIONLAB_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	// %p is the process id: one profile per run when a benchmark starts several.
	f, err := os.Create(strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid())))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionlab: SESSIONLAB_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func main() {
	// testcontainers-go prints a banner and a line per container step; -v turns them back on.
	tclog.SetDefault(tclog.NewNoopLogger())
	// The command's own default, for its own process (the library sets nothing): runs remove their own containers,
	// and the reaper testcontainers would start instead cannot be pulled here. A user's setting wins.
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile()
	err := newRootCmd().ExecuteContext(ctx)
	stopProfile()
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "sessionlab:", err)
	var invalid invalidError
	if errors.As(err, &invalid) {
		os.Exit(exitInvalid)
	}
	var unmet unmetError
	if errors.As(err, &unmet) {
		os.Exit(exitUnmet)
	}
	os.Exit(exitFailed)
}
