package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	j := s.Journey.Definition()
	assert.Empty(t, j.Compile("journey."))
}
