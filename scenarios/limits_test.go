package scenarios_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// A balancer the harness starts with far fewer connections than the users hold at once — the built-in nginx config
// with worker_connections 64, for 400 users arriving together and keeping their connections — breaks exchanges
// itself. Its error log says so ("worker_connections are not enough"), and the report counts what it broke as
// harness_limit, never as the system's errors; the run is marked invalid and the diagnosis says first that the
// figures are the harness's, naming the part and the limit.
func TestTheHarnesssOwnLimitIsNotTheSystems(t *testing.T) {
	text, err := balancer.Template("nginx")
	require.NoError(t, err)
	const sized = "worker_connections {{.WorkerConnections}};"
	require.Contains(t, string(text), sized)
	tiny := filepath.Join(t.TempDir(), "nginx-tiny.conf.tmpl")
	require.NoError(t, os.WriteFile(tiny, []byte(strings.Replace(string(text), sized, "worker_connections 64;", 1)), 0o644))

	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, evs := runOn(t, rt, "rr-memory.yaml", "app.sessions=cookie", "balancer.config="+tiny,
			"clients.users=400", "clients.concurrency=400", "clients.pages=3", "clients.keep_alive=30s",
			"clients.think={kind: constant, mean: 300ms}")
		broken := 0
		for _, e := range evs {
			if e.Outcome == events.OutcomeHarnessLimit {
				broken++
				assert.Empty(t, e.Replica, "an exchange the app answered is never the harness's")
			}
		}
		t.Logf("harness_limit %d, errors %d, of %d requests; limits %+v", rep.Totals.HarnessLimit, rep.Totals.Errors,
			rep.Totals.Requests, rep.HarnessLimits)
		assert.Positive(t, rep.Totals.HarnessLimit, "the exchanges nginx broke")
		assert.Equal(t, broken, rep.Totals.HarnessLimit, "as the event log marks them")
		assert.Zero(t, rep.Totals.Errors, "none of them counted as the system's errors")
		assert.Zero(t, rep.FailureCauses["error"])
		require.NotEmpty(t, rep.HarnessLimits)
		assert.Equal(t, "worker_connections", rep.HarnessLimits[0].Limit)
		assert.Contains(t, rep.HarnessLimits[0].Sample, "worker_connections are not enough")
		assert.NotEmpty(t, rep.Invalid)
		require.NotEmpty(t, rep.Diagnosis)
		assert.Equal(t, "harness-limit", rep.Diagnosis[0].Rule)
		assert.Contains(t, rep.Diagnosis[0].Text, "These figures are the harness's, not the system's: "+rep.HarnessLimits[0].Part+": worker_connections")
	})
}

// Sized for its worst instant, the same crowd on the built-in config holds: no exchange broken by the harness.
func TestUsersArrivingAtOnceAreSizedFor(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		rep, _ := runOn(t, rt, "rr-memory.yaml", "app.sessions=cookie", "clients.users=3000", "clients.concurrency=3000",
			"clients.pages=2", "clients.keep_alive=30s", "clients.think={kind: constant, mean: 2s}")
		assert.Zero(t, rep.Totals.HarnessLimit)
		assert.Empty(t, rep.Invalid)
		assert.Zero(t, rep.Totals.Errors)
		assert.Equal(t, 3000, rep.Totals.Users)
	})
}

// A Go balancer out of files — Caddy and Traefik started with 64 open files (a wrapper lowers the limit, then runs
// the real program) for 300 users arriving together and keeping their connections — says so in its log (an accept
// that failed, "too many open files"), and the run is the harness's: invalid, the limit named, none of what broke
// counted as the system's errors.
func TestAGoBalancerOutOfFilesIsTheHarnesss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real balancers and fakeapp processes; skipped with -short")
	}
	for _, kind := range []string{"caddy", "traefik"} {
		t.Run(kind, func(t *testing.T) {
			sets := []string{"app.sessions=cookie", "balancer.kind=" + kind, "clients.users=300", "clients.concurrency=300",
				"clients.pages=3", "clients.keep_alive=30s", "clients.think={kind: constant, mean: 300ms}"}
			s, err := scenario.Load("rr-memory.yaml", sets...)
			require.NoError(t, err)
			reqs, err := harness.Doctor(context.Background(), s, "local")
			require.NoError(t, err)
			var real string
			for _, r := range reqs {
				if r.Name == kind {
					require.NoError(t, r.Missing, "%s: %s", kind, r.Command)
					real = r.Path
				}
			}
			require.NotEmpty(t, real, "doctor names %s", kind)
			wrapper := filepath.Join(t.TempDir(), kind)
			require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nulimit -n 64\nexec "+real+" \"$@\"\n"), 0o755))

			rep, _ := runOn(t, harness.Local(harness.WithBinary(kind, wrapper)), "rr-memory.yaml", sets...)
			t.Logf("harness_limit %d, errors %d, of %d requests; limits %+v", rep.Totals.HarnessLimit, rep.Totals.Errors,
				rep.Totals.Requests, rep.HarnessLimits)
			require.NotEmpty(t, rep.HarnessLimits, "its log said it ran out")
			assert.Equal(t, "open_files", rep.HarnessLimits[0].Limit)
			assert.Contains(t, strings.ToLower(rep.HarnessLimits[0].Sample), "too many open files")
			assert.NotEmpty(t, rep.Invalid)
			assert.Zero(t, rep.Totals.Errors, "what broke is the harness's")
			assert.Equal(t, "harness-limit", rep.Diagnosis[0].Rule)
		})
	}
}
