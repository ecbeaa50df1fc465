package harness

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testTopology(strategy string, replicas int) Topology {
	s := defaultScenario()
	s.Name = "harness-test"
	s.Balancer.Strategy = strategy
	s.App.Replicas = replicas
	return s.Topology()
}

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
}

func TestLocalStartsAndStopsEverything(t *testing.T) {
	requireIntegration(t)
	d := StartT(t, NewLocal(), testTopology("ip-hash", 3))

	require.Len(t, d.Replicas, 3)
	parts := d.Parts()
	require.Len(t, parts, 4, "three replicas and nginx")
	conf, err := os.ReadFile(filepath.Join(d.Dir, "nginx.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "ip_hash;")
	assert.Contains(t, string(conf), "listen "+d.Endpoint+" proxy_protocol;")
	for _, r := range d.Replicas {
		assert.Contains(t, string(conf), "server "+r.Addr+" max_fails=1 fail_timeout=10s;")
	}

	nginx := parts[3].(*localBalancer).pid()
	workers := ChildPIDs(nginx)
	require.NotEmpty(t, workers, "nginx runs its workers")
	pids := append([]int{nginx}, workers...)
	for _, p := range parts[:3] {
		pids = append(pids, p.(*localPart).pid())
	}
	for _, pid := range pids {
		require.True(t, Alive(pid), "pid %d runs while the deployment is up", pid)
	}

	require.NoError(t, d.Close(context.Background()))
	for _, pid := range pids {
		assert.False(t, Alive(pid), "pid %d is gone after Close", pid)
	}
	assert.NoDirExists(t, d.Dir)
	assert.NoError(t, d.Close(context.Background()), "Close is idempotent")
}

func TestLocalNginxThatExitsIsAnErrorWithItsOutput(t *testing.T) {
	requireIntegration(t)
	fake := filepath.Join(t.TempDir(), "nginx")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'nginx: [emerg] something is wrong' >&2\nexit 1\n"), 0o755))

	d, err := NewLocal(WithNginxBinary(fake)).Start(context.Background(), testTopology("round-robin", 2))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nginx exited")
	assert.Contains(t, err.Error(), "something is wrong")

	parts := d.Parts()
	require.Len(t, parts, 3, "both replicas and nginx were started")
	require.NoError(t, d.Close(context.Background()))
	for _, p := range parts {
		assert.False(t, Alive(p.(interface{ pid() int }).pid()), "%s is stopped after a failed start", p.Name())
	}
}

func TestLocalMissingNginxStartsNothing(t *testing.T) {
	d, err := NewLocal(WithNginxBinary("/nonexistent/nginx")).Start(context.Background(), testTopology("round-robin", 2))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/nginx is not an executable file")
	assert.Empty(t, d.Parts())
}

func TestFindBinaryNamesTheDebianPackage(t *testing.T) {
	_, err := findBinary("no-such-daemon-sessionlab", "no-such-package")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `install the Debian package "no-such-package"`)
}

func TestSweepStopsLeftoversOfADeadRun(t *testing.T) {
	dir, err := os.MkdirTemp("", workDirPrefix+"sweep-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The owner is a process that has exited: a run killed outright.
	owner := startSleeper(t, "")
	id := processIdentity(owner.cmd.Process.Pid)
	require.NoError(t, owner.kill())
	require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFile), []byte(id), 0o644))
	// A process that outlived it, holding its log in the directory (as an orphaned nginx worker does).
	orphan := startSleeper(t, filepath.Join(dir, "worker.log"))

	// A live run's directory is left alone.
	live, err := newWorkDir("sweep-live")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(live) })

	swept, err := SweepLocal()
	require.NoError(t, err)
	assert.Contains(t, swept.Dirs, dir)
	assert.Contains(t, swept.Processes, orphan.cmd.Process.Pid)
	<-orphan.done
	assert.NoDirExists(t, dir)
	assert.DirExists(t, live)
}

func startSleeper(t *testing.T, logPath string) *process {
	t.Helper()
	if logPath == "" {
		logPath = filepath.Join(t.TempDir(), "sleep.log")
	}
	p, err := startProcess("sleep", "/bin/sleep", []string{"60"}, logPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.signalGroup(syscall.SIGKILL) })
	return p
}

// A port taken between the harness choosing it and the part binding it (another run, a client's outgoing
// connection) makes the part start again on another port, not fail the run.
func TestPartStartsAgainWhenItsPortIsTaken(t *testing.T) {
	requireIntegration(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	d := &Deployment{Dir: t.TempDir(), topology: testTopology("round-robin", 1)}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	p, err := NewLocal().newReplica(d, LocateFakeApp(), d.topology.Replicas[0])
	require.NoError(t, err)
	p.bindTo(taken.Addr().String()) // as if another process had taken the chosen port first
	require.NoError(t, p.startRebinding(context.Background()))
	require.Len(t, d.Replicas, 1)
	assert.NotEqual(t, taken.Addr().String(), d.Replicas[0].Addr, "started on another port")
	assert.NoError(t, httpProbe("http://"+d.Replicas[0].Addr+"/healthz")(context.Background()))
	assert.Contains(t, p.Logs(context.Background(), 20), "address already in use", "the first try met the taken port")
}
