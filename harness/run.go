// Package harness runs a scenario: it compiles the scenario (package scenario) into a plan, starts the plan's
// topology on a runtime (local processes by default; package harness/docker for containers), walks the simulated
// users through their journeys while the nemesis runs the faults, writes the event log, computes the report with the
// scenario's expectations checked, and stops everything it started. It also says what this machine has of what runs
// need (Doctor) and builds the Go programs they run into the per-user tool cache. Its public sub-packages are
// scenario (the file), balancer (the templates), docker, k8s and sessionlabtest (for go tests); the machinery —
// the plan, the nemesis, the runtimes, the balancer table, the tool cache — is under internal/.
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
	"github.com/sessionlab/sessionlab/harness/internal/nemesis"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/target"
	"github.com/sessionlab/sessionlab/harness/internal/vocab"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
)

// Option configures Run.
type Option func(*runConfig)

type runConfig struct {
	runtime  runtime.Runtime
	events   io.Writer
	log      *slog.Logger
	watchers []Watcher
	shard    *[2]int // index, count
	cleanup  func(stop func(context.Context) error)
	grace    time.Duration
}

// defaultGrace is how long the users in flight of an interrupted run have to finish (WithGrace).
const defaultGrace = 5 * time.Second

// postRunTimeout bounds what an interrupted run still asks of the topology after its users: the app's side and the
// balancer's record.
const postRunTimeout = 10 * time.Second

// WithGrace sets how long the users in flight have to finish their journeys when ctx ends before every user has
// (the run is interrupted: Ctrl-C, SIGTERM, a cancelled context): no further user starts, and once the grace runs
// out the requests still in flight are cancelled and recorded as interrupted. Default 5s; 0 cuts them at once.
func WithGrace(d time.Duration) Option { return func(c *runConfig) { c.grace = max(d, 0) } }

// Watcher hears about a run while it goes, e.g. to show progress. Its methods are called from many goroutines.
type Watcher interface {
	Start(users int)     // the users are about to start
	Record(events.Event) // every event, as the report gets it
	UserDone()           // one user finished the journey
}

// WithWatcher tells w about the run while it goes.
func WithWatcher(w Watcher) Option { return func(c *runConfig) { c.watchers = append(c.watchers, w) } }

// WithRuntime chooses where the topology runs: Local (the default) or Docker.
func WithRuntime(rt Runtime) Option { return func(c *runConfig) { c.runtime = rt } }

// WithEvents writes the event log (a header record, then JSON lines, one per exchange) to w.
func WithEvents(w io.Writer) Option { return func(c *runConfig) { c.events = w } }

// WithCleanup hands register the run's stop before the runtime starts anything, for a test to register it with
// t.Cleanup first: a test that fails while the run goes on still stops every part. Run stops them all the same when
// it returns; stop is idempotent.
func WithCleanup(register func(stop func(context.Context) error)) Option {
	return func(c *runConfig) { c.cleanup = register }
}

// WithShard runs only the index-th (from 0) of count disjoint shares of the users (e.g. a Kubernetes Indexed Job's
// pod); `sessionlab report --merge` joins the shards' event logs into the run's report. A scenario with faults
// cannot be sharded: each shard would inject them.
func WithShard(index, count int) Option {
	return func(c *runConfig) { c.shard = &[2]int{index, count} }
}

// WithLogger logs the run's progress to l. Default: nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *runConfig) { c.log = l } }

// Run validates and compiles s — loaded from a file or built in Go, checked alike — starts its topology, walks its
// users through their journeys, stops everything it started (also when ctx is cancelled or a part fails) and returns
// the report with the expectations checked. Bad input is an error before anything starts. An error means the run
// itself failed; unmet expectations are in the report, not in the error. When ctx ends while the users run, the run
// is interrupted, not failed: the users in flight have their grace (WithGrace), the event log is closed with its
// end record marked interrupted, and the report of what ran is returned without an error, marked Interrupted, its
// expectations not judged met. When ctx ends before the users started, the error is ctx's.
func Run(ctx context.Context, s *scenario.Scenario, opts ...Option) (*reports.Report, error) {
	p, cfg, err := compile(s, opts)
	if err != nil {
		return nil, err
	}
	return runPlan(ctx, p, cfg)
}

// Check validates and compiles s with opts as Run does, starting nothing: a caller that runs several scenarios
// checks them all first, so that a bad one starts nothing.
func Check(s *scenario.Scenario, opts ...Option) error {
	_, _, err := compile(s, opts)
	return err
}

// Stack is a topology Start started, without users: where its balancer listens, and what stops it.
type Stack struct {
	Endpoint string // host:port of the balancer, which takes the PROXY protocol unless the scenario's identity says otherwise
	dep      *runtime.Deployment
}

// Close stops every part of the stack. It is safe on a nil or partly started stack, and idempotent.
func (st *Stack) Close(ctx context.Context) error {
	if st == nil {
		return nil
	}
	return st.dep.Stop(ctx)
}

// Start validates and compiles s as Run does and starts its topology — the replicas, the balancer and what they
// need — on the runtime Run would use (WithRuntime; default Local), without users or faults: for a caller that drives
// the stack itself, such as a benchmark's own clients or a test of target mode. On error the stack is returned as far
// as it started (nil when the scenario did not compile), so that the caller's deferred Close, registered before the
// error check, stops it.
func Start(ctx context.Context, s *scenario.Scenario, opts ...Option) (*Stack, error) {
	p, cfg, err := compile(s, opts)
	if err == nil {
		err = cfg.pickRuntime(p.Topology)
	}
	if err != nil {
		return nil, err
	}
	rt := cfg.runtime
	dep, err := runtime.New(rt.Name(), p.Topology)
	if err != nil {
		return nil, err
	}
	st := &Stack{dep: dep}
	if err := startDeployment(ctx, rt, dep); err != nil {
		return st, err
	}
	st.Endpoint = dep.Endpoint
	return st, nil
}

func compile(s *scenario.Scenario, opts []Option) (*plan.Plan, runConfig, error) {
	cfg := runConfig{log: slog.New(slog.DiscardHandler), grace: defaultGrace}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := plan.Compile(s)
	if err == nil && p.Topology.Target == nil {
		if id := s.Clients.Identity; id == vocab.IdentityForwardedFor || id == vocab.IdentityNone {
			err = s.Located(&scenario.KeyError{Key: "clients.identity", Msg: id + " applies to a live target only (target.url): " +
				"the balancers sessionlab starts read the address from the PROXY header (proxy-protocol) or the connection (bind)"})
		}
	}
	if err == nil && cfg.shard != nil {
		p, err = p.Shard(cfg.shard[0], cfg.shard[1])
	}
	return p, cfg, err
}

// pickRuntime settles where t runs: the target runtime for a live target, else the one chosen (default local).
func (cfg *runConfig) pickRuntime(t plan.Topology) error {
	switch {
	case t.Target != nil && cfg.runtime == nil:
		cfg.runtime = target.New()
	case t.Target != nil && cfg.runtime.Name() != target.Name:
		return fmt.Errorf("target.url %s: a live target starts nothing, so the %s runtime does not apply", t.Target.URL, cfg.runtime.Name())
	case cfg.runtime == nil:
		cfg.runtime = local.New()
	}
	return nil
}

func runPlan(ctx context.Context, p *plan.Plan, cfg runConfig) (rep *reports.Report, err error) {
	t := p.Topology
	if err := cfg.pickRuntime(t); err != nil {
		return nil, err
	}
	if err := prepareLimits(p, cfg.runtime.Name() == "local"); err != nil {
		return nil, err
	}
	cfg.log.Info("starting", "scenario", t.Name, "runtime", cfg.runtime.Name(), "replicas", len(t.Replicas), "strategy", t.Balancer.Strategy)
	dep, err := runtime.New(cfg.runtime.Name(), t)
	if err != nil {
		return nil, err
	}
	// The Stop is registered before anything starts: a part started before a failure is stopped with the rest.
	defer func() { err = errors.Join(err, dep.Stop(ctx)) }()
	if cfg.cleanup != nil {
		cfg.cleanup(dep.Stop)
	}
	if err := startDeployment(ctx, cfg.runtime, dep); err != nil {
		return nil, err
	}

	meta := p.Meta
	meta.Runtime = cfg.runtime.Name()
	acc := reports.NewAccumulator(meta)
	record := acc.Record
	var log *events.Writer
	if cfg.events != nil {
		// The header makes the log self-sufficient: `sessionlab report` renders it without the scenario file.
		if log, err = events.NewWriter(cfg.events, events.Header{Meta: meta, Expect: p.Expect}); err != nil {
			return nil, err
		}
		record = tee(acc.Record, log.Record)
	}
	cfg.log.Info("running users", "users", len(p.Users), "endpoint", dep.Endpoint)
	start := time.Now()
	clock := func() time.Duration { return time.Since(start) }
	nem := nemesis.New(dep, p.Faults, record, clock, cfg.log)
	// What goes on past an interruption runs under live: a fault action already started finishes (the nemesis
	// starts no other once the users' context ends), the balancer is watched while the users have their grace.
	live := context.WithoutCancel(ctx)
	usersCtx, usersDone := context.WithCancel(ctx)
	nem.Start(live, usersCtx)
	runOpts := t.RunOptions()
	runOpts.Concurrency, runOpts.Start, runOpts.ReplicaOf, runOpts.Grace = p.Concurrency, start, dep.ReplicaOf, cfg.grace
	recordUsers := tee(record, nem.Record)
	for _, w := range cfg.watchers {
		w.Start(len(p.Users))
		recordUsers = tee(recordUsers, w.Record)
		done := runOpts.UserDone
		runOpts.UserDone = func() {
			if done != nil {
				done()
			}
			w.UserDone()
		}
	}
	// The harness's own limits are told apart before anyone hears of an exchange: the log, the report, the nemesis.
	limits := &limitMarker{ctx: live, watch: dep.WatchLimits(clock)}
	recordUsers = limits.mark(recordUsers)
	stopWatch := dep.WatchBalancer(live)
	stats, runErr := clients.Run(ctx, dep.Endpoint, p.Users, p.Journey, recordUsers, runOpts)
	usersDone()
	stopWatch()
	limitHits := limits.stop(live)
	// Interrupted: ctx ended before every user had finished. clients.Run then returns ctx's error alone, which is
	// no failure of the run; any other error still is.
	interrupted := ctx.Err() != nil && stats.Done < len(p.Users)
	end := events.End{Interrupted: interrupted, UsersDone: &stats.Done}
	if interrupted {
		end.Cause = interruptCause(ctx)
		cfg.log.Warn("interrupted", "cause", end.Cause, "users_done", stats.Done, "users", len(p.Users))
	}
	if ctx.Err() != nil && runErr == ctx.Err() {
		runErr = nil
	}
	runErr = errors.Join(runErr, nem.Wait())
	post := ctx
	if ctx.Err() != nil {
		// The app's side and the balancer's record are still read, within a bound, for the figures so far.
		var cancel context.CancelFunc
		post, cancel = context.WithTimeout(live, postRunTimeout)
		defer cancel()
	}
	// What the app's side holds goes into the log too, so that the log alone can be rendered again. The user's own
	// app, and a live target, have no /metrics the harness could read: their figures are the clients' view, but for
	// the records app.store_keys names in the run's Redis.
	var readStore func(context.Context) (events.StoreStats, error)
	switch {
	case t.Own == nil && t.Target == nil:
		readStore = dep.StoreStats
	case t.Own != nil && t.Own.StoreKeys != "":
		readStore = func(ctx context.Context) (events.StoreStats, error) { return dep.OwnStoreStats(ctx, t.Own.StoreKeys) }
	}
	if readStore != nil {
		switch st, err := readStore(post); {
		case err != nil && interrupted:
			// The figures so far stand without the app's side: an interruption is no failed run.
			cfg.log.Warn("the app's side was not read after the interruption", "err", err)
		case err != nil:
			runErr = errors.Join(runErr, err)
		default:
			record(events.Event{TMs: clock().Milliseconds(), Step: events.StepStore, Store: &st})
		}
	}
	// And what the balancer itself said of its upstreams: a failover it made, or a replica it marked failed, shows
	// in no answer, and would leave the figures describing a topology other than the scenario's without a word.
	switch {
	case t.Target == nil:
		st := dep.BalancerStats(post)
		st.Limits = limitHits
		record(events.Event{TMs: clock().Milliseconds(), Step: events.StepBalancer, Balancer: &st})
	case len(limitHits) > 0:
		// A live target's balancer is not the harness's to ask, but this process's own limits are the harness's.
		st := events.BalancerStats{Kind: t.Balancer.Kind, Limits: limitHits,
			Unread: []string{"a live target's balancer: whatever serves " + t.Target.URL}}
		record(events.Event{TMs: clock().Milliseconds(), Step: events.StepBalancer, Balancer: &st})
	}
	// The report hears of the end as a reader of the log would.
	acc.Record(events.Event{TMs: clock().Milliseconds(), User: -1, Step: events.StepEnd, End: &end})
	if log != nil {
		runErr = errors.Join(runErr, log.CloseWith(end))
	}
	if runErr != nil && ctx.Err() == nil {
		runErr = fmt.Errorf("%w%s", runErr, dep.Logs(ctx, 20))
	}
	rep = acc.Report()
	rep.Check(p.Expect)
	if rep.Totals.Requests != int(stats.Sent) {
		runErr = errors.Join(runErr, fmt.Errorf("report counts %d requests, clients sent %d", rep.Totals.Requests, stats.Sent))
	}
	cfg.log.Info("run done", "requests", stats.Sent, "users", stats.Users)
	return rep, runErr
}

// interruptCause names what interrupted a run whose ctx ended: its cause ("interrupt signal received" from
// signal.NotifyContext; the CLI's own "SIGINT"), else its error.
func interruptCause(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil {
		return cause.Error()
	}
	return "interrupted"
}

// tee records each event with every one of records in turn.
func tee(records ...func(events.Event)) func(events.Event) {
	return func(e events.Event) {
		for _, r := range records {
			r(e)
		}
	}
}

// startDeployment starts dep on rt and waits until it is ready for users: each part answers, and a tier's
// instances that share their stick tables do.
func startDeployment(ctx context.Context, rt runtime.Runtime, dep *runtime.Deployment) error {
	if err := rt.Start(ctx, dep); err != nil {
		return fmt.Errorf("start %s runtime: %w", rt.Name(), err)
	}
	if err := dep.AwaitPeers(ctx); err != nil {
		return fmt.Errorf("start %s runtime: %w", rt.Name(), err)
	}
	return nil
}
