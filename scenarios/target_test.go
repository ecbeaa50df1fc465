package scenarios_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
)

// liveStack is a deployment sessionlab did not start: three fakeapp processes and nginx in front, each started
// here, as a staging deployment would be. nginx takes the client address from X-Forwarded-For, names the replica
// that answered in an X-Pod header, and sets an affinity cookie (INGRESSCOOKIE) that names it too.
func liveStack(t *testing.T, strategy string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755)) // nginx's workers drop to another user when the test runs as root
	fakeApp, err := sessionlabtest.FakeApp(t.Context())
	require.NoError(t, err)
	var servers, pods strings.Builder
	for i := 1; i <= 3; i++ {
		addr := freeAddr(t)
		start(t, dir, fmt.Sprintf("replica-%d", i), fakeApp, "-listen", addr, "-name", fmt.Sprintf("replica-%d", i),
			"-users", "1000", "-secret", "shared-secret", "-sessions", "memory", "-login", "form")
		waitHTTP(t, "http://"+addr+"/healthz")
		fmt.Fprintf(&servers, "        server %s;\n", addr)
		fmt.Fprintf(&pods, "        %q replica-%d;\n", addr, i)
	}
	balance := map[string]string{"round-robin": "", "ip-hash": "ip_hash;"}[strategy]
	listen := freeAddr(t)
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
    upstream app {
        zone app 64k;
        %[2]s
%[3]s    }
    map $upstream_addr $pod {
        default "";
%[4]s    }
    server {
        listen %[5]s;
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Forwarded-For;
        location / {
            proxy_pass http://app;
            proxy_set_header Host $http_host;
            add_header X-Pod $pod always;
            add_header Set-Cookie "INGRESSCOOKIE=$pod; Path=/; HttpOnly" always;
        }
    }
}
`, dir, balance, servers.String(), pods.String(), listen)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644))
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx" // Debian's, outside an unprivileged user's PATH
	}
	start(t, dir, "nginx", nginx, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	waitHTTP(t, "http://"+listen+"/healthz")
	return "http://" + listen
}

// start runs a process in its own group, stopped (with whatever it forked) when the test ends.
func start(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".log"))
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		out.Close()
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "%s never answered", url)
}

// runTarget runs rr-memory against a live URL, its users sending their address in X-Forwarded-For.
func runTarget(t *testing.T, url string, overrides ...string) *reports.Report {
	t.Helper()
	s, err := scenario.Load("rr-memory.yaml", append([]string{"target.url=" + url, "clients.identity=x-forwarded-for", "clients.users=90"}, overrides...)...)
	require.NoError(t, err)
	rep, err := harness.Run(context.Background(), s)
	require.NoError(t, err)
	assert.Equal(t, "target", rep.Runtime)
	return rep
}

func TestTargetRoundRobinLosesLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	rep := runTarget(t, liveStack(t, "round-robin"), "target.replica_header=X-Pod")
	assert.Greater(t, failRate(t, rep), 0.5, "three replicas with sessions in memory, round-robin: most logins loop")
	assert.Len(t, rep.Replicas, 3, "each pod name the header carried is a replica")
}

// ip_hash on the address in X-Forwarded-For keeps every user on one replica, the same one the local runtime's
// nginx picks for the same scenario and seed — whether the replica is named by a header or by an affinity cookie.
func TestTargetIPHashMatchesTheLocalRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	base, _ := run(t, "rr-memory.yaml", "balancer.strategy=ip-hash", "clients.users=90")
	require.Len(t, requestsPerReplica(base), 3)
	url := liveStack(t, "ip-hash")
	for _, attribution := range []string{"target.replica_header=X-Pod", "target.affinity_cookie=INGRESSCOOKIE"} {
		t.Run(attribution, func(t *testing.T) {
			rep := runTarget(t, url, attribution)
			assert.Zero(t, failRate(t, rep), "no login lost")
			assert.Equal(t, requestsPerReplica(base), requestsPerReplica(rep), "per-replica counts")
			assert.Equal(t, strings.SplitN(attribution, "=", 2)[0] == "target.replica_header", strings.HasPrefix(rep.Attribution, "header "))
		})
	}
	t.Run("no attribution", func(t *testing.T) {
		rep := runTarget(t, url)
		assert.Zero(t, failRate(t, rep))
		assert.Empty(t, rep.Replicas, "which replica answered is unknown")
		assert.Nil(t, rep.Skew.MaxOverMean)
		require.NotEmpty(t, rep.Diagnosis)
		assert.Equal(t, "unattributed", rep.Diagnosis[0].Rule)
	})
}

// Four shards of the users, run one after another against one target, merge into exactly the single run: the
// same per-replica counts, and every user's requests answered by the same replicas in the same order.
func TestTargetShardsMergeToTheSingleRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
	url := liveStack(t, "ip-hash")
	s, err := scenario.Load("rr-memory.yaml", "target.url="+url, "clients.identity=x-forwarded-for", "clients.users=90",
		"target.replica_header=X-Pod", "clients.network.roam=0.2")
	require.NoError(t, err)
	var whole bytes.Buffer
	single, err := harness.Run(context.Background(), s, harness.WithEvents(&whole))
	require.NoError(t, err)

	shardLogs := make([][]byte, 4)
	var users []int
	for i := range shardLogs {
		var buf bytes.Buffer
		_, err = harness.Run(context.Background(), s, harness.WithEvents(&buf), harness.WithShard(i, 4))
		require.NoError(t, err)
		shardLogs[i] = buf.Bytes()
		users = append(users, loggedUsers(t, shardLogs[i])...)
	}
	assert.ElementsMatch(t, loggedUsers(t, whole.Bytes()), users, "the shards' users are the population, each once")

	logs := func(order ...int) []reports.Log {
		out := make([]reports.Log, len(order))
		for i, n := range order {
			out[i] = reports.Log{Name: fmt.Sprintf("shard-%d.jsonl", n), R: bytes.NewReader(shardLogs[n])}
		}
		return out
	}
	merged, err := reports.MergeLogs(logs(2, 0, 3, 1)...)
	require.NoError(t, err)
	assert.Equal(t, requestsPerReplica(single), requestsPerReplica(merged), "per-replica counts")
	assert.Equal(t, single.Totals.Requests, merged.Totals.Requests)
	assert.Equal(t, single.Totals.Users, merged.Totals.Users)
	assert.Equal(t, replicaSequences(t, whole.Bytes()), replicaSequences(t, shardLogs...), "every user's replica sequence")

	_, err = reports.MergeLogs(logs(0, 1, 3)...)
	assert.ErrorContains(t, err, "shard 2/4 is missing")
	_, err = reports.MergeLogs(logs(0, 1, 2, 3, 1)...)
	assert.ErrorContains(t, err, "shard 1/4 is given twice: shard-1.jsonl and shard-1.jsonl")
	_, err = reports.MergeLogs(append(logs(0, 1, 2, 3), reports.Log{Name: "whole.jsonl", R: bytes.NewReader(whole.Bytes())})...)
	assert.ErrorContains(t, err, "whole.jsonl: not the log of a shard")
}

// replicaSequences is, for each user of the logs, the replicas that answered their requests, in order.
func replicaSequences(t *testing.T, logs ...[]byte) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	for _, l := range logs {
		_, err := events.Read(bytes.NewReader(l), func(e events.Event) error {
			if e.IsExchange() {
				out[e.User] = append(out[e.User], e.Replica)
			}
			return nil
		})
		require.NoError(t, err)
	}
	return out
}

// loggedUsers are the users whose exchanges a log holds, each once.
func loggedUsers(t *testing.T, log []byte) []int {
	t.Helper()
	seen := map[int]bool{}
	var users []int
	_, err := events.Read(bytes.NewReader(log), func(e events.Event) error {
		if e.IsExchange() && !seen[e.User] {
			seen[e.User] = true
			users = append(users, e.User)
		}
		return nil
	})
	require.NoError(t, err)
	return users
}
