package plan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appTopology(t *testing.T, set ...string) plan.Topology {
	t.Helper()
	s, err := scenario.Parse("t.yaml", []byte("name: app-test\n"), set...)
	require.NoError(t, err)
	return compile(t, s).Topology
}

// compile compiles a scenario the test knows to be valid.
func compile(t *testing.T, s *scenario.Scenario) *plan.Plan {
	t.Helper()
	p, err := plan.Compile(s)
	require.NoError(t, err)
	return p
}

// argValue returns the value after name in args, and whether name is there.
func argValue(args []string, name string) (string, bool) {
	i := slices.Index(args, name)
	if i < 0 {
		return "", false
	}
	if i+1 < len(args) {
		return args[i+1], true
	}
	return "", true
}

func TestReplicaArgs(t *testing.T) {
	tests := []struct {
		name       string
		set        []string
		sameSecret bool
		cookies    [2]string
		extra      map[string]string // flag -> value ("" for a bare flag)
		absent     []string
	}{
		{"defaults: memory, form, shared secret and name", nil, true, [2]string{"sid", "sid"},
			map[string]string{"-sessions": "memory", "-login": "form"}, []string{"-redis", "-idp-url", "-idle-timeout", "-clear-bad-cookie"}},
		{"per-replica secret and cookie name", []string{"app.secret=per-replica", "app.cookie_name=per-replica"}, false,
			[2]string{"sid-replica-1", "sid-replica-2"}, nil, nil},
		{"redis", []string{"app.sessions=redis"}, true, [2]string{"sid", "sid"},
			map[string]string{"-sessions": "redis", "-redis": "10.0.0.3:6379"}, []string{"-idp-url"}},
		{"sso", []string{"app.login=sso"}, true, [2]string{"sid", "sid"},
			map[string]string{"-login": "sso", "-idp-url": "http://127.0.0.1:9"}, []string{"-redis"}},
		{"lifetimes and Wakapi's cookie clearing", []string{"app.session_ttl=1h", "app.idle_timeout=90s", "app.clear_bad_cookie=true", "app.sessions=cookie"},
			true, [2]string{"sid", "sid"}, map[string]string{"-session-ttl": "1h0m0s", "-idle-timeout": "1m30s", "-clear-bad-cookie": "", "-sessions": "cookie"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := appTopology(t, tt.set...)
			var secrets []string
			for i, r := range top.Replicas[:2] {
				args := top.FakeAppArgs(r, "127.0.0.1:1", "10.0.0.3:6379", "http://127.0.0.1:9")
				name, _ := argValue(args, "-name")
				assert.Equal(t, r.Name, name)
				cookie, _ := argValue(args, "-cookie-name")
				assert.Equal(t, tt.cookies[i], cookie)
				secret, _ := argValue(args, "-secret")
				require.Len(t, secret, 64, "a 256-bit secret, hex")
				secrets = append(secrets, secret)
				for f, want := range tt.extra {
					got, ok := argValue(args, f)
					require.True(t, ok, "%s in %q", f, args)
					if want != "" {
						assert.Equal(t, want, got, f)
					}
				}
				for _, f := range tt.absent {
					_, ok := argValue(args, f)
					assert.False(t, ok, "%s not in %q", f, args)
				}
			}
			assert.Equal(t, tt.sameSecret, secrets[0] == secrets[1])
		})
	}
}

func TestSecretsDeriveFromTheSeed(t *testing.T) {
	a := appTopology(t, "app.secret=per-replica", "app.login=sso")
	b := appTopology(t, "app.secret=per-replica", "app.login=sso")
	c := appTopology(t, "app.secret=per-replica", "app.login=sso", "seed=2")
	assert.Equal(t, a.Replicas, b.Replicas, "same seed, same secrets")
	assert.Equal(t, a.App.IdPKey, b.App.IdPKey)
	assert.NotEqual(t, a.Replicas[0].Secret, c.Replicas[0].Secret, "another seed, other secrets")
	assert.NotEqual(t, a.App.IdPKey, c.App.IdPKey)
	assert.NotEqual(t, a.Replicas[0].Secret, a.App.IdPKey)
}

func TestUserTemplate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	write("good.tmpl", "listen {{.Listen}}\n{{range .Replicas}}server {{.Name}} {{.Addr}}\n{{end}}")
	file := write("s.yaml", "name: t\nbalancer:\n  config: good.tmpl\n")
	s, err := scenario.Load(file)
	require.NoError(t, err)
	tmpl := compile(t, s).Topology.Balancer.Template
	require.NotNil(t, tmpl, "a template is found beside the scenario file")
	var text strings.Builder
	require.NoError(t, tmpl.Execute(&text, balancer.Config{Listen: "127.0.0.1:18080", Replicas: []balancer.Upstream{
		balancer.NewUpstream("replica-1", 1, "127.0.0.1:18081"), balancer.NewUpstream("replica-2", 2, "127.0.0.1:18082")}}))
	assert.Equal(t, "listen 127.0.0.1:18080\nserver replica-1 127.0.0.1:18081\nserver replica-2 127.0.0.1:18082\n", text.String())

	s, err = scenario.Parse("bad.yaml", []byte("name: t\nbalancer:\n  config: nowhere.tmpl\n"))
	require.NoError(t, err)
	_, err = plan.Compile(s)
	assert.ErrorContains(t, err, "bad.yaml:3: balancer.config: open nowhere.tmpl: no such file")

	tests := []struct{ name, text, want string }{
		{"parse error", "line one\nline two {{if .Listen}}\n", "bad1.tmpl:3: unexpected EOF"},
		{"unknown field", "ok\nok\nlisten {{.Port}}\n", `bad2.tmpl:3:9: executing "` + filepath.Join(dir, "bad2.tmpl") + `" at <.Port>: can't evaluate field Port`},
		{"unknown function", "{{upper .Listen}}\n", `bad3.tmpl:1: function "upper" not defined`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write("bad"+string(rune('1'+i))+".tmpl", tt.text)
			s, err := scenario.Parse(file, []byte("name: t\nbalancer:\n  config: "+p+"\n"))
			require.NoError(t, err, "Parse reads no template: Validate is pure")
			_, err = plan.Compile(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "s.yaml:3: balancer.config: template: ")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

const ownAppYAML = `name: own
seed: 7
app:
  replicas: 3
  secret: %s
  command: ["/opt/app/bin", "--listen={{.Addr}}", "--name", "{{.Name}}", "--data={{.DataDir}}", "--db={{.SharedDir}}/app.db"]
  env:
    APP_PORT: "{{.Port}}"
    APP_KEY: "{{.Secret}}"
    APP_INDEX: "{{.Index}}"
  empty_env: true
  stagger: 1s
  health: {path: /api/health, timeout: 5s}
`

func TestOwnAppCommandIsTemplatedPerReplica(t *testing.T) {
	for _, secret := range []string{"shared", "per-replica"} {
		t.Run(secret, func(t *testing.T) {
			s, err := scenario.Parse("own.yaml", []byte(fmt.Sprintf(ownAppYAML, secret)))
			require.NoError(t, err)
			topo := compile(t, s).Topology
			require.NotNil(t, topo.Own)
			assert.Equal(t, time.Second, topo.Own.Stagger)
			assert.Equal(t, plan.Health{Path: "/api/health", Timeout: 5 * time.Second}, topo.Own.Health)

			runDir := t.TempDir()
			keys := map[string]bool{}
			for i, r := range topo.Replicas {
				listen := fmt.Sprintf("127.0.0.1:%d", 19000+i)
				v, err := topo.AppVars(r, listen, runDir, "", "")
				require.NoError(t, err)
				c, err := topo.Own.LocalCommand(v)
				require.NoError(t, err)
				dataDir := filepath.Join(runDir, "data", r.Name)
				assert.Equal(t, "/opt/app/bin", c.Bin)
				assert.Equal(t, []string{"--listen=" + listen, "--name", r.Name, "--data=" + dataDir, "--db=" + filepath.Join(runDir, "shared", "app.db")}, c.Args)
				assert.Equal(t, dataDir, c.Dir, "the working directory defaults to the replica's data directory")
				assert.DirExists(t, dataDir)
				assert.DirExists(t, filepath.Join(runDir, "shared"))
				require.Len(t, c.Env, 3, "empty_env: only the scenario's variables, %v", c.Env)
				assert.Equal(t, fmt.Sprintf("APP_INDEX=%d", i+1), c.Env[0])
				assert.Equal(t, fmt.Sprintf("APP_PORT=%d", 19000+i), c.Env[2])
				key, _ := strings.CutPrefix(c.Env[1], "APP_KEY=")
				assert.Len(t, key, 64)
				keys[key] = true
			}
			if secret == "shared" {
				assert.Len(t, keys, 1, "one key for every replica")
			} else {
				assert.Len(t, keys, 3, "each replica its own key")
			}
		})
	}
}

func TestOwnAppKeepsTheEnvironmentUnlessEmpty(t *testing.T) {
	t.Setenv("SESSIONLAB_OWNAPP_TEST", "kept")
	s, err := scenario.Parse("own.yaml", []byte("name: own\napp:\n  command: [app]\n  env: {A: b}\n"))
	require.NoError(t, err)
	topo := compile(t, s).Topology
	v, err := topo.AppVars(topo.Replicas[0], "127.0.0.1:1", t.TempDir(), "", "")
	require.NoError(t, err)
	c, err := topo.Own.LocalCommand(v)
	require.NoError(t, err)
	assert.Contains(t, c.Env, "SESSIONLAB_OWNAPP_TEST=kept")
	assert.Equal(t, "A=b", c.Env[len(c.Env)-1], "the scenario's variables come last, so they win")
	assert.Equal(t, "app", c.Bin, "a bare program name is looked up in PATH")

	s, err = scenario.Parse(filepath.Join("/srv/scenarios", "own.yaml"), []byte("name: own\napp:\n  command: [./bin/app]\n"))
	require.NoError(t, err)
	topo = compile(t, s).Topology
	c, err = topo.Own.LocalCommand(v)
	require.NoError(t, err)
	assert.Equal(t, "/srv/scenarios/bin/app", c.Bin, "a relative path is the scenario file's directory's")
}

// A scenario built in Go is refused with the same key and words as the file that says the same.
func TestCompileChecksAGoValueAsAFile(t *testing.T) {
	cases := []struct {
		name string
		set  func(*scenario.Scenario)
		yaml string
		want string
	}{
		{"bad own-app template", func(s *scenario.Scenario) { s.App.Command = []string{"app", "{{.Prot}}"} },
			"app:\n  command: [app, \"{{.Prot}}\"]\n", "app.command[1]: template: app.command[1]:1:2: executing"},
		{"replicas out of range", func(s *scenario.Scenario) { s.App.Replicas = 0 }, "app:\n  replicas: 0\n", "app.replicas: 0 is out of range"},
		{"strategy the kind lacks", func(s *scenario.Scenario) { s.Balancer.Strategy = "client-ip-sticky" },
			"balancer:\n  strategy: client-ip-sticky\n", "balancer.strategy: client-ip-sticky is not supported by nginx"},
		{"journey template", func(s *scenario.Scenario) { s.Journey.Pages = []string{"/x/{{.Pg}}"} }, "journey:\n  pages: [\"/x/{{.Pg}}\"]\n", "journey.pages[0]"},
		{"fault target", func(s *scenario.Scenario) {
			s.Faults = []scenario.Fault{{At: "1s", Action: "kill", Target: "replica-9"}}
		},
			"faults: [{at: 1s, action: kill, target: replica-9}]\n", `faults[0].target: "replica-9" is not a part of this scenario`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := scenario.Default()
			s.Name = "go-value"
			c.set(&s)
			_, goErr := plan.Compile(&s)
			require.Error(t, goErr)
			assert.Contains(t, goErr.Error(), c.want)
			_, fileErr := scenario.Parse("f.yaml", []byte("name: go-value\n"+c.yaml))
			require.Error(t, fileErr)
			assert.Contains(t, fileErr.Error(), c.want)
		})
	}
	s := scenario.Default()
	s.Name = "go-value"
	s.App.Command = []string{"./bin/app", "--listen={{.Addr}}"}
	p, err := plan.Compile(&s)
	require.NoError(t, err)
	require.NotNil(t, p.Topology.Own, "the Go value's app.command is the replicas, not the built-in app")
	assert.Len(t, p.Topology.Own.Command, 2)
	assert.Len(t, p.Users, s.Clients.Users)
	assert.Equal(t, []string{"replica-1", "replica-2", "replica-3"}, p.Meta.Replicas)
}

// Every scenario of the catalog, and every override the CLI's documentation shows, loads and compiles; the same
// scenario as a Go value with the same overrides compiles to the same plan.
func TestCatalogCompiles(t *testing.T) {
	files, err := filepath.Glob("../../../scenarios/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := scenario.Load(f)
			require.NoError(t, err)
			p, err := plan.Compile(s)
			require.NoError(t, err)
			assert.Len(t, p.Topology.Replicas, s.App.Replicas)
			for i, r := range p.Topology.Replicas {
				assert.Equal(t, i+1, r.Index, "replica specs carry their index")
			}
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			assert.NotEmpty(t, data)
		})
	}
}

// A live target's answers are attributed as the target section says; its replicas are named by its answers.
func TestTargetAttribution(t *testing.T) {
	for set, want := range map[string]clients.Attribution{
		"target.replica_header=X-Pod":          {Header: "X-Pod"},
		"target.affinity_cookie=INGRESSCOOKIE": {Cookie: "INGRESSCOOKIE"},
		"target.url=http://127.0.0.1:9":        {None: true},
	} {
		s, err := scenario.Parse("t.yaml", []byte("name: t\ntarget: {url: \"http://127.0.0.1:9\"}\nclients: {identity: x-forwarded-for}\n"), set)
		require.NoError(t, err, set)
		p := compile(t, s)
		require.NotNil(t, p.Topology.Target)
		assert.Equal(t, want, p.Topology.Target.Attribution, set)
		assert.Empty(t, p.Meta.Replicas, "a live target's replicas are named by its answers")
		assert.Equal(t, "http://127.0.0.1:9", p.Meta.Target)
	}
}

// The shards of a plan are disjoint and together the population, each user as it is in the whole.
func TestShardsPartitionThePopulation(t *testing.T) {
	s, err := scenario.Parse("t.yaml", []byte("name: t\nclients: {users: 103, network: {roam: 0.3}}\n"))
	require.NoError(t, err)
	p := compile(t, s)
	seen := map[int]int{}
	for i := range 4 {
		shard, err := p.Shard(i, 4)
		require.NoError(t, err)
		assert.Equal(t, i, shard.Meta.Shard.Index)
		assert.Nil(t, p.Meta.Shard, "the whole plan is untouched")
		for _, u := range shard.Users {
			seen[u.ID]++
			assert.Equal(t, p.Users[u.ID-1], u, "user %d as in the whole population", u.ID)
		}
	}
	assert.Len(t, seen, 103)
	for id, n := range seen {
		assert.Equal(t, 1, n, "user %d in one shard", id)
	}
	_, err = p.Shard(4, 4)
	assert.ErrorContains(t, err, "shard 4/4: the index is out of range (allowed 0..3)")
	_, err = p.Shard(0, 0)
	assert.ErrorContains(t, err, "the count is out of range")
	s, err = scenario.Parse("t.yaml", []byte("name: t\nfaults: [{at: 1s, action: kill, target: replica-1}]\n"))
	require.NoError(t, err)
	_, err = compile(t, s).Shard(0, 2)
	assert.ErrorContains(t, err, "a scenario with faults cannot be sharded")
}

// Validate reads no file; compiling reads balancer.config.
func TestCompileReadsTheBalancerTemplate(t *testing.T) {
	s, err := scenario.Parse("pure.yaml", []byte("name: pure\nbalancer: {config: no-such-file.tmpl}\napp:\n  command: [app, \"{{.Port}}\"]\n"))
	require.NoError(t, err, "Parse validates, and a template file it does not read cannot fail it")
	_, err = plan.Compile(s)
	assert.ErrorContains(t, err, "pure.yaml:2: balancer.config: open no-such-file.tmpl")
}

// The scenario's replicas are the topology's, named and configured in order.
func TestCompileNamesTheReplicas(t *testing.T) {
	s, err := scenario.Parse("ok.yaml", []byte(validScenario))
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-1", "replica-2"}, compile(t, s).Topology.ReplicaNames())
	s, err = scenario.Parse("ok.yaml", []byte(validScenario), "app.replicas=5", "app.cookie_name=per-replica")
	require.NoError(t, err)
	assert.Equal(t, "sid-replica-3", compile(t, s).Topology.Replicas[2].CookieName)
}

const validScenario = `name: t
seed: 7
app:
  replicas: 2
balancer:
  strategy: ip-hash
clients:
  users: 10
  network:
    pools: ["10.1.0.0/16"]
`

// An expectation is checked when the scenario compiles, against the figures a report of this scenario will have:
// the file and line, or the --set, name it.
func TestExpectKeys(t *testing.T) {
	for _, c := range []struct {
		yaml string
		set  []string
		want string
	}{
		{"name: t\nexpect:\n  login_failure_rate: small\n", nil, `bad.yaml:3: expect.login_failure_rate: "small" is not a bound`},
		{"name: t\nexpect:\n  happiness: \"> 1\"\n", nil, `bad.yaml:3: expect.happiness: "happiness" is not a figure of the report`},
		{"name: t\n", []string{"expect.websocket.state_loss_rate=< 0.1"}, `--set expect.websocket.state_loss_rate=< 0.1: expect.websocket.state_loss_rate: "websocket.state_loss_rate" is not a figure of the report`},
	} {
		s, err := scenario.Parse("bad.yaml", []byte(c.yaml), c.set...)
		require.NoError(t, err, "Parse does not read the report's figures")
		_, err = plan.Compile(s)
		assert.ErrorContains(t, err, c.want)
	}
	for _, set := range []string{"expect.login_failure_rate=< 0.01", "expect.skew.max_over_mean=< 1.5", "expect.store.sessions=< 10"} {
		s, err := scenario.Parse("ok.yaml", []byte("name: t\n"), set)
		require.NoError(t, err)
		compile(t, s)
	}
	s, err := scenario.Parse("ok.yaml", []byte("name: t\nclients: {websocket: {connections: 1}}\n"), "expect.websocket.state_loss_rate=< 0.1")
	require.NoError(t, err)
	compile(t, s)

	d := scenario.Default()
	d.Name, d.App.Replicas, d.Expect = "t", 0, map[string]string{"happiness": "> 1"}
	_, err = plan.Compile(&d)
	assert.ErrorContains(t, err, "app.replicas: 0 is out of range")
	assert.ErrorContains(t, err, `expect.happiness: "happiness" is not a figure`, "every problem at once")
}

// The journey is compiled with the clients section's counts and pacing.
func TestCompileJourney(t *testing.T) {
	s, err := scenario.Parse("ok.yaml", []byte("name: t\n"), "clients.pages=4", "clients.relogin=2",
		"clients.websocket={connections: 2, messages: 5}", "clients.think={kind: constant, mean: 2s}", "clients.keep_alive=1s")
	require.NoError(t, err)
	j := compile(t, s).Journey
	assert.Equal(t, 4, j.Pages)
	assert.Equal(t, 2, j.Relogin)
	assert.Equal(t, 20, j.MaxRedirects)
	assert.Equal(t, "/ws", j.WSPath)
	assert.Equal(t, [2]int{2, 5}, [2]int{j.WSConnections, j.WSMessages})
	require.NotNil(t, j.Think)
	assert.Equal(t, 2*time.Second, j.Think(nil))
	assert.Equal(t, time.Second, j.KeepAlive)
	assert.Empty(t, j.Compile(""), "compiled")
	s, err = scenario.Parse("ok.yaml", []byte("name: t\n"))
	require.NoError(t, err)
	assert.Nil(t, compile(t, s).Journey.Think, "no pauses by default")
}
