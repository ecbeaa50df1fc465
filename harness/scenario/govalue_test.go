package scenario

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Validate reads no file and changes nothing: balancer.config is read when the scenario is compiled, and the
// scenario is the same value after Validate as before.
func TestValidateIsPure(t *testing.T) {
	s, err := Parse("pure.yaml", []byte("name: pure\nbalancer: {config: no-such-file.tmpl}\napp:\n  command: [app, \"{{.Port}}\"]\n"))
	require.NoError(t, err, "Parse validates, and a template file it does not read cannot fail it")
	before := *s
	assert.Empty(t, s.Validate())
	assert.Empty(t, s.Validate(), "again: the same answer")
	assert.True(t, reflect.DeepEqual(before, *s), "Validate changed the scenario")
}

func TestWithOverridesAGoValue(t *testing.T) {
	s := Default()
	s.Name = "go-value"
	s.Balancer.Strategy = "ip-hash"
	s.Clients.Relogin = 0 // an explicit zero survives, though the default is 1
	s.Expect = map[string]string{"login_failure_rate": "< 0.5"}
	s.Clients.Users = 100
	got, err := s.With("app.replicas=5", "clients.pages=2..4", `clients.network.pools=["203.0.113.0/24"]`, "expect.skew.jain='> 0.9'")
	require.NoError(t, err)
	want := s
	want.App.Replicas = 5
	want.Clients.Pages = Range{Min: 2, Max: 4}
	want.Clients.Network.Pools = []string{"203.0.113.0/24"}
	want.Expect = map[string]string{"login_failure_rate": "< 0.5", "skew.jain": "> 0.9"}
	got.where, want.where = nil, nil
	assert.Equal(t, want, *got)
	assert.Equal(t, 3, s.App.Replicas, "the original is untouched")

	_, err = s.With("app.replicas=0")
	assert.ErrorContains(t, err, "--set app.replicas=0: app.replicas: 0 is out of range")
	_, err = s.With("balancer.kind=haproxy", "balancer.max_fails=2")
	assert.ErrorContains(t, err, "--set balancer.max_fails=2: balancer.max_fails: applies to kind nginx, caddy and traefik only")
	_, err = s.With("clients.netwrk.nat=2")
	assert.ErrorContains(t, err, "--set clients.netwrk.nat=2: clients.netwrk: unknown key")
}
