package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// Option configures Run.
type Option func(*runConfig)

type runConfig struct {
	runtime  Runtime
	events   io.Writer
	log      *slog.Logger
	watchers []Watcher
}

// Watcher hears about a run while it goes, e.g. to show progress. Its methods are called from many goroutines.
type Watcher interface {
	Start(users int)     // the users are about to start
	Record(events.Event) // every event, as the report gets it
	UserDone()           // one user finished the journey
}

// WithWatcher tells w about the run while it goes.
func WithWatcher(w Watcher) Option { return func(c *runConfig) { c.watchers = append(c.watchers, w) } }

// WithRuntime chooses where the topology runs. Default: NewLocal().
func WithRuntime(rt Runtime) Option { return func(c *runConfig) { c.runtime = rt } }

// WithEvents writes the event log (JSON lines, one per exchange) to w.
func WithEvents(w io.Writer) Option { return func(c *runConfig) { c.events = w } }

// WithLogger logs the run's progress to l. Default: nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *runConfig) { c.log = l } }

// Run starts the scenario's topology, walks its users through their journeys, stops everything it started (also
// when ctx is cancelled or a part fails) and returns the report with the scenario's expectations checked. An
// error means the run itself failed; unmet expectations are in the report, not in the error.
func Run(ctx context.Context, s *Scenario, opts ...Option) (rep *reports.Report, err error) {
	cfg := runConfig{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.runtime == nil {
		cfg.runtime = NewLocal()
	}
	users, err := clients.Population(s.Seed, s.Clients)
	if err != nil {
		return nil, err
	}
	journey, err := s.Journey.Journey(s.Clients.Pages.Min, s.Clients.Relogin)
	if err != nil {
		return nil, fmt.Errorf("journey: %w", err)
	}

	cfg.log.Info("starting", "scenario", s.Name, "runtime", cfg.runtime.Name(), "replicas", s.App.Replicas, "strategy", s.Balancer.Strategy)
	dep, err := cfg.runtime.Start(ctx, s.Topology())
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err = errors.Join(err, dep.Close(stopCtx))
	}()
	if err != nil {
		return nil, fmt.Errorf("start %s runtime: %w", cfg.runtime.Name(), err)
	}

	meta := s.meta(cfg.runtime.Name())
	acc := reports.NewAccumulator(meta)
	var sink events.Sink = acc
	var log *events.Writer
	if cfg.events != nil {
		// The header makes the log self-sufficient: `sessionlab report` renders it without the scenario file.
		if log, err = events.NewWriter(cfg.events, events.Header{Meta: meta, Expect: s.Expect}); err != nil {
			return nil, fmt.Errorf("write the event log: %w", err)
		}
		sink = events.Tee(acc, log)
	}
	cfg.log.Info("running users", "users", len(users), "endpoint", dep.Endpoint)
	journey.WebSocket, journey.Think = s.Clients.WebSocket, s.Clients.Think
	start := time.Now()
	clock := func() time.Duration { return time.Since(start) }
	nem := newNemesis(dep, s, sink, clock, cfg.log)
	usersCtx, usersDone := context.WithCancel(ctx)
	nem.start(ctx, usersCtx)
	runOpts := clients.RunOptions{Concurrency: s.Clients.Concurrency, Start: start, Bind: s.Clients.Identity == clients.IdentityBind,
		ReplicaOf: dep.ReplicaOf}
	userSink := events.Tee(sink, nem)
	for _, w := range cfg.watchers {
		w.Start(len(users))
		userSink = events.Tee(userSink, w)
		done := runOpts.UserDone
		runOpts.UserDone = func() {
			if done != nil {
				done()
			}
			w.UserDone()
		}
	}
	stats, runErr := clients.Run(usersCtx, dep.Endpoint, users, journey, userSink, runOpts)
	usersDone()
	runErr = errors.Join(runErr, nem.wait())
	// What the app's side holds goes into the log too, so that the log alone can be rendered again. The user's own
	// app has no /metrics the harness could read: its figures are the clients' view.
	if s.own == nil {
		if st, err := dep.StoreStats(ctx); err != nil {
			runErr = errors.Join(runErr, err)
		} else {
			sink.Record(events.Event{TMs: clock().Milliseconds(), Step: events.StepStore, Store: &st})
		}
	}
	if log != nil {
		runErr = errors.Join(runErr, log.Close())
	}
	if runErr != nil && ctx.Err() == nil {
		runErr = fmt.Errorf("%w%s", runErr, dep.logsOf(ctx, 20))
	}
	rep = acc.Report()
	rep.Check(s.Expect)
	if rep.Totals.Requests != int(stats.Sent) {
		runErr = errors.Join(runErr, fmt.Errorf("report counts %d requests, clients sent %d", rep.Totals.Requests, stats.Sent))
	}
	cfg.log.Info("run done", "requests", stats.Sent, "users", stats.Users)
	return rep, runErr
}
