package scenario

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
			s, err := Parse("own.yaml", []byte(fmt.Sprintf(ownAppYAML, secret)))
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
	s, err := Parse("own.yaml", []byte("name: own\napp:\n  command: [app]\n  env: {A: b}\n"))
	require.NoError(t, err)
	topo := compile(t, s).Topology
	v, err := topo.AppVars(topo.Replicas[0], "127.0.0.1:1", t.TempDir(), "", "")
	require.NoError(t, err)
	c, err := topo.Own.LocalCommand(v)
	require.NoError(t, err)
	assert.Contains(t, c.Env, "SESSIONLAB_OWNAPP_TEST=kept")
	assert.Equal(t, "A=b", c.Env[len(c.Env)-1], "the scenario's variables come last, so they win")
	assert.Equal(t, "app", c.Bin, "a bare program name is looked up in PATH")

	s, err = Parse(filepath.Join("/srv/scenarios", "own.yaml"), []byte("name: own\napp:\n  command: [./bin/app]\n"))
	require.NoError(t, err)
	topo = compile(t, s).Topology
	c, err = topo.Own.LocalCommand(v)
	require.NoError(t, err)
	assert.Equal(t, "/srv/scenarios/bin/app", c.Bin, "a relative path is the scenario file's directory's")
}

func TestOwnAppBadInputNamesTheKey(t *testing.T) {
	cases := []struct {
		name, app, want string
	}{
		{"unknown template field", `command: [app, "{{.Prot}}"]`, `own.yaml:4: app.command[1]: template: app.command[1]:1:2: executing "app.command[1]" at <.Prot>: can't evaluate field Prot`},
		{"template does not parse", `command: [app, "{{.Port"]`, "app.command[1]: not a template"},
		{"bad env name", `command: [app]` + "\n  env: {\"A=B\": x}", `app.env: "A=B" is not an environment variable name`},
		{"env template", `command: [app]` + "\n  env: {X: \"{{.Nope}}\"}", "app.env.X"},
		{"health path", `command: [app]` + "\n  health: {path: healthz}", `app.health.path: "healthz" is not a path`},
		{"negative stagger", `command: [app]` + "\n  stagger: -1s", "app.stagger"},
		{"built-in key with own app", `command: [app]` + "\n  login: form-csrf", "app.login: applies to the built-in app only"},
		{"cookie sessions with own app", `command: [app]` + "\n  sessions: cookie", `app.sessions: "cookie" applies to the built-in app only`},
		{"own key without own app", `env: {A: b}`, "app.env: applies to your own app only"},
		{"image without name", `image: {port: 8080}`, "app.image.name: is required"},
		{"image port", `image: {name: x}`, "app.image.port: 0 is out of range"},
		{"image env template", `image: {name: x, port: 1, env: {A: "{{.X}}"}}`, "app.image.env.A"},
		{"unknown key", `command: [app]` + "\n  comand: [x]", "app.comand"},
		{"hash-cookie needs the cookie", `command: [app]` + "\nbalancer: {strategy: hash-cookie}", "app.session_cookie: is required with strategy hash-cookie"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("own.yaml", []byte("name: own\nseed: 1\napp:\n  "+c.app+"\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestJourneyErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct{ journey, want string }{
		{"journey:\n  logn: {}\n", "own.yaml:3: journey.logn: unknown key"},
		{"journey:\n  login: {form: {username: \"{{.Usr}}\"}}\n", "own.yaml:3: journey.login.form.username"},
		{"journey:\n  pages: [page]\n", "journey.pages[0]"},
		{"journey:\n  logged_out: {status: [700]}\n", "journey.logged_out.status"},
		{"journey:\n  setup: {method: PUT, path: /signup}\n", "journey.setup.method"},
	}
	for _, c := range cases {
		_, err := Parse("own.yaml", []byte("name: own\n"+c.journey))
		require.Error(t, err, c.journey)
		assert.Contains(t, err.Error(), c.want)
	}
	s, err := Parse("own.yaml", []byte("name: own\njourney:\n  login: {form_path: /signin}\n  pages: [\"/app/{{.Page}}\"]\n"))
	require.NoError(t, err)
	_, err = s.Journey.Journey(3, 1)
	require.NoError(t, err)
}
