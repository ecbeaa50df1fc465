package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/redis/go-redis/v9"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// topology compiles a small scenario with the given overrides.
func topology(t *testing.T, set ...string) plan.Topology {
	t.Helper()
	s, err := scenario.Parse("local-test.yaml", []byte("name: local-test\nclients: {users: 10}\n"), set...)
	require.NoError(t, err)
	p, err := plan.Compile(s)
	require.NoError(t, err)
	return p.Topology
}

func testTopology(t *testing.T, strategy string, replicas int) plan.Topology {
	return topology(t, "balancer.strategy="+strategy, "app.replicas="+strconv.Itoa(replicas))
}

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
}

func TestLocalStartsAndStopsEverything(t *testing.T) {
	requireIntegration(t)
	d := runtime.StartT(t, New(), testTopology(t, "ip-hash", 3))

	require.Len(t, d.Replicas(), 3)
	parts := d.Parts()
	require.Len(t, parts, 4, "three replicas and nginx")
	conf, err := os.ReadFile(filepath.Join(d.Dir(), "nginx.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "ip_hash;")
	assert.Contains(t, string(conf), "listen "+d.Endpoint+" proxy_protocol backlog=")
	for _, r := range d.Replicas() {
		assert.Contains(t, string(conf), "server "+r.Addr+" max_fails=1 fail_timeout=10s;")
	}

	nginx := parts[3].(*localBalancer).pid()
	workers := runtime.ChildPIDs(nginx)
	require.NotEmpty(t, workers, "nginx runs its workers")
	pids := append([]int{nginx}, workers...)
	for _, p := range parts[:3] {
		pids = append(pids, p.(*localPart).pid())
	}
	for _, pid := range pids {
		require.True(t, runtime.Alive(pid), "pid %d runs while the deployment is up", pid)
	}

	require.NoError(t, d.Close(context.Background()))
	for _, pid := range pids {
		assert.False(t, runtime.Alive(pid), "pid %d is gone after Close", pid)
	}
	assert.NoDirExists(t, d.Dir())
	assert.NoError(t, d.Close(context.Background()), "Close is idempotent")
}

func TestLocalNginxThatExitsIsAnErrorWithItsOutput(t *testing.T) {
	requireIntegration(t)
	fake := filepath.Join(t.TempDir(), "nginx")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'nginx: [emerg] something is wrong' >&2\nexit 1\n"), 0o755))

	d, err := runtime.Start(context.Background(), New(WithBinary("nginx", fake)), testTopology(t, "round-robin", 2))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nginx exited")
	assert.Contains(t, err.Error(), "something is wrong")

	parts := d.Parts()
	require.Len(t, parts, 3, "both replicas and nginx were started")
	require.NoError(t, d.Close(context.Background()))
	for _, p := range parts {
		assert.False(t, runtime.Alive(p.(interface{ pid() int }).pid()), "%s is stopped after a failed start", p.Name())
	}
}

func TestLocalMissingNginxStartsNothing(t *testing.T) {
	d, err := runtime.Start(context.Background(), New(WithBinary("nginx", "/nonexistent/nginx")), testTopology(t, "round-robin", 2))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/nginx is not an executable file")
	assert.Empty(t, d.Parts())
}

func TestMissingBinaryNamesTheDebianPackage(t *testing.T) {
	_, err := New().binary("no-such-daemon-sessionlab", "no-such-package")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-daemon-sessionlab: not found in $SESSIONLAB_NO_SUCH_DAEMON_SESSIONLAB, the tool cache, PATH or /usr/sbin: install the Debian package no-such-package")
}

// A port taken between the harness choosing it and the part binding it (another run, a client's outgoing
// connection) makes the part start again on another port, not fail the run.
func TestPartStartsAgainWhenItsPortIsTaken(t *testing.T) {
	requireIntegration(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	d, err := runtime.New("local", testTopology(t, "round-robin", 1))
	require.NoError(t, err)
	d.SetDir(t.TempDir())
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	app, err := FakeApp(context.Background())
	require.NoError(t, err)
	r := &localRun{l: New(), d: d, appCmd: []string{app}, hostAddrs: map[string]string{}}
	d.SetBackend(r)
	p, err := r.newReplica(d.Topology().Replicas[0])
	require.NoError(t, err)
	p.bindTo(taken.Addr().String()) // as if another process had taken the chosen port first
	require.NoError(t, p.startRebinding(context.Background()))
	require.Len(t, d.Replicas(), 1)
	assert.NotEqual(t, taken.Addr().String(), d.Replicas()[0].Addr, "started on another port")
	assert.NoError(t, runtime.HTTPProbe("http://"+d.Replicas()[0].Addr+"/healthz")(context.Background()))
	assert.Contains(t, p.Logs(context.Background(), 20), "address already in use", "the first try met the taken port")
}

// StoreStats counts the session keys in the real Redis, not what the replicas or the clients say.
func TestStoreStatsCountsRedisKeys(t *testing.T) {
	requireIntegration(t)
	d := runtime.StartT(t, New(), topology(t, "app.sessions=redis", "app.replicas=2"))
	addr, err := storeAddr(t, d)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	for _, k := range []string{"session:sid-a", "session:sid-b", "session:other-c", "state:x"} {
		require.NoError(t, rdb.Set(ctx, contract.RedisKeyPrefix+k, "v", 0).Err())
	}
	require.NoError(t, rdb.Set(ctx, "unrelated", "v", 0).Err())

	st, err := d.StoreStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, "redis", st.Kind)
	assert.Equal(t, 3, st.Sessions, "session keys only: not SSO states, not other keys")
	assert.Empty(t, st.Unread, "both replicas' metrics were read")

	// A replica that is down is named, not silently counted as zero.
	p, err := d.Part("replica-2")
	require.NoError(t, err)
	require.NoError(t, p.Kill(ctx))
	st, err = d.StoreStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-2"}, st.Unread)
}

func TestRestartStore(t *testing.T) {
	requireIntegration(t)
	d := runtime.StartT(t, New(), topology(t, "app.sessions=redis", "app.replicas=1"))
	ctx := context.Background()
	count := func() int {
		addr, err := storeAddr(t, d)
		require.NoError(t, err)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		n, err := rdb.DBSize(ctx).Result()
		require.NoError(t, err)
		return int(n)
	}
	addr, err := storeAddr(t, d)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	rdb.Close()

	require.NoError(t, d.RestartStore(ctx, true))
	assert.Equal(t, 1, count(), "saved before the restart: the key is back")
	require.NoError(t, d.RestartStore(ctx, false))
	assert.Equal(t, 0, count(), "no persistence: everything is gone, the earlier save included")
}

// storeAddr is where the test reaches the deployment's Redis.
func storeAddr(t *testing.T, d *runtime.Deployment) (string, error) {
	t.Helper()
	p, err := d.Part(plan.PartStore)
	require.NoError(t, err)
	return p.(runtime.StorePart).HostAddr(context.Background())
}

// A command that exits at once, and one that never answers its health path: each fails the start within its
// timeout, with what the process wrote, and leaves no process behind.
func TestOwnAppThatExitsOrNeverGetsReady(t *testing.T) {
	requireIntegration(t)
	marker := fmt.Sprintf("sessionlab-ownapp-test-%d", os.Getpid())
	cases := []struct {
		name, script, want string
		within             time.Duration
	}{
		{"exits at once", "echo cannot open the database " + marker + " >&2; exit 3", "cannot open the database", 5 * time.Second},
		{"never ready", "echo listening somewhere else " + marker + "; exec sleep 600", "not ready after 2s", 6 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yaml := fmt.Sprintf("name: own-fails\napp:\n  replicas: 2\n  command: [/bin/sh, -c, %q]\n  health: {timeout: 2s}\n", c.script)
			s, err := scenario.Parse("own.yaml", []byte(yaml))
			require.NoError(t, err)
			p, err := plan.Compile(s)
			require.NoError(t, err)
			start := time.Now()
			d, err := runtime.Start(context.Background(), New(), p.Topology)
			require.Error(t, err)
			closeErr := d.Close(context.Background())
			assert.Less(t, time.Since(start), c.within)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), marker, "the error carries the replica's output")
			assert.True(t, closeErr == nil || !errors.Is(closeErr, context.DeadlineExceeded))
			assert.Empty(t, processesWith(marker), "no process of the app is left")
		})
	}
}

// processesWith lists the command lines of running processes that mention s.
func processesWith(s string) []string {
	var found []string
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		if cmd, err := os.ReadFile(p); err == nil && strings.Contains(string(cmd), s) && !slices.Contains(os.Args, string(cmd)) {
			found = append(found, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return found
}
