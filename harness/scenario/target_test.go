package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
)

func TestTargetSection(t *testing.T) {
	bad := []struct{ name, yaml, want string }{
		{"faults", "target: {url: http://127.0.0.1:9}\nfaults: [{at: 1s, action: kill, target: replica-1}]\n",
			"t.yaml:3: faults: a live target starts nothing the harness could fault"},
		{"two attributions", "target: {url: http://127.0.0.1:9, replica_header: X-Pod, affinity_cookie: LB}\n",
			"target.affinity_cookie: give replica_header or affinity_cookie, not both"},
		{"attribution without a url", "target: {replica_header: X-Pod}\n", "target: replica_header and affinity_cookie apply to a live target only"},
		{"x-forwarded-for without a url", "clients: {identity: x-forwarded-for}\n", "clients.identity: x-forwarded-for applies to a live target only"},
		{"none without a url", "clients: {identity: none}\n", "clients.identity: none applies to a live target only"},
		{"own app", "target: {url: http://127.0.0.1:9}\napp: {command: [app]}\n", "app: a live target is the app"},
		{"bind", "target: {url: http://127.0.0.1:9}\nclients: {identity: bind}\n", "clients.identity: bind connects from loopback addresses"},
		{"not a url", "target: {url: \"ftp://x\"}\n", `target.url: target "ftp://x" is not host:port or an http(s) URL`},
		{"unknown identity", "clients: {identity: carrier-pigeon}\n", `"carrier-pigeon" is not allowed (allowed: proxy-protocol, bind, x-forwarded-for, none)`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte("name: t\n"+c.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	for set, want := range map[string]clients.Attribution{
		"target.replica_header=X-Pod":          {Header: "X-Pod"},
		"target.affinity_cookie=INGRESSCOOKIE": {Cookie: "INGRESSCOOKIE"},
		"target.url=http://127.0.0.1:9":        {None: true},
	} {
		s, err := Parse("t.yaml", []byte("name: t\ntarget: {url: \"http://127.0.0.1:9\"}\nclients: {identity: x-forwarded-for}\n"), set)
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
	s, err := Parse("t.yaml", []byte("name: t\nclients: {users: 103, network: {roam: 0.3}}\n"))
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
	s, err = Parse("t.yaml", []byte("name: t\nfaults: [{at: 1s, action: kill, target: replica-1}]\n"))
	require.NoError(t, err)
	_, err = compile(t, s).Shard(0, 2)
	assert.ErrorContains(t, err, "a scenario with faults cannot be sharded")
}
