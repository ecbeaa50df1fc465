package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
)

// Validate reads no file and changes nothing: balancer.config is read by Compile, and the scenario is the same
// value after Validate as before.
func TestValidateIsPure(t *testing.T) {
	s, err := Parse("pure.yaml", []byte("name: pure\nbalancer: {config: no-such-file.tmpl}\napp:\n  command: [app, \"{{.Port}}\"]\n"))
	require.NoError(t, err, "Parse validates, and a template file it does not read cannot fail it")
	before := *s
	assert.Empty(t, s.Validate())
	assert.Empty(t, s.Validate(), "again: the same answer")
	assert.True(t, reflect.DeepEqual(before, *s), "Validate changed the scenario")
	_, err = Compile(s)
	assert.ErrorContains(t, err, "pure.yaml:2: balancer.config: open no-such-file.tmpl")
}

// A scenario built in Go is refused with the same key and words as the file that says the same.
func TestCompileChecksAGoValueAsAFile(t *testing.T) {
	cases := []struct {
		name string
		set  func(*Scenario)
		yaml string
		want string
	}{
		{"bad own-app template", func(s *Scenario) { s.App.Command = []string{"app", "{{.Prot}}"} },
			"app:\n  command: [app, \"{{.Prot}}\"]\n", "app.command[1]: template: app.command[1]:1:2: executing"},
		{"replicas out of range", func(s *Scenario) { s.App.Replicas = 0 }, "app:\n  replicas: 0\n", "app.replicas: 0 is out of range"},
		{"strategy the kind lacks", func(s *Scenario) { s.Balancer.Strategy = "client-ip-sticky" },
			"balancer:\n  strategy: client-ip-sticky\n", "balancer.strategy: client-ip-sticky is not supported by nginx"},
		{"journey template", func(s *Scenario) { s.Journey.Pages = []string{"/x/{{.Pg}}"} }, "journey:\n  pages: [\"/x/{{.Pg}}\"]\n", "journey.pages[0]"},
		{"fault target", func(s *Scenario) { s.Faults = []Fault{{At: "1s", Action: "kill", Target: "replica-9"}} },
			"faults: [{at: 1s, action: kill, target: replica-9}]\n", `faults[0].target: "replica-9" is not a part of this scenario`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Default()
			s.Name = "go-value"
			c.set(&s)
			_, goErr := Compile(&s)
			require.Error(t, goErr)
			assert.Contains(t, goErr.Error(), c.want)
			_, fileErr := Parse("f.yaml", []byte("name: go-value\n"+c.yaml))
			require.Error(t, fileErr)
			assert.Contains(t, fileErr.Error(), c.want)
		})
	}
	s := Default()
	s.Name = "go-value"
	s.App.Command = []string{"./bin/app", "--listen={{.Addr}}"}
	p, err := Compile(&s)
	require.NoError(t, err)
	require.NotNil(t, p.Topology.Own, "the Go value's app.command is the replicas, not the built-in app")
	assert.Len(t, p.Topology.Own.Command, 2)
	assert.Len(t, p.Users, s.Clients.Users)
	assert.Equal(t, []string{"replica-1", "replica-2", "replica-3"}, p.Meta.Replicas)
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
	want.Clients.Pages = clients.Range{Min: 2, Max: 4}
	want.Clients.Network.Pools = []string{"203.0.113.0/24"}
	want.Expect = map[string]string{"login_failure_rate": "< 0.5", "skew.jain": "> 0.9"}
	got.where, want.where = nil, nil
	assert.Equal(t, want, *got)
	assert.Equal(t, 3, s.App.Replicas, "the original is untouched")

	_, err = s.With("app.replicas=0")
	assert.ErrorContains(t, err, "--set app.replicas=0: app.replicas: 0 is out of range")
	_, err = s.With("balancer.kind=haproxy", "balancer.max_fails=2")
	assert.ErrorContains(t, err, "--set balancer.max_fails=2: balancer.max_fails: applies to kind nginx and caddy only")
	_, err = s.With("clients.netwrk.nat=2")
	assert.ErrorContains(t, err, "--set clients.netwrk.nat=2: clients.netwrk: unknown key")
}

// Every scenario of the catalog, and every override the CLI's documentation shows, loads and compiles; the same
// scenario as a Go value with the same overrides compiles to the same plan.
func TestCatalogCompiles(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f)
			require.NoError(t, err)
			p, err := Compile(s)
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
