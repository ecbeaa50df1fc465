package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appTopology(t *testing.T, set ...string) plan.Topology {
	t.Helper()
	s, err := Parse("t.yaml", []byte("name: app-test\n"), set...)
	require.NoError(t, err)
	return compile(t, s).Topology
}

// compile compiles a scenario the test knows to be valid.
func compile(t *testing.T, s *Scenario) *plan.Plan {
	t.Helper()
	p, err := Compile(s)
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
	scenario := write("s.yaml", "name: t\nbalancer:\n  config: good.tmpl\n")
	s, err := Load(scenario)
	require.NoError(t, err)
	tmpl := compile(t, s).Topology.Balancer.Template
	require.NotNil(t, tmpl, "a template is found beside the scenario file")
	var text strings.Builder
	require.NoError(t, tmpl.Execute(&text, balancer.Config{Listen: "127.0.0.1:18080", Replicas: []balancer.Upstream{
		balancer.NewUpstream("replica-1", 1, "127.0.0.1:18081"), balancer.NewUpstream("replica-2", 2, "127.0.0.1:18082")}}))
	assert.Equal(t, "listen 127.0.0.1:18080\nserver replica-1 127.0.0.1:18081\nserver replica-2 127.0.0.1:18082\n", text.String())

	s, err = Parse("bad.yaml", []byte("name: t\nbalancer:\n  config: nowhere.tmpl\n"))
	require.NoError(t, err)
	_, err = Compile(s)
	assert.ErrorContains(t, err, "bad.yaml:3: balancer.config: open nowhere.tmpl: no such file")

	tests := []struct{ name, text, want string }{
		{"parse error", "line one\nline two {{if .Listen}}\n", "bad1.tmpl:3: unexpected EOF"},
		{"unknown field", "ok\nok\nlisten {{.Port}}\n", `bad2.tmpl:3:9: executing "` + filepath.Join(dir, "bad2.tmpl") + `" at <.Port>: can't evaluate field Port`},
		{"unknown function", "{{upper .Listen}}\n", `bad3.tmpl:1: function "upper" not defined`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write("bad"+string(rune('1'+i))+".tmpl", tt.text)
			s, err := Parse(scenario, []byte("name: t\nbalancer:\n  config: "+p+"\n"))
			require.NoError(t, err, "Parse reads no template: Validate is pure")
			_, err = Compile(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "s.yaml:3: balancer.config: template: ")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
