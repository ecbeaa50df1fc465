package scenarios_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/docker"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runtimes are the rows every scenario test runs under.
var runtimes = []struct {
	name string
	new  func(t *testing.T) harness.Runtime
}{
	{"local", func(*testing.T) harness.Runtime { return harness.Local() }},
	{"docker", func(t *testing.T) harness.Runtime {
		if err := docker.Available(context.Background()); err != nil {
			t.Skipf("docker runtime not tested: %v", err)
		}
		rt, err := docker.New()
		require.NoError(t, err)
		return rt
	}},
}

// eachRuntime runs fn once per runtime, as subtests named after them.
func eachRuntime(t *testing.T, fn func(t *testing.T, rt harness.Runtime)) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes or containers; skipped with -short")
	}
	for _, r := range runtimes {
		t.Run(r.name, func(t *testing.T) { fn(t, r.new(t)) })
	}
}

// run runs a catalog scenario on the local runtime and returns its report and event log.
func run(t *testing.T, file string, overrides ...string) (*reports.Report, []events.Event) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	return runOn(t, harness.Local(), file, overrides...)
}

// runOn runs a catalog scenario on rt and returns its report and event log.
func runOn(t *testing.T, rt harness.Runtime, file string, overrides ...string) (*reports.Report, []events.Event) {
	t.Helper()
	s, err := scenario.Load(file, overrides...)
	require.NoError(t, err)
	var log bytes.Buffer
	rep, err := harness.Run(context.Background(), s, harness.WithRuntime(rt), harness.WithEvents(&log))
	require.NoError(t, err)
	var evs []events.Event // exchanges only: fault marks and the store record are in the report
	_, err = events.Read(&log, func(e events.Event) error {
		if e.IsExchange() {
			evs = append(evs, e)
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, evs, rep.Totals.Requests, "every request appears once in the event log")
	return rep, evs
}

func TestRoundRobinMemorySessionsLoop(t *testing.T) {
	eachRuntime(t, testRoundRobinMemorySessionsLoop)
}

func testRoundRobinMemorySessionsLoop(t *testing.T, rt harness.Runtime) {
	rep, _ := runOn(t, rt, "rr-memory.yaml")

	require.NotNil(t, rep.Totals.LoginFailRate)
	assert.GreaterOrEqual(t, *rep.Totals.LoginFailRate, 0.5, "most logins bounce back to the login page")
	assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["loop"], "every failure is a login loop")
	require.NotNil(t, rep.Totals.SessionLoss)
	assert.Greater(t, *rep.Totals.SessionLoss, 0.5, "a session lives on one replica of three")
	for _, r := range rep.Replicas {
		assert.InDelta(t, 1.0/3, *r.Share, 0.02, "round-robin spreads requests evenly: %s", r.Name)
	}
}

func TestIPHashKeepsEveryoneLoggedIn(t *testing.T) {
	eachRuntime(t, testIPHashKeepsEveryoneLoggedIn)
}

func testIPHashKeepsEveryoneLoggedIn(t *testing.T, rt harness.Runtime) {
	rep, evs := runOn(t, rt, "rr-memory.yaml", "balancer.strategy=ip-hash")

	assert.Equal(t, 0, rep.Totals.LoginFailures)
	assert.Equal(t, 0, rep.Totals.SessionLosses)
	assert.Equal(t, 0, rep.Totals.Errors)
	assert.Equal(t, 300, rep.Totals.LoginAttempts, "nobody had to log in twice")
	served := map[int]map[string]bool{}
	for _, e := range evs {
		if served[e.User] == nil {
			served[e.User] = map[string]bool{}
		}
		served[e.User][e.Replica] = true
	}
	for user, replicas := range served {
		assert.Len(t, replicas, 1, "user %d stays on one replica", user)
	}
}

// nginxIPHash is nginx 1.22's ip_hash choice among n equal-weight peers (ngx_http_upstream_ip_hash_module.c): the
// first three octets of an IPv4 address, all sixteen bytes of an IPv6 one.
func nginxIPHash(a netip.Addr, n int) int {
	var key []byte
	if a.Is4() {
		b := a.As4()
		key = b[:3]
	} else {
		b := a.As16()
		key = b[:]
	}
	hash := 89
	for _, b := range key {
		hash = (hash*113 + int(b)) % 6271
	}
	return hash % n
}

// The real nginx must hash the simulated address from the PROXY protocol header, for both families.
func TestIPHashPicksTheReplicaNginxWouldForTheSimulatedAddress(t *testing.T) {
	eachRuntime(t, testIPHashPicksTheReplicaNginxWould)
}

func testIPHashPicksTheReplicaNginxWould(t *testing.T, rt harness.Runtime) {
	_, evs := runOn(t, rt, "rr-memory.yaml", "balancer.strategy=ip-hash",
		`clients.network.pools=["198.18.0.0/15", "2001:db8::/48"]`, "clients.users=200", "clients.pages=2")
	families := map[bool]int{}
	for _, e := range evs {
		addr := netip.MustParseAddr(e.Addr)
		families[addr.Is4()]++
		want := fmt.Sprintf("replica-%d", nginxIPHash(addr, 3)+1)
		require.Equal(t, want, e.Replica, "user %d at %s", e.User, e.Addr)
	}
	assert.Positive(t, families[true], "IPv4 users ran")
	assert.Positive(t, families[false], "IPv6 users ran")
}

func TestIPHashPutsOneNetworkOnOneReplica(t *testing.T) {
	for _, replicas := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			rep, _ := run(t, "rr-memory.yaml", "balancer.strategy=ip-hash", fmt.Sprintf("app.replicas=%d", replicas),
				`clients.network.pools=["203.0.113.0/24"]`, "clients.users=200", "clients.pages=3")
			require.NotNil(t, rep.Skew.MaxOverMean)
			assert.InDelta(t, float64(replicas), *rep.Skew.MaxOverMean, 1e-9, "every request on one replica")
			busy := 0
			for _, r := range rep.Replicas {
				if r.Requests > 0 {
					busy++
				}
			}
			assert.Equal(t, 1, busy)
		})
	}
}

func TestIPHashSpreadsManyNetworks(t *testing.T) {
	rep, _ := run(t, "rr-memory.yaml", "balancer.strategy=ip-hash")
	for _, r := range rep.Replicas {
		assert.Greater(t, *r.Share, 0.2, "%s gets a fair part of 512 /24s", r.Name)
	}
	assert.Less(t, *rep.Skew.MaxOverMean, 1.3)
}

func TestIPHashIsDeterministic(t *testing.T) {
	counts := func() []int {
		rep, _ := run(t, "rr-memory.yaml", "balancer.strategy=ip-hash", "clients.users=100")
		var c []int
		for _, r := range rep.Replicas {
			c = append(c, r.Requests)
		}
		return c
	}
	first := counts()
	assert.Equal(t, first, counts(), "same scenario and seed, same per-replica counts")
}

func TestExpectationsAreChecked(t *testing.T) {
	rep, _ := run(t, "rr-memory.yaml", "clients.users=60",
		"expect.login_failure_rate=< 0.01", "expect.skew.max_over_mean=< 1.5")
	require.Len(t, rep.Expectations, 2)
	byKey := map[string]reports.Expectation{}
	for _, e := range rep.Expectations {
		byKey[e.Key] = e
	}
	assert.False(t, byKey["login_failure_rate"].OK, "round-robin with memory sessions fails the login bound")
	assert.True(t, byKey["skew.max_over_mean"].OK, "and spreads load evenly")
}

// The same scenario and seed give the same per-replica counts whether the parts are processes or containers.
func TestIPHashCountsAreTheSameInBothRuntimes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes and containers; skipped with -short")
	}
	counts := map[string][]int{}
	for _, r := range runtimes {
		t.Run(r.name, func(t *testing.T) {
			rep, _ := runOn(t, r.new(t), "rr-memory.yaml", "balancer.strategy=ip-hash", "clients.users=150", "clients.pages=4")
			for _, rr := range rep.Replicas {
				counts[r.name] = append(counts[r.name], rr.Requests)
			}
		})
	}
	if len(counts) < 2 {
		t.Skip("one runtime did not run; nothing to compare")
	}
	assert.Equal(t, counts["local"], counts["docker"])
}
