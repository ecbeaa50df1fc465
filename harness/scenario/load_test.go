package scenario

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
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		overrides []string
		want      []string // every one must appear in the error
	}{
		{"unknown top-level key", "name: t\ncolour: red\n", nil,
			[]string{"bad.yaml:2: colour: unknown key (allowed under the top level: name, seed, app, balancer, clients, faults, expect, journey, target)"}},
		{"unknown nested key", "name: t\napp:\n  replica: 3\n", nil,
			[]string{"bad.yaml:3: app.replica: unknown key (allowed under app: replicas,"}},
		{"replicas zero", "name: t\napp:\n  replicas: 0\n", nil,
			[]string{"bad.yaml:3: app.replicas: 0 is out of range (allowed 1..64)"}},
		{"replicas too many", "name: t\napp:\n  replicas: 65\n", nil, []string{"app.replicas: 65 is out of range"}},
		{"unknown strategy", "name: t\nbalancer:\n  strategy: sticky\n", nil,
			[]string{"bad.yaml:3: balancer.strategy: \"sticky\" is not allowed (allowed: round-robin, least-conn, ip-hash, hash-cookie, learn-cookie, cookie-insert, cookie-balanced, client-ip-sticky)"}},
		{"strategy the kind cannot do", "name: t\nbalancer:\n  kind: nginx\n  strategy: client-ip-sticky\n", nil,
			[]string{"bad.yaml:4: balancer.strategy: client-ip-sticky is not supported by nginx: open-source nginx has no client-IP stick table"}},
		{"setting of the other kind", "name: t\nbalancer:\n  kind: haproxy\n  max_fails: 2\n", nil,
			[]string{"bad.yaml:4: balancer.max_fails: applies to kind nginx, caddy and traefik only (this scenario's balancer.kind is haproxy)"}},
		{"haproxy setting on nginx", "name: t\nbalancer:\n  redispatch: false\n", nil,
			[]string{"bad.yaml:3: balancer.redispatch: applies to kind haproxy only"}},
		{"hash type off ip-hash", "name: t\nbalancer:\n  hash_type: consistent\n", nil,
			[]string{"bad.yaml:3: balancer.hash_type: applies to strategy ip-hash only (this scenario's is round-robin)"}},
		{"cookie off cookie-insert", "name: t\nbalancer:\n  cookie: {name: route}\n", nil,
			[]string{"bad.yaml:3: balancer.cookie: applies to strategies cookie-insert and cookie-balanced only"}},
		{"instances zero", "name: t\nbalancer:\n  instances: 0\n", nil, []string{"bad.yaml:3: balancer.instances: 0 is out of range (allowed 1..16)"}},
		{"front without a tier", "name: t\nbalancer:\n  front: source\n", nil,
			[]string{"bad.yaml:3: balancer.front: applies to a tier of several instances: set balancer.instances to 2 or more"}},
		{"front not known", "name: t\nbalancer:\n  instances: 2\n  front: random\n", nil,
			[]string{"bad.yaml:4: balancer.front: \"random\" is not allowed (allowed: connection, source)"}},
		{"peers off haproxy", "name: t\nbalancer:\n  instances: 2\n  peers: true\n", nil,
			[]string{"bad.yaml:4: balancer.peers: applies to kind haproxy only (this scenario's balancer.kind is nginx)"}},
		{"peers without a table", "name: t\nbalancer:\n  kind: haproxy\n  instances: 2\n  peers: true\n", nil,
			[]string{"bad.yaml:5: balancer.peers: applies to strategies client-ip-sticky and learn-cookie only (this scenario's is round-robin)"}},
		{"peers with one instance", "name: t\nbalancer:\n  kind: haproxy\n  strategy: client-ip-sticky\n  peers: true\n", nil,
			[]string{"bad.yaml:5: balancer.peers: applies to a tier of several instances"}},
		{"cookie secret off caddy", "name: t\nbalancer:\n  strategy: cookie-insert\n  instances: 2\n  cookie_secret: per-instance\n", nil,
			[]string{"bad.yaml:5: balancer.cookie_secret: applies to kind caddy only"}},
		{"cookie secret not known", "name: t\nbalancer:\n  kind: caddy\n  strategy: cookie-insert\n  instances: 2\n  cookie_secret: random\n", nil,
			[]string{"bad.yaml:6: balancer.cookie_secret: \"random\" is not allowed (allowed: shared, per-instance)"}},
		{"stagger too long", "name: t\nbalancer:\n  instances: 2\n  stagger: 2m\n", nil, []string{"bad.yaml:4: balancer.stagger: 2m0s is out of range (allowed 0..1m)"}},
		{"idle timeout too short", "name: t\nbalancer:\n  idle_timeout: 10ms\n", nil, []string{"bad.yaml:3: balancer.idle_timeout: 10ms is out of range (allowed 100ms..1h)"}},
		{"kill-balancer of no instance", "name: t\nbalancer:\n  instances: 2\nfaults:\n  - {at: 1s, action: kill-balancer, target: balancer-3}\n", nil,
			[]string{`bad.yaml:5: faults[0].target: "balancer-3" is not an instance of this scenario's balancer (allowed: balancer-1..balancer-2)`}},
		{"kill of a whole tier", "name: t\nbalancer:\n  instances: 2\nfaults:\n  - {at: 1s, action: kill, target: balancer}\n", nil,
			[]string{"bad.yaml:5: faults[0].target: the balancer is a tier of 2 instances: kill one with action kill-balancer, target balancer-1..balancer-2"}},
		{"a tier against a live target", "name: t\nbalancer:\n  instances: 2\ntarget:\n  url: http://staging.example:8080\n", nil,
			[]string{"bad.yaml:3: balancer.instances: a live target starts no balancer"}},
		{"switch without to", "name: t\nfaults:\n  - {at: 1s, action: switch-balancer}\n", nil,
			[]string{"faults[0].to: is required for switch-balancer: the balancer to move to"}},
		{"switch to a strategy the kind cannot run", "name: t\nfaults:\n  - {at: 1s, action: switch-balancer, to: {kind: traefik, strategy: cookie-balanced}}\n", nil,
			[]string{"faults[0].to.strategy: cookie-balanced is not supported by traefik"}},
		{"switch to a setting of another kind", "name: t\nfaults:\n  - {at: 1s, action: switch-balancer, to: {kind: haproxy, max_fails: 2}}\n", nil,
			[]string{"faults[0].to.max_fails: applies to kind nginx, caddy and traefik only (this scenario's balancer.kind is haproxy)"}},
		{"switch to another tier size", "name: t\nbalancer:\n  instances: 2\nfaults:\n  - {at: 1s, action: switch-balancer, to: {kind: caddy, instances: 3}}\n", nil,
			[]string{"faults[0].to.instances: 3: a switch keeps the tier's size (balancer.instances: 2)"}},
		{"to off a switch", "name: t\nfaults:\n  - {at: 1s, action: scale-out, to: {kind: caddy}}\n", nil,
			[]string{"faults[0].to: applies to switch-balancer only"}},
		{"idp with the built-in app", "name: t\napp:\n  idp: oidc\n", nil, []string{"bad.yaml:3: app.idp: applies to your own app only"}},
		{"idp not known", "name: t\napp:\n  command: [./app]\n  idp: saml\n", nil,
			[]string{`bad.yaml:4: app.idp: "saml" is not allowed (allowed: oidc`}},
		{"store keys without redis", "name: t\napp:\n  command: [./app]\n  store_keys: \"s*\"\n", nil,
			[]string{"bad.yaml:4: app.store_keys: counts keys in the run's Redis, which needs app.sessions: redis"}},
		{"cookie name taken by the app", "name: t\nbalancer:\n  strategy: cookie-insert\n  cookie: {name: sid}\n", nil,
			[]string{"balancer.cookie.name: \"sid\" is the app's own session cookie"}},
		{"hash-cookie with per-replica cookie names", "name: t\napp: {cookie_name: per-replica}\nbalancer: {strategy: hash-cookie}\n", nil,
			[]string{"balancer.strategy: hash-cookie keys on the app's session cookie, so it needs app.cookie_name: shared"}},
		{"duration without unit", "name: t\nbalancer:\n  fail_timeout: 10\n", nil,
			[]string{"bad.yaml:3: balancer.fail_timeout: \"10\" is not a duration (write a non-negative number with a unit: 500ms, 2s, 1m)"}},
		{"bad next_upstream", "name: t\nbalancer:\n  next_upstream: [error, http_999]\n", nil,
			[]string{"balancer.next_upstream: \"http_999\" is not allowed (allowed: error, timeout,"}},
		{"workers out of range", "name: t\nbalancer:\n  workers: 0\n", nil, []string{"bad.yaml:3: balancer.workers: 0 is out of range (allowed 1..64)"}},
		{"sessions not allowed", "name: t\napp:\n  sessions: disk\n", nil, []string{"bad.yaml:3: app.sessions: \"disk\" is not allowed (allowed: memory, redis, cookie)"}},
		{"login not allowed", "name: t\napp:\n  login: saml\n", nil, []string{"bad.yaml:3: app.login: \"saml\" is not allowed (allowed: form, form-csrf, sso)"}},
		{"idle timeout without a unit", "name: t\napp:\n  idle_timeout: 30\n", nil, []string{"bad.yaml:3: app.idle_timeout"}},
		{"identity not allowed", "name: t\nclients:\n  identity: spoof\n", nil, []string{"clients.identity: \"spoof\" is not allowed (allowed: proxy-protocol, bind, x-forwarded-for, none)"}},
		{"bind with an IPv6 pool", "name: t\nclients:\n  identity: bind\n  network:\n    pools: [\"2001:db8::/48\"]\n", nil, []string{"clients.network.pools[0]: 2001:db8::/48: identity bind connects from 127.0.0.0/8"}},
		{"websocket without messages", "name: t\nclients:\n  websocket: {connections: 2, messages: 0}\n", nil, []string{"clients.websocket.messages: 0 is out of range"}},
		{"store target without a store", "name: t\nfaults:\n  - {at: 1s, action: kill, target: store}\n", nil, []string{"faults[0].target: \"store\" is not a part of this scenario (allowed: replica-1..replica-3, balancer)"}},
		{"idp target without sso", "name: t\napp:\n  sessions: redis\nfaults:\n  - {at: 1s, action: stop, target: idp}\n", nil, []string{"(allowed: replica-1..replica-3, balancer, store)"}},
		{"kind not allowed", "name: t\nbalancer:\n  kind: envoy\n", nil, []string{"balancer.kind: \"envoy\" is not allowed (allowed: nginx, haproxy, caddy, traefik)"}},
		{"string for int", "name: t\nclients:\n  users: many\n", nil, []string{"bad.yaml:3: clients.users: \"many\" is a string, want an integer"}},
		{"float for int", "name: t\nclients:\n  users: 1.5\n", nil, []string{"bad.yaml:3: clients.users: \"1.5\" is a number, want an integer"}},
		{"pages not a range", "name: t\nclients:\n  pages: 9..3\n", nil, []string{"bad.yaml:3: clients.pages: \"9..3\" is not a count or a range (write 10, or 5..15 with the smaller first)"}},
		{"pages a list", "name: t\nclients:\n  pages: [1, 2]\n", nil, []string{"bad.yaml:3: clients.pages: a list was given, want a count such as 10 or a range such as 5..15"}},
		{"arrival kind", "name: t\nclients:\n  arrival: {kind: burst}\n", nil, []string{"clients.arrival.kind: \"burst\" is not allowed (allowed: all, fixed, poisson)"}},
		{"arrival without a rate", "name: t\nclients:\n  arrival: {kind: poisson}\n", nil, []string{"clients.arrival.rate: 0 is out of range"}},
		{"think without a unit", "name: t\nclients:\n  think: {kind: constant, mean: 2}\n", nil, []string{"bad.yaml:3: clients.think.mean"}},
		{"uniform think upside down", "name: t\nclients:\n  think: {kind: uniform, min: 2s, max: 1s}\n", nil, []string{"clients.think.max: 1s is less than min 2s"}},
		{"logout above 1", "name: t\nclients:\n  logout: 2\n", nil, []string{"clients.logout: 2 is out of range"}},
		{"scalar for list", "name: t\nclients:\n  network:\n    pools: 10.0.0.0/8\n", nil, []string{"bad.yaml:4: clients.network.pools: \"10.0.0.0/8\" is a string, want a list"}},
		{"negative seed", "name: t\nseed: -1\n", nil, []string{"bad.yaml:2: seed: \"-1\" is an integer, want a non-negative integer"}},
		{"bad CIDR", "name: t\nclients:\n  network:\n    pools: [\"10.0.0.0/8\", nope]\n", nil, []string{"bad.yaml:4: clients.network.pools[1]: \"nope\" is not a CIDR"}},
		{"missing name", "seed: 1\n", nil, []string{"name: \"\" is not a name (required"}},
		{"bad name", "name: Rr_Memory\n", nil, []string{"bad.yaml:1: name: \"Rr_Memory\" is not a name"}},
		{"fault action unknown", "name: t\nfaults:\n  - {at: 2s, action: explode}\n", nil,
			[]string{"bad.yaml:3: faults[0].action: \"explode\" is not allowed (allowed: kill, stop, start, restart, rolling-restart, scale-out, scale-in, restart-store, reload-balancer, kill-balancer, switch-balancer)"}},
		{"fault trigger unreadable", "name: t\nfaults:\n  - {at: soon, action: kill, target: replica-1}\n", nil,
			[]string{"bad.yaml:3: faults[0].at: \"soon\" is not a time or a request count"}},
		{"fault trigger missing", "name: t\nfaults:\n  - {action: kill, target: replica-1}\n", nil, []string{"faults[0].at: is required"}},
		{"fault target unknown", "name: t\nfaults:\n  - at: 1s\n    action: kill\n    target: replica-4\n", nil,
			[]string{"bad.yaml:5: faults[0].target: \"replica-4\" is not a part of this scenario (allowed: replica-1..replica-3, balancer)"}},
		{"fault target after a scale-out", "name: t\nfaults:\n  - {at: 1s, action: scale-out}\n  - {at: 2s, action: kill, target: replica-4}\n", nil, nil},
		{"scale-in to nothing", "name: t\napp: {replicas: 2}\nfaults:\n  - {at: 1s, action: scale-in, count: 2}\n", nil,
			[]string{"faults[0].count: scale-in of 2 from 2 replicas would leave none"}},
		{"option of another action", "name: t\nfaults:\n  - {at: 1s, action: restart, target: replica-1, for: 2s}\n", nil,
			[]string{"faults[0].for: applies to kill, stop and kill-balancer only"}},
		{"restart-store without a store", "name: t\nfaults:\n  - {at: 1s, action: restart-store}\n", nil,
			[]string{"faults[0].action: restart-store restarts the shared session store, which needs app.sessions: redis"}},
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
			if tt.want == nil { // a near miss that is valid
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Nil(t, s)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestScenarioCatalogLoads(t *testing.T) {
	s, err := Load("../../scenarios/rr-memory.yaml")
	require.NoError(t, err)
	assert.Equal(t, "round-robin", s.Balancer.Strategy)
	assert.Equal(t, 3, s.App.Replicas)
	for _, p := range s.Clients.Network.Pools {
		assert.False(t, strings.HasSuffix(p, "/24"), "rr-memory spreads users over many /24s, not one")
	}
}
