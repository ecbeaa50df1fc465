package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/docker"
	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rrMemory = "../../scenarios/rr-memory.yaml"

var binDir string // sessionlab and fakeapp, built once

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "sessionlab-cli-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/sessionlab/sessionlab/cmd/sessionlab", "github.com/sessionlab/sessionlab/cmd/fakeapp").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			return 2
		}
		binDir = dir
		os.Setenv("SESSIONLAB_FAKEAPP", filepath.Join(dir, "fakeapp"))
	}
	return m.Run()
}

// execute runs the CLI in-process and returns what it printed.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real nginx and fakeapp processes; skipped with -short")
	}
}

func TestRunJSONAndEventsFile(t *testing.T) {
	skipShort(t)
	evs := filepath.Join(t.TempDir(), "events.jsonl")
	out, err := execute(t, "run", "--format", "json", "--events", evs, rrMemory, "--set", "clients.users=50")
	require.NoError(t, err)
	var rep reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, reports.Schema, rep.Schema)
	assert.Equal(t, "round-robin", rep.Balancer.Strategy)
	assert.Equal(t, 50, rep.Totals.Users)

	f, err := os.Open(evs)
	require.NoError(t, err)
	defer f.Close()
	exchanges, stores := 0, 0
	_, err = events.Read(f, func(e events.Event) error {
		switch {
		case e.IsExchange():
			exchanges++
		case e.Step == events.StepStore:
			stores++
			require.NotNil(t, e.Store)
			assert.Equal(t, rep.Store.Sessions, e.Store.Sessions, "the log's store record is the report's")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, rep.Totals.Requests, exchanges, "one event line per request")
	assert.Equal(t, 1, stores, "one record of what the app's side held, at the end")
}

func TestUnmetExpectationExitsOne(t *testing.T) {
	skipShort(t)
	out, err := execute(t, "run", rrMemory, "--set", "clients.users=30", "--set", "expect.login_failure_rate=< 0.01")
	var unmet unmetError
	require.ErrorAs(t, err, &unmet, "exit code 1")
	assert.Contains(t, out, "FAIL  login_failure_rate < 0.01")
}

// A run the harness's own balancer broke (worker_connections 64 for 300 users holding connections) is invalid: exit
// code 3 whatever its expectations say, the report printed with the diagnosis saying so first.
func TestInvalidRunExitsThree(t *testing.T) {
	skipShort(t)
	text, err := balancer.Template("nginx")
	require.NoError(t, err)
	tiny := filepath.Join(t.TempDir(), "nginx-tiny.conf.tmpl")
	require.NoError(t, os.WriteFile(tiny, []byte(strings.Replace(string(text), "worker_connections {{.WorkerConnections}};", "worker_connections 64;", 1)), 0o644))
	out, err := execute(t, "run", rrMemory, "--set", "balancer.config="+tiny, "--set", "app.sessions=cookie",
		"--set", "clients.users=300", "--set", "clients.concurrency=300", "--set", "clients.keep_alive=30s",
		"--set", "expect.login_failure_rate=<= 1")
	var invalid invalidError
	require.ErrorAs(t, err, &invalid, "exit code 3: %s", out)
	assert.Contains(t, err.Error(), "invalid run: nginx round-robin: the harness's own parts ran out")
	assert.Contains(t, out, "These figures are the harness's, not the system's")
	assert.Contains(t, out, "ok    login_failure_rate <= 1", "the expectation held, and says nothing")
}

func TestCompareShowsEveryStrategy(t *testing.T) {
	skipShort(t)
	out, err := execute(t, "compare", "--strategies", "round-robin,ip-hash", "--set", "clients.users=40", rrMemory)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^nginx\s+round-robin\s`, out)
	assert.Regexp(t, `(?m)^nginx\s+ip-hash\s+\d+\s+0\.000\s`, out, "ip-hash has no login failures")
}

func TestCompareMatrixOfBalancersAndStrategies(t *testing.T) {
	skipShort(t)
	out, err := execute(t, "compare", "--strategies", "round-robin,ip-hash,cookie-insert,client-ip-sticky", "--balancers", "haproxy",
		"--set", "clients.users=40", rrMemory)
	require.NoError(t, err)
	for _, strategy := range []string{"round-robin", "ip-hash", "cookie-insert", "client-ip-sticky"} {
		assert.Regexp(t, `(?m)^haproxy\s+`+strategy+`\s+\d+\s`, out, "one row for %s", strategy)
	}
	assert.Regexp(t, `(?m)^haproxy\s+cookie-insert\s+\d+\s+0\.000\s`, out, "cookie-insert keeps every login")

	out, err = execute(t, "compare", "--strategies", "client-ip-sticky", "--balancers", "nginx,haproxy", "--set", "clients.users=40", "--format", "json", rrMemory)
	require.NoError(t, err, "an unsupported pair is a row, not an error")
	var rows []reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, "nginx", rows[0].Balancer.Kind)
	assert.Contains(t, rows[0].Skipped, "not supported by nginx")
	assert.Empty(t, rows[1].Skipped)
	assert.Equal(t, 0, rows[1].Totals.LoginFailures)
}

// The comparison a reader makes to choose a cookie strategy: hash-cookie hashes on both balancers and loses most
// logins on both; learn-cookie, a table only HAProxy has, loses none there and is a row nginx refuses by name.
func TestCompareCookieStrategies(t *testing.T) {
	skipShort(t)
	out, err := execute(t, "compare", "--balancers", "nginx,haproxy", "--strategies", "hash-cookie,learn-cookie",
		"--set", "clients.users=60", "--format", "json", rrMemory)
	require.NoError(t, err)
	var rows []reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 4)
	for _, i := range []int{0, 2} {
		require.NotNil(t, rows[i].Totals.LoginFailRate, "%s %s", rows[i].Balancer.Kind, rows[i].Balancer.Strategy)
		assert.Greater(t, *rows[i].Totals.LoginFailRate, 0.5, "%s hash-cookie", rows[i].Balancer.Kind)
	}
	assert.Equal(t, "nginx", rows[1].Balancer.Kind)
	assert.Contains(t, rows[1].Skipped, "not supported by nginx: open-source nginx cannot learn a cookie from an answer")
	assert.Equal(t, "learn-cookie", rows[3].Balancer.Strategy)
	assert.Empty(t, rows[3].Skipped)
	assert.Zero(t, rows[3].Totals.LoginFailures, "haproxy learn-cookie")
}

// The demo's three balancers: a pair a balancer cannot run is a row that names why, the others run for real.
func TestCompareThreeBalancers(t *testing.T) {
	skipShort(t)
	out, err := execute(t, "compare", "--balancers", "nginx,haproxy,caddy", "--strategies", "round-robin,cookie-insert,cookie-balanced",
		"--set", "clients.users=60", "--format", "json", rrMemory)
	require.NoError(t, err)
	var rows []reports.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 9)
	for _, r := range rows {
		name := r.Balancer.Kind + " " + r.Balancer.Strategy
		switch {
		case r.Balancer.Strategy == "cookie-balanced" && r.Balancer.Kind != "nginx":
			assert.Contains(t, r.Skipped, "not supported by "+r.Balancer.Kind, name)
		case r.Balancer.Strategy == "round-robin":
			require.NotNil(t, r.Totals.LoginFailRate, name)
			assert.Greater(t, *r.Totals.LoginFailRate, 0.3, name)
		default:
			assert.Empty(t, r.Skipped, name)
			assert.Equal(t, 60, r.Totals.LoginAttempts, name)
			assert.Zero(t, r.Totals.LoginFailures, name)
		}
	}
}

func TestBadInputIsAClearErrorAndStartsNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: bad\napp:\n  replicas: 0\n  colour: red\nbalancer:\n  strategy: sticky\n"), 0o644))
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"run", bad}, []string{bad + ":4: app.colour: unknown key", bad + ":3: app.replicas: 0 is out of range (allowed 1..64)", "balancer.strategy: \"sticky\" is not allowed"}},
		{[]string{"compare", "--strategies", "round-robin,magic", rrMemory}, []string{"--set balancer.strategy=magic: balancer.strategy: \"magic\" is not allowed"}},
		{[]string{"compare", "--balancers", "envoy", rrMemory}, []string{`--balancers: "envoy" is not a balancer (allowed: nginx, haproxy, caddy, traefik)`}},
		{[]string{"run", "--set", "balancer.strategy=client-ip-sticky", rrMemory}, []string{"balancer.strategy: client-ip-sticky is not supported by nginx"}},
		{[]string{"run", "--format", "yaml", rrMemory}, []string{`--format "yaml" is not known (allowed: text, json, markdown, html, junit)`}},
		{[]string{"run", "--runtime", "k8s", rrMemory}, []string{`--runtime "k8s" is not known`}},
		{[]string{"run"}, []string{"accepts 1 arg(s)"}},
		{[]string{"run", "--target", "http://127.0.0.1:9", "--runtime", "docker", rrMemory}, []string{"is a live deployment and nothing is started: --runtime, --image and --fakeapp do not apply"}},
		{[]string{"run", "--target", "http://127.0.0.1:9", "--set", "faults=[{at: 1s, action: kill, target: replica-1}]", rrMemory}, []string{"faults: a live target starts nothing the harness could fault"}},
		{[]string{"run", "--shard", "4/4", rrMemory}, []string{"--shard: shard 4/4: the index is out of range (allowed 0..3)"}},
		{[]string{"run", "--shard", "half", rrMemory}, []string{`--shard: shard "half" is not i/N`}},
		{[]string{"run", "--procs", "0", rrMemory}, []string{"--procs 0: allowed 1 to 1024"}},
		{[]string{"compare", "--procs", "2000", rrMemory}, []string{"--procs 2000: allowed 1 to 1024"}},
		{[]string{"report", "--merge", rrMemory}, []string{"not a run header record"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := len(sessionlabtest.Processes(os.Getpid()))
			_, err := execute(t, tt.args...)
			require.Error(t, err)
			var unmet unmetError
			assert.False(t, errors.As(err, &unmet), "bad input is exit code 2, not 1")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, sessionlabtest.Processes(os.Getpid()), before, "no process was started")
		})
	}
}

// --procs sets how many threads run the users while the command runs, $GOMAXPROCS wins over the flag's default,
// and the command puts back what was there.
func TestProcs(t *testing.T) {
	before := goruntime.GOMAXPROCS(0)
	tests := []struct {
		name   string
		env    string
		args   []string
		during int
	}{
		{"default", "", nil, 1},
		{"flag", "", []string{"--procs", "3"}, 3},
		{"GOMAXPROCS without the flag", "5", nil, before},
		{"the flag over GOMAXPROCS", "5", []string{"--procs", "2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("GOMAXPROCS", tt.env)
			} else {
				// t.Setenv then Unsetenv: the variable is put back after the test.
				t.Setenv("GOMAXPROCS", "")
				require.NoError(t, os.Unsetenv("GOMAXPROCS"))
			}
			var c common
			cmd := &cobra.Command{Use: "x"}
			c.register(cmd)
			require.NoError(t, cmd.Flags().Parse(tt.args))
			restore, err := c.setProcs(cmd)
			require.NoError(t, err)
			assert.Equal(t, tt.during, goruntime.GOMAXPROCS(0))
			restore()
			assert.Equal(t, before, goruntime.GOMAXPROCS(0))
		})
	}
}

// Ctrl-C in the middle of a run stops every process and removes every container and network the run started.
func TestInterruptStopsEverything(t *testing.T) {
	skipShort(t)
	t.Run("local", func(t *testing.T) {
		cmd := startRun(t, "local")
		var started []int
		require.Eventually(t, func() bool {
			started = sessionlabtest.Processes(cmd.Process.Pid)
			return len(started) == 5 // three replicas, nginx and its worker
		}, 20*time.Second, 50*time.Millisecond, "replicas and nginx start")
		interrupt(t, cmd)
		for _, pid := range started {
			assert.False(t, alive(pid), "pid %d stopped", pid)
		}
	})
	t.Run("docker", func(t *testing.T) {
		if err := docker.Available(context.Background()); err != nil {
			t.Skipf("docker runtime not tested: %v", err)
		}
		cmd := startRun(t, "docker")
		owner := sessionlabtest.DockerOwner(cmd.Process.Pid)
		require.Eventually(t, func() bool {
			return len(dockerList(t, "ps", "-q", "--filter", owner)) == 4
		}, 60*time.Second, 200*time.Millisecond, "replicas and nginx containers start")
		interrupt(t, cmd)
		assert.Empty(t, dockerList(t, "ps", "-aq", "--filter", owner), "no container left")
		assert.Empty(t, dockerList(t, "network", "ls", "-q", "--filter", owner), "no network left")
	})
}

// startRun starts a long run of the built CLI on runtime.
func startRun(t *testing.T, runtime string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "sessionlab"), "run", "--runtime", runtime,
		"--set", "clients.users=100000", "--set", "clients.concurrency=4", rrMemory)
	cmd.Stderr = new(bytes.Buffer)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// interrupt sends Ctrl-C after the users have run a little and waits for the CLI to exit as an interrupted run.
func interrupt(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitInterrupted, exit.ExitCode(), "an interrupted run exits 130: %s", cmd.Stderr)
}

func dockerList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// alive reports whether process pid runs (a zombie, exited but not reaped, does not).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !bytes.Contains(stat[bytes.LastIndexByte(stat, ')'):], []byte(") Z "))
}

// The sessionlab binary alone, copied into an empty directory and run with a PATH that has no go tool, runs a
// catalog scenario (its fake app is its own subcommand) and an own-app scenario (the fake app as "your app", started
// from app.command) to a report, and leaves the directory as it was.
func TestCopiedBinaryRunsAlone(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	bin, err := os.ReadFile(filepath.Join(binDir, "sessionlab"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sessionlab"), bin, 0o755))
	for _, f := range []string{"rr-memory.yaml", "own-app-fakeapp.yaml"} {
		text, err := os.ReadFile(filepath.Join("../../scenarios", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), text, 0o644))
	}
	before := listDir(t, dir)
	path := "/usr/sbin:/usr/bin:/sbin:/bin"
	for _, d := range filepath.SplitList(path) {
		require.NoFileExists(t, filepath.Join(d, "go"), "the PATH of this test has no go tool")
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command("./sessionlab", append([]string{"run", "--set", "clients.users=24", "--set", "clients.pages=2"}, args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + path, "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		require.NoError(t, err, "%s", out)
		return string(out), 0
	}
	out, code := run("--set", "expect.login_failure_rate=< 0.01", "rr-memory.yaml")
	assert.Equal(t, exitUnmet, code, "an expectation of no login failure is not met under round-robin: %s", out)
	assert.Regexp(t, `logins\s+\d+ attempts, [1-9]\d* failed`, out, "a report")

	out, code = run("--set", `app.command=["./sessionlab", "fakeapp", "-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}", "-no-replica-header"]`,
		"--set", "balancer.strategy=ip-hash", "own-app-fakeapp.yaml")
	assert.Equal(t, 0, code, "your own app under ip-hash keeps its users logged in: %s", out)
	assert.Regexp(t, `logins\s+24 attempts, 0 failed`, out, "a report")
	assert.Contains(t, out, "your app", "the replicas were the scenario's own app")
	assert.Equal(t, before, listDir(t, dir), "the directory is as it was")
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// doctor names every part a scenario needs, found or missing, with the command that installs a missing one, and
// exits 1 only when a scenario's part is missing.
func TestDoctor(t *testing.T) {
	skipShort(t)
	t.Setenv("SESSIONLAB_TOOLS", t.TempDir()) // an empty tool cache: no caddy there
	t.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := execute(t, "doctor", "--set", "balancer.kind=caddy", "--set", "app.sessions=redis", rrMemory)
	var unmet unmetError
	require.ErrorAs(t, err, &unmet, "%s", out)
	assert.Contains(t, err.Error(), "needs 1 missing part(s) on the local runtime")
	assert.Regexp(t, `caddy\s+missing\s+sessionlab install caddy`, out)
	assert.Regexp(t, `redis-server\s+found\s+/usr/bin/redis-server Redis server v=`, out)
	assert.NotContains(t, out, "nginx", "only what the scenario needs")

	out, err = execute(t, "doctor", rrMemory)
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `nginx\s+found\s+/usr/sbin/nginx nginx version: nginx/`, out)

	out, err = execute(t, "doctor")
	require.NoError(t, err, "without a scenario doctor only reports: %s", out)
	for _, part := range []string{"nginx", "haproxy", "caddy", "redis-server", "oauth2-proxy", "docker"} {
		assert.Regexp(t, `(?m)^`+part+`\s+(found|missing)`, out)
	}
	assert.Contains(t, out, "sessionlab install oauth2-proxy")
}

func TestGCPercent(t *testing.T) {
	assert.Equal(t, 289, gcPercent(50))  // the CPU run of make bench-clients: a small heap, collected less often
	assert.Equal(t, 64, gcPercent(5000)) // its memory run: less room than the default's as much again
	assert.Equal(t, gcPercentMin, gcPercent(100_000))
	assert.Equal(t, 300, gcPercent(0))
}
