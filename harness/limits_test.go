package harness

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A scenario with more users at once than the machine has ephemeral ports toward one balancer address is refused
// before anything starts, naming the key, the limit and the number; identity: bind is not held by it.
func TestTooManyUsersAtOnceForThePortsIsRefused(t *testing.T) {
	ports := filepath.Join(t.TempDir(), "ip_local_port_range")
	require.NoError(t, os.WriteFile(ports, []byte("50000\t59999\n"), 0o644)) // 10,000 ports
	defer func(old string) { portRangeFile = old }(portRangeFile)
	portRangeFile = ports

	tests := []struct {
		name     string
		users    int
		conns    int // connections they hold at once; 0: one each
		identity string
		want     string
	}{
		{"within the ports", 8000, 0, vocab.IdentityProxyProtocol, ""},
		{"beyond them", 9000, 0, vocab.IdentityProxyProtocol,
			"clients.concurrency: 9000 users arriving at once (clients.arrival: all) hold up to 9000 connections in the same instant from one address to the balancer; this machine's ephemeral ports (net.ipv4.ip_local_port_range 50000-59999) give 10000 per destination"},
		{"users with addresses of their own", 9000, 0, vocab.IdentityBind, ""},
		{"users thinking longer than the keep-alive", 50000, 5256, vocab.IdentityProxyProtocol, ""},
		{"and holding more than the ports", 50000, 9200, vocab.IdentityProxyProtocol, "50000 users arriving at once (clients.arrival: all) hold up to 9200 connections"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &plan.Plan{Topology: plan.Topology{Concurrency: tt.users, ClientConns: tt.conns, Identity: tt.identity}}
			err := prepareLimits(p, true)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, "lower clients.concurrency, shorten clients.keep_alive below the think time")
		})
	}
}

// Run refuses such a scenario before the runtime starts anything: the error is the limit, not a half-run.
func TestRunRefusesAScenarioTheMachineCannotHold(t *testing.T) {
	ports := filepath.Join(t.TempDir(), "ip_local_port_range")
	require.NoError(t, os.WriteFile(ports, []byte("60000 60999\n"), 0o644)) // 1,000 ports
	defer func(old string) { portRangeFile = old }(portRangeFile)
	portRangeFile = ports
	s, err := scenario.Load("../scenarios/rr-memory.yaml", "clients.users=500", "clients.concurrency=500")
	require.NoError(t, err)
	spy := &startSpy{}
	_, err = Run(context.Background(), s, WithRuntime(spy))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clients.concurrency: 500 users arriving at once (clients.arrival: all) hold up to 500 connections")
	assert.False(t, spy.started, "nothing was started")
}

// startSpy is a runtime that only records that it was asked to start something.
type startSpy struct{ started bool }

func (*startSpy) Name() string { return "local" }
func (s *startSpy) Start(context.Context, runtime.Recorder) error {
	s.started = true
	return nil
}

// The open-file limit is raised to what the users at once need, within the hard limit.
func TestRaiseNoFile(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	want := min(lim.Max, lim.Cur+10)
	require.NoError(t, raiseNoFile(want))
	var now syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now))
	assert.GreaterOrEqual(t, now.Cur, want)
}

// Users at once beyond the hard open-file limit: a process that may raise it does; one that may not is refused
// before anything starts, with the number and the limit.
func TestUsersBeyondTheFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	users := int(lim.Max) // two connections each: beyond the hard limit
	p := &plan.Plan{Topology: plan.Topology{Concurrency: users, Identity: vocab.IdentityBind}}
	err := prepareLimits(p, true)
	var now syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now))
	if now.Max > lim.Max {
		assert.NoError(t, err, "the hard limit was raised")
		assert.GreaterOrEqual(t, now.Cur, uint64(2*users))
		return
	}
	assert.ErrorContains(t, err, "users arriving at once (clients.arrival: all) hold up to")
	assert.ErrorContains(t, err, "the hard open-file limit is")
	assert.ErrorContains(t, err, "(ulimit -Hn) and this process may not raise it")
}

// The flash crowd of issue 29 — 20,000 users arriving at once, each pausing 10 s with keep_alive 5 s — needs every
// user's connection in the same instant, not the mean's few thousand: on a machine whose hard open-file limit is
// 20,000 and may not be raised, it is refused before anything starts, naming the limit, the number and what to
// change; where the limit may be raised, it is.
func TestTheFlashCrowdIsSizedForItsWorstInstant(t *testing.T) {
	s, err := scenario.Load("../scenarios/rr-memory.yaml", "app.sessions=cookie", "clients.users=20000",
		"clients.concurrency=20000", "clients.think={kind: constant, mean: 10s}", "clients.keep_alive=5s", "seed=31",
		"clients.identity=bind")
	require.NoError(t, err)
	defer func(get, set func(int, *syscall.Rlimit) error) { getrlimit, setrlimit = get, set }(getrlimit, setrlimit)
	for _, tt := range []struct {
		name string
		hard uint64
		want string
	}{
		{"the machine here", 20000, "clients.concurrency: 20000 users arriving at once (clients.arrival: all) hold up to " +
			"20000 connections in the same instant, about 41024 open files in this process (and as many in the " +
			"balancer, started as a local process with the same limits): the hard open-file limit is 20000 (ulimit -Hn) " +
			"and this process may not raise it; spread the arrivals (clients.arrival: {kind: fixed, rate: N}), lower " +
			"clients.concurrency, or split the run into shards"},
		{"a machine that holds it", 65536, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lim := syscall.Rlimit{Cur: 1024, Max: tt.hard}
			getrlimit = func(_ int, l *syscall.Rlimit) error { *l = lim; return nil }
			setrlimit = func(_ int, l *syscall.Rlimit) error {
				if l.Max > lim.Max {
					return syscall.EPERM
				}
				lim = *l
				return nil
			}
			spy := &startSpy{}
			_, err := Run(context.Background(), s, WithRuntime(spy))
			if tt.want != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
				assert.False(t, spy.started, "nothing was started")
				return
			}
			assert.True(t, spy.started, "sized and started: %v", err)
			assert.Equal(t, tt.hard, lim.Cur, "the soft limit raised to the hard one")
		})
	}
}

// An exchange this process could not open for want of files or ports is the harness's own, whatever the parts'
// logs say; one the app answered, or another error, is left as it is.
func TestOwnLimitsMarkTheirExchanges(t *testing.T) {
	dep, err := runtime.New("target", plan.Topology{Balancer: plan.BalancerSpec{Kind: "nginx"}})
	require.NoError(t, err)
	m := &limitMarker{ctx: context.Background(), watch: dep.WatchLimits(func() time.Duration { return 0 })}
	var got []events.Event
	record := m.mark(func(e events.Event) { got = append(got, e) })
	record(events.Event{TMs: 10, Step: events.StepLogin, Outcome: events.OutcomeError, Error: "dial tcp 127.0.0.1:80: socket: too many open files"})
	record(events.Event{TMs: 20, Step: events.StepPage, Outcome: events.OutcomeError, Error: "dial tcp 127.0.0.1:80: connect: cannot assign requested address"})
	record(events.Event{TMs: 30, Step: events.StepPage, Outcome: events.OutcomeError, Error: "read answer: EOF"})
	record(events.Event{TMs: 40, Step: events.StepPage, Outcome: events.OutcomeError, Replica: "replica-1", Status: 500})
	require.Len(t, got, 4)
	assert.Equal(t, events.OutcomeHarnessLimit, got[0].Outcome)
	assert.Equal(t, events.OutcomeHarnessLimit, got[1].Outcome)
	assert.Equal(t, events.OutcomeError, got[2].Outcome, "no part said it ran out")
	assert.Equal(t, events.OutcomeError, got[3].Outcome, "the app answered")
	hits := m.stop(context.Background())
	require.Len(t, hits, 2)
	assert.Equal(t, events.LimitHit{Part: ownPart, Limit: "open_files", Lines: 1, FirstMs: 10, LastMs: 10,
		Sample: "dial tcp 127.0.0.1:80: socket: too many open files"}, hits[0])
	assert.Equal(t, "ephemeral_ports", hits[1].Limit)
}
