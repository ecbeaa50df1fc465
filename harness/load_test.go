package harness

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestParseValid(t *testing.T) {
	s, err := Parse("ok.yaml", []byte(validScenario))
	require.NoError(t, err)
	assert.Equal(t, "t", s.Name)
	assert.Equal(t, uint64(7), s.Seed)
	assert.Equal(t, 2, s.App.Replicas)
	assert.Equal(t, "memory", s.App.Sessions, "left-out keys take their defaults")
	assert.Equal(t, "ip-hash", s.Balancer.Strategy)
	assert.Equal(t, 10, s.Clients.Users)
	assert.Equal(t, 30, s.Clients.Concurrency)
	assert.Equal(t, []string{"10.1.0.0/16"}, s.Clients.Network.Pools)
	assert.Equal(t, []string{"replica-1", "replica-2"}, s.Topology().ReplicaNames())
}

func TestParseOverrides(t *testing.T) {
	s, err := Parse("ok.yaml", []byte(validScenario),
		"balancer.strategy=round-robin", "app.replicas=5", `clients.network.pools=["203.0.113.0/24"]`,
		"clients.network.nat=2", "expect.login_failure_rate=< 0.5", "app.cookie_name=per-replica")
	require.NoError(t, err)
	assert.Equal(t, "round-robin", s.Balancer.Strategy)
	assert.Equal(t, 5, s.App.Replicas)
	assert.Equal(t, []string{"203.0.113.0/24"}, s.Clients.Network.Pools)
	assert.Equal(t, 2, s.Clients.Network.NAT)
	assert.Equal(t, map[string]string{"login_failure_rate": "< 0.5"}, s.Expect)
	assert.Equal(t, "sid-replica-3", s.Topology().Replicas[2].CookieName)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		overrides []string
		want      []string // every one must appear in the error
	}{
		{"unknown top-level key", "name: t\ncolour: red\n", nil,
			[]string{"bad.yaml:2: colour: unknown key (allowed under the top level: name, seed, app, balancer, clients, faults, expect)"}},
		{"unknown nested key", "name: t\napp:\n  replica: 3\n", nil,
			[]string{"bad.yaml:3: app.replica: unknown key (allowed under app: replicas,"}},
		{"replicas zero", "name: t\napp:\n  replicas: 0\n", nil,
			[]string{"bad.yaml:3: app.replicas: 0 is out of range (allowed 1..64)"}},
		{"replicas too many", "name: t\napp:\n  replicas: 65\n", nil, []string{"app.replicas: 65 is out of range"}},
		{"unknown strategy", "name: t\nbalancer:\n  strategy: sticky\n", nil,
			[]string{"bad.yaml:3: balancer.strategy: \"sticky\" is not allowed (allowed: round-robin, least-conn, ip-hash, hash-cookie, cookie-insert, client-ip-sticky)"}},
		{"strategy not yet supported", "name: t\nbalancer:\n  strategy: least-conn\n", nil,
			[]string{"balancer.strategy: \"least-conn\" is not supported by this version yet (supported: round-robin, ip-hash)"}},
		{"sessions not yet supported", "name: t\napp:\n  sessions: redis\n", nil, []string{"app.sessions: \"redis\" is not supported"}},
		{"kind not allowed", "name: t\nbalancer:\n  kind: traefik\n", nil, []string{"balancer.kind: \"traefik\" is not allowed (allowed: nginx, haproxy)"}},
		{"string for int", "name: t\nclients:\n  users: many\n", nil, []string{"bad.yaml:3: clients.users: \"many\" is a string, want an integer"}},
		{"float for int", "name: t\nclients:\n  pages: 1.5\n", nil, []string{"bad.yaml:3: clients.pages: \"1.5\" is a number, want an integer"}},
		{"scalar for list", "name: t\nclients:\n  network:\n    pools: 10.0.0.0/8\n", nil, []string{"bad.yaml:4: clients.network.pools: \"10.0.0.0/8\" is a string, want a list"}},
		{"negative seed", "name: t\nseed: -1\n", nil, []string{"bad.yaml:2: seed: \"-1\" is an integer, want a non-negative integer"}},
		{"bad CIDR", "name: t\nclients:\n  network:\n    pools: [\"10.0.0.0/8\", nope]\n", nil, []string{"bad.yaml:4: clients.network.pools[1]: \"nope\" is not a CIDR"}},
		{"missing name", "seed: 1\n", nil, []string{"name: \"\" is not a name (required"}},
		{"bad name", "name: Rr_Memory\n", nil, []string{"bad.yaml:1: name: \"Rr_Memory\" is not a name"}},
		{"faults refused", "name: t\nfaults: [{at: 2s, action: kill, target: replica-2}]\n", nil, []string{"bad.yaml:2: faults: faults are not supported"}},
		{"bad bound", "name: t\nexpect:\n  login_failure_rate: small\n", nil, []string{"bad.yaml:3: expect.login_failure_rate: \"small\" is not a bound"}},
		{"unknown figure", "name: t\nexpect:\n  happiness: \"> 1\"\n", nil, []string{"expect.happiness: \"happiness\" is not a figure of the report"}},
		{"not a mapping", "- a\n- b\n", nil, []string{"bad.yaml:1: a scenario is a mapping"}},
		{"syntax", "name: [\n", nil, []string{"bad.yaml: yaml:"}},
		{"set names its flag", validScenario, []string{"app.replicas=0"}, []string{"--set app.replicas=0: app.replicas: 0 is out of range"}},
		{"set wrong type", validScenario, []string{"app.replicas=abc"}, []string{"--set app.replicas=abc: app.replicas: \"abc\" is a string, want an integer"}},
		{"set unknown key", validScenario, []string{"clients.netwrk.nat=3"}, []string{"--set clients.netwrk.nat=3: clients.netwrk: unknown key"}},
		{"set without value", validScenario, []string{"app.replicas"}, []string{"--set app.replicas: want KEY=VALUE"}},
		{"every problem at once", "name: t\napp:\n  replicas: 0\n  colour: red\nbalancer:\n  strategy: sticky\n", nil,
			[]string{"app.colour: unknown key", "app.replicas: 0 is out of range", "balancer.strategy: \"sticky\" is not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("bad.yaml", []byte(tt.yaml), tt.overrides...)
			require.Error(t, err)
			assert.Nil(t, s)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestScenarioCatalogLoads(t *testing.T) {
	s, err := Load("../scenarios/rr-memory.yaml")
	require.NoError(t, err)
	assert.Equal(t, "round-robin", s.Balancer.Strategy)
	assert.Equal(t, 3, s.App.Replicas)
	for _, p := range s.Clients.Network.Pools {
		assert.False(t, strings.HasSuffix(p, "/24"), "rr-memory spreads users over many /24s, not one")
	}
}
