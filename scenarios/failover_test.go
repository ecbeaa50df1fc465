package scenarios_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stopBeforeUsers stops one replica's process once the deployment is up and before the first user starts, behind
// the harness's back: its listener is gone, the balancer's config still names it.
type stopBeforeUsers struct {
	t       *testing.T
	replica string
}

func (s *stopBeforeUsers) Start(int) {
	var pid int
	for _, p := range sessionlabtest.Processes(os.Getpid()) {
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); err == nil && bytes.Contains(cmd, []byte("\x00-name\x00"+s.replica+"\x00")) {
			pid = p
		}
	}
	require.NotZero(s.t, pid, "the process of %s", s.replica)
	require.NoError(s.t, syscall.Kill(pid, syscall.SIGTERM))
	require.Eventually(s.t, func() bool { return !slices.Contains(sessionlabtest.Processes(os.Getpid()), pid) }, 5*time.Second, 10*time.Millisecond)
}
func (s *stopBeforeUsers) Record(events.Event) {}
func (s *stopBeforeUsers) UserDone()           {}

// runWithReplica1Stopped runs s (four replicas) with replica-1 stopped before the first user starts.
func runWithReplica1Stopped(t *testing.T, s *scenario.Scenario) *reports.Report {
	t.Helper()
	stop := &stopBeforeUsers{t: t, replica: "replica-1"}
	rep, err := harness.Run(context.Background(), s, harness.WithWatcher(stop))
	require.NoError(t, err)
	require.Len(t, rep.Replicas, 4)
	return rep
}

// assertOnlyReplica1Marked: no other replica has a failover or a mark, and the diagnosis marks the figures.
func assertOnlyReplica1Marked(t *testing.T, rep *reports.Report) {
	t.Helper()
	for _, r := range rep.Replicas[1:] {
		assert.Zero(t, r.FailedOver+r.MarkedFailed, r.Name)
	}
	found := false
	for _, f := range rep.Diagnosis {
		found = found || f.Rule == "topology-differs"
	}
	assert.True(t, found, "the diagnosis marks the figures: %+v", rep.Diagnosis)
}

// A replica the balancer cannot reach, with no fault of the scenario's: nginx fails over to the next one and the run
// would otherwise describe three replicas as if they were the scenario's four. The report counts the failovers
// against the replica the balancer picked first, and says the figures describe another topology.
func TestAnUnreachableReplicaIsNotSilent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	s, err := scenario.Load("rr-memory.yaml", "app.replicas=4", "balancer.strategy=ip-hash", "clients.users=200", "clients.pages=4")
	require.NoError(t, err)
	rep := runWithReplica1Stopped(t, s)
	r1 := rep.Replicas[0]
	assert.Equal(t, "replica-1", r1.Name)
	assert.Zero(t, r1.Requests, "replica-1 answered nothing")
	assert.Positive(t, r1.FailedOver, "nginx's failovers away from replica-1 are counted")
	assert.Positive(t, r1.MarkedFailed, "and the times nginx's error log says it disabled replica-1")
	for _, r := range rep.Replicas[1:] {
		assert.Zero(t, r.FailedOver, r.Name)
	}
	require.NotEmpty(t, rep.Diagnosis)
	found := false
	for _, f := range rep.Diagnosis {
		if f.Rule == "topology-differs" {
			found = true
			assert.Contains(t, f.Text, "3 of its 4 replicas answered anything")
			assert.Contains(t, f.Text, "(replica-1 ")
		}
	}
	assert.True(t, found, "the diagnosis marks the figures: %+v", rep.Diagnosis)
}

// HAProxy says nothing in its answers when it redispatches a request away from a server it cannot reach: the
// harness reads its statistics after the run, and the report counts the redispatches against the replica HAProxy
// left and marks the figures. With health checks on, HAProxy also takes the replica down, which is counted too.
func TestHAProxyFailoversAreCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real haproxy and fakeapp processes; skipped with -short")
	}
	cases := []struct {
		name   string
		set    []string
		failed bool // redispatches counted against replica-1
		marked bool // a health check took replica-1 down
	}{
		{"redispatch", []string{"balancer.redispatch=true"}, true, false},
		{"health check", []string{"balancer.health_check={interval: 100ms, fall: 1}", "balancer.redispatch=true",
			"clients.think={kind: constant, mean: 200ms}"}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := append([]string{"app.replicas=4", "balancer.kind=haproxy", "balancer.strategy=round-robin",
				"clients.users=120", "clients.pages=4"}, c.set...)
			s, err := scenario.Load("rr-memory.yaml", set...)
			require.NoError(t, err)
			rep := runWithReplica1Stopped(t, s)
			r1 := rep.Replicas[0]
			assert.Zero(t, r1.Requests, "replica-1 answered nothing")
			if c.failed {
				assert.Positive(t, r1.FailedOver, "HAProxy's redispatches away from replica-1 are counted")
			}
			if c.marked {
				assert.Positive(t, r1.MarkedFailed, "the health check's down of replica-1 is counted")
			}
			assertOnlyReplica1Marked(t, rep)
		})
	}
}

// Caddy retries a request whose upstream refuses on another (lb_retries) and says nothing of it in the answer; its
// passive health check counts the failure. The harness polls those counts on the admin socket of the local
// runtime's Caddy: the report counts the failovers and the mark against replica-1 and marks the figures.
func TestCaddyFailoversAreCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real caddy and fakeapp processes; skipped with -short")
	}
	s, err := scenario.Load("rr-memory.yaml", "app.replicas=4", "balancer.kind=caddy", "balancer.strategy=round-robin",
		"clients.users=120", "clients.pages=4", "clients.think={kind: constant, mean: 100ms}")
	require.NoError(t, err)
	rep := runWithReplica1Stopped(t, s)
	r1 := rep.Replicas[0]
	assert.Zero(t, r1.Requests, "replica-1 answered nothing")
	assert.Positive(t, r1.FailedOver, "Caddy's failed tries on replica-1, retried elsewhere, are counted")
	assert.Positive(t, r1.MarkedFailed, "and the times its passive health check took replica-1 out")
	assertOnlyReplica1Marked(t, rep)
}
