package scenario

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/sessionlab/sessionlab/clients"
)

// decodeSpec decodes a scenario's journey block as the loader does: unknown keys are errors.
func decodeSpec(t *testing.T, src string) Journey {
	t.Helper()
	var doc struct {
		Journey Journey `yaml:"journey"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&doc))
	return doc.Journey
}

func fieldKeys(t *testing.T, errs []error) []string {
	t.Helper()
	keys := make([]string, len(errs))
	for i, err := range errs {
		var fe *KeyError
		require.True(t, errors.As(err, &fe), "%v is a *KeyError", err)
		keys[i] = fe.Key
	}
	return keys
}

func TestJourneyValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		key  string
		msg  string // a part of the message
	}{
		{"bad template", `users: {name: "user{{.ID"}`, "journey.users.name", "not a template"},
		{"unknown template field", `login: {form: {username: "{{.Usr}}", password: "{{.Password}}"}}`, "journey.login.form.username", "allowed here: .User, .Password, .ID"},
		{"page number outside pages", `login: {form: {username: "{{.User}}", password: "{{.Page}}"}}`, "journey.login.form.password", "no field .Page here"},
		{"the name cannot use the name", `users: {name: "{{.User}}"}`, "journey.users.name", "allowed here: .ID"},
		{"empty name", `users: {name: "{{if false}}x{{end}}"}`, "journey.users.name", "empty name"},
		{"password template", `users: {password: "{{.Pasword}}"}`, "journey.users.password", "allowed here: .ID, .User"},
		{"setup form template", `setup: {path: /signup, form: {email: "{{.Mail}}"}}`, "journey.setup.form.email", "does not execute"},
		{"logout form template", `logout: {path: /signout, form: {x: "{{.Page}}"}}`, "journey.logout.form.x", "does not execute"},
		{"bad setup method", `setup: {method: PUT, path: /signup}`, "journey.setup.method", "allowed: GET, POST"},
		{"lower-case method", `login: {method: post}`, "journey.login.method", "allowed: GET, POST"},
		{"bad logout method", `logout: {method: DELETE, path: /session}`, "journey.logout.method", "allowed: GET, POST"},
		{"setup without a path", `setup: {form: {a: b}}`, "journey.setup.path", "required"},
		{"logout without a path", `logout: {method: POST}`, "journey.logout.path", "required"},
		{"form path without /", `login: {form_path: login}`, "journey.login.form_path", "start with a single /"},
		{"login path on another host", `login: {path: "//evil.example/login"}`, "journey.login.path", "start with a single /"},
		{"setup path without /", `setup: {path: signup}`, "journey.setup.path", "start with a single /"},
		{"page without /", `pages: ["/a/{{.Page}}", "/b", "c/{{.Page}}"]`, "journey.pages[2]", "start with a single /"},
		{"page template", `pages: ["/a", "/b/{{.Pg}}"]`, "journey.pages[1]", "allowed here: .User, .Password, .ID, .Page"},
		{"empty page", `pages: [""]`, "journey.pages[0]", "is empty"},
		{"explicitly no pages", `pages: []`, "journey.pages", "at least one page"},
		{"logged-out status 700", `logged_out: {status: [401, 700]}`, "journey.logged_out.status[1]", "allowed 100..599"},
		{"success status 700", `success: {status: 700}`, "journey.success.status", "allowed 100..599"},
		{"success status a redirect", `success: {status: 302}`, "journey.success.status", "redirect"},
		{"setup ok status 99", `setup: {path: /signup, ok_status: [201, 99]}`, "journey.setup.ok_status[1]", "allowed 100..599"},
		{"logout ok status 600", `logout: {path: /signout, ok_status: [600]}`, "journey.logout.ok_status[0]", "allowed 100..599"},
		{"success path without /", `success: {path: dashboard}`, "journey.success.path", "start with a single /"},
		{"redirect_to without /", `logged_out: {redirect_to: [/signin, signin]}`, "journey.logged_out.redirect_to[1]", "start with a single /"},
		{"cleared cookie name", `logged_out: {cleared_cookie: "s id"}`, "journey.logged_out.cleared_cookie", "not a cookie name"},
		{"nothing is logged out", `logged_out: {redirect_to: [], status: []}`, "journey.logged_out", "nothing would count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := decodeSpec(t, "journey:\n  "+tt.yaml+"\n")
			errs := spec.validate()
			require.Len(t, errs, 1, "%v", errs)
			assert.Equal(t, []string{tt.key}, fieldKeys(t, errs))
			assert.Contains(t, errs[0].Error(), tt.msg)
			_, err := Parse("j.yaml", []byte("name: t\njourney:\n  "+tt.yaml+"\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "j.yaml:3: "+tt.key+": ", "the scenario names the line and the key")
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		spec := decodeSpec(t, `
journey:
  setup: {method: PATCH, path: signup}
  login: {form: {user: "{{.Usr}}"}}
  pages: ["/p/{{.Page}}", "p2"]
  success: {status: 700}
`)
		assert.ElementsMatch(t, []string{"journey.setup.method", "journey.setup.path", "journey.login.form.user",
			"journey.pages[1]", "journey.success.status"}, fieldKeys(t, spec.validate()))
	})
}

func TestJourneyValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"the zero spec", "journey: {}"},
		{"pages left out take the default", "journey: {pages: null, login: {form_path: /login}}"},
		{"the fake app written out", fakeAppYAML},
		{"a custom app", customYAML("")},
		{"post directly", "journey: {login: {path: /api/login, form: {email: x, pass: y}}}"},
		{"login by GET, only hidden fields", "journey: {login: {method: GET, form_path: /signin, form: {}}}"},
		{"logged out by status only", "journey: {logged_out: {redirect_to: [], status: [401, 419]}}"},
		{"logged out by the cookie only", "journey: {logged_out: {redirect_to: [], status: [], cleared_cookie: __Host-sid}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := decodeSpec(t, tt.yaml)
			assert.Empty(t, spec.validate())
			j := spec.Definition()
			assert.Empty(t, j.Compile("journey."), "the templates compile")
		})
	}
}

func TestJourneyYAMLKeys(t *testing.T) {
	spec := decodeSpec(t, customYAML(""))
	require.NotNil(t, spec.Setup)
	assert.Equal(t, Request{Path: "/signup", Form: map[string]string{"email": "{{.User}}", "pass": "{{.Password}}"}, OKStatus: []int{201}}, *spec.Setup)
	assert.Equal(t, Accounts{Name: "u{{.ID}}@example.com", Password: "pw-{{.ID}}"}, spec.Users)
	assert.Equal(t, Login{FormPath: "/signin", Form: map[string]string{"email": "{{.User}}", "pass": "{{.Password}}"}}, spec.Login)
	assert.Equal(t, Success{Path: "/dashboard", BodyContains: "Welcome"}, spec.Success)
	assert.Equal(t, []string{"/app/{{.Page}}"}, spec.Pages)
	assert.Equal(t, LoggedOut{RedirectTo: []string{"/signin"}, ClearedCookie: "sid"}, spec.LoggedOut)
	require.NotNil(t, spec.Logout)
	assert.Equal(t, Request{Method: http.MethodGet, Path: "/signout", Form: map[string]string{"user": "{{.User}}"}, OKStatus: []int{204}}, *spec.Logout)

	// An empty list given explicitly is not a list left out.
	assert.Nil(t, decodeSpec(t, "journey: {}").Pages)
	assert.NotNil(t, decodeSpec(t, "journey: {pages: []}").Pages)

	var doc struct {
		Journey Journey `yaml:"journey"`
	}
	dec := yaml.NewDecoder(strings.NewReader("journey: {login: {from_path: /login}}"))
	dec.KnownFields(true)
	assert.ErrorContains(t, dec.Decode(&doc), "from_path", "a misspelt key is an error")
}

// fakeAppYAML is the fake app's journey written out.
const fakeAppYAML = `
journey:
  login:
    form_path: /login
    form: {username: "{{.User}}", password: "{{.Password}}"}
  success: {status: 200}
  pages: ["/page/{{.Page}}"]
  logged_out: {redirect_to: ["/login"], status: [401]}
`

// customYAML is the custom app's journey; extra is appended to the journey block (indented two spaces).
func customYAML(extra string) string {
	return `
journey:
  users: {name: "u{{.ID}}@example.com", password: "pw-{{.ID}}"}
  setup: {path: /signup, form: {email: "{{.User}}", pass: "{{.Password}}"}, ok_status: [201]}
  login:
    form_path: /signin
    form: {email: "{{.User}}", pass: "{{.Password}}"}
  success: {path: /dashboard, body_contains: Welcome}
  pages: ["/app/{{.Page}}"]
  logged_out: {redirect_to: [/signin], cleared_cookie: sid}
  logout: {method: GET, path: /signout, form: {user: "{{.User}}"}, ok_status: [204]}
` + extra
}

// The zero journey is the built-in app's, and the same written out key by key: the same definition for the clients,
// which log in as user<ID> with password secret.
func TestZeroJourneyIsTheBuiltInAppsJourney(t *testing.T) {
	want := clients.Journey{UserName: "user{{.ID}}", Password: "secret", LoginFormPath: "/login", LoginMethod: http.MethodPost,
		LoginForm:     map[string]string{"username": "{{.User}}", "password": "{{.Password}}"},
		SuccessStatus: http.StatusOK, PagePaths: []string{"/page/{{.Page}}"},
		LoggedOutPaths: []string{"/login"}, LoggedOutStatus: []int{http.StatusUnauthorized},
		Logout: clients.Request{Method: http.MethodPost, Path: "/logout"}}
	assert.Equal(t, want, Journey{}.Definition())
	assert.Equal(t, want, decodeSpec(t, fakeAppYAML).Definition())
}

// A problem of the journey's keys and one of its templates come in the order of the keys, each section's keys
// before its templates.
func TestJourneyProblemsInKeyOrder(t *testing.T) {
	spec := decodeSpec(t, `
journey:
  users: {name: "{{.Nope}}"}
  setup: {method: PATCH, path: signup, form: {a: "{{.Page}}"}}
  login: {method: PUT, form: {"": x, user: "{{.Usr}}"}}
  pages: ["/p/{{.Page}}", "p2"]
  logout: {path: /bye, ok_status: [99]}
`)
	assert.Equal(t, []string{"journey.users.name", "journey.setup.method", "journey.setup.path", "journey.setup.form.a",
		"journey.login.method", "journey.login.form", "journey.login.form.user", "journey.pages[1]", "journey.logout.ok_status[0]"},
		fieldKeys(t, spec.validate()))
}
