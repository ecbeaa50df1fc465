// Command sessionlab runs scenarios: replicas of a stateful app behind a real balancer, simulated users logging in
// and browsing, and the report of what happened to their sessions.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Exit codes: 0 all good, 1 the run finished but an expectation was not met, 2 bad input or a failed run, 3 the run
// finished but is invalid: the harness's own parts ran out (Report.Invalid), whatever its expectations say; 130 the
// run was interrupted by SIGINT (Ctrl-C) and 143 by SIGTERM (128 + the signal's number, as a shell reports it) —
// also for `report` of the event log of such a run.
const (
	exitUnmet       = 1
	exitFailed      = 2
	exitInvalid     = 3
	exitInterrupted = 130
	exitTerminated  = 143
)

// invalidError marks a finished run whose figures are the harness's, not the system's: exit code 3.
type invalidError struct{ why string }

func (e invalidError) Error() string { return "invalid run: " + e.why }

// interruptedError marks a run (or the event log of a run) that was interrupted: exit 130, or 143 for SIGTERM.
type interruptedError struct {
	cause string // what the event log's end record says: "SIGINT", "SIGTERM", or a context's cause
	msg   string
}

func (e interruptedError) Error() string { return e.msg }

// code is the exit code of the interruption: 143 for SIGTERM, 130 for anything else.
func (e interruptedError) code() int {
	if e.cause == signalName(syscall.SIGTERM) {
		return exitTerminated
	}
	return exitInterrupted
}

// signalName is how a signal names an interruption's cause in the event log and the report: "SIGINT", "SIGTERM".
func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalCause is the cause the command's context is cancelled with on a signal: its text is the signal's name,
// which the harness writes to the event log's end record.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string { return signalName(c.sig) }

// interrupts turns SIGINT and SIGTERM into the command's context's cancellation: the first stops the run (its
// users in flight have their grace, the reports are written), a second aborts at once, stopping every process and
// container the runs started (those registered with register) before exiting.
type interrupts struct {
	mu    sync.Mutex
	stops []func(context.Context) error
	first os.Signal
}

// signals is the command's, for main and for the runs' cleanup registration (common.options).
var signals = &interrupts{}

// register keeps a run's stop, for an abort (harness.WithCleanup).
func (in *interrupts) register(stop func(context.Context) error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stops = append(in.stops, stop)
}

// received is the first signal, nil before any.
func (in *interrupts) received() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.first
}

// watch cancels the returned context on the first signal and aborts on the second.
func (in *interrupts) watch(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-ch
		if !ok {
			return
		}
		in.mu.Lock()
		in.first = sig
		in.mu.Unlock()
		fmt.Fprintf(stderr, "\nsessionlab: %s: no further user starts; those in flight have a few seconds to finish (again to abort at once)\n", signalName(sig))
		cancel(signalCause{sig})
		if _, ok := <-ch; !ok {
			return
		}
		fmt.Fprintln(stderr, "sessionlab: aborting: stopping every process and container the run started")
		in.abort()
		os.Exit(interruptedError{cause: signalName(sig)}.code())
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel(nil)
	}
}

// abort stops every run registered, each within the harness's own bound, whatever the run is doing.
func (in *interrupts) abort() {
	in.mu.Lock()
	stops := slices.Clone(in.stops)
	in.mu.Unlock()
	for _, stop := range stops {
		if err := stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "sessionlab: abort:", err)
		}
	}
}

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
	var ctx context.Context
	var stop func()
	if len(os.Args) > 1 && os.Args[1] == fakeAppCommand {
		// A replica is a server, not a run: SIGTERM drains its requests and it exits 0.
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	} else {
		ctx, stop = signals.watch(os.Stderr)
	}
	stopProfile := startCPUProfile()
	err := newRootCmd().ExecuteContext(ctx)
	stopProfile()
	stop()
	os.Exit(exitStatus(os.Stderr, err, signals.received()))
}

// exitStatus is the command's exit code for what it returned, after it prints err to stderr. A signal received decides
// whatever the command returned: the run was interrupted, even one interrupted before its users started.
func exitStatus(stderr io.Writer, err error, sig os.Signal) int {
	if err != nil {
		fmt.Fprintln(stderr, "sessionlab:", err)
	}
	var interrupted interruptedError
	var invalid invalidError
	var unmet unmetError
	switch {
	case sig != nil:
		return interruptedError{cause: signalName(sig)}.code()
	case err == nil:
		return 0
	case errors.As(err, &interrupted):
		return interrupted.code()
	case errors.As(err, &invalid):
		return exitInvalid
	case errors.As(err, &unmet):
		return exitUnmet
	}
	return exitFailed
}
