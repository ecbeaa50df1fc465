package clients_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sessionlab/sessionlab/fakeapp/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// decodeSpec decodes a scenario's journey block as the harness does: unknown keys are errors.
func decodeSpec(t *testing.T, src string) clients.JourneySpec {
	t.Helper()
	var doc struct {
		Journey clients.JourneySpec `yaml:"journey"`
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
		var fe *clients.KeyError
		require.True(t, errors.As(err, &fe), "%v is a *KeyError", err)
		keys[i] = fe.Key
	}
	return keys
}

func TestJourneySpecValidate(t *testing.T) {
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
			errs := spec.Validate()
			require.Len(t, errs, 1, "%v", errs)
			assert.Equal(t, []string{tt.key}, fieldKeys(t, errs))
			assert.Contains(t, errs[0].Error(), tt.msg)
			_, err := spec.Journey(3, 1)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.key)
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
			"journey.pages[1]", "journey.success.status"}, fieldKeys(t, spec.Validate()))
	})
}

func TestJourneySpecValidateAccepts(t *testing.T) {
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
			assert.Empty(t, spec.Validate())
			j, err := spec.Journey(4, 2)
			require.NoError(t, err)
			assert.Equal(t, 4, j.Pages)
			assert.Equal(t, 2, j.Relogin)
			assert.Equal(t, 20, j.MaxRedirects)
		})
	}
}

func TestJourneySpecYAMLKeys(t *testing.T) {
	spec := decodeSpec(t, customYAML(""))
	require.NotNil(t, spec.Setup)
	assert.Equal(t, clients.RequestSpec{Path: "/signup", Form: map[string]string{"email": "{{.User}}", "pass": "{{.Password}}"}, OKStatus: []int{201}}, *spec.Setup)
	assert.Equal(t, clients.UsersSpec{Name: "u{{.ID}}@example.com", Password: "pw-{{.ID}}"}, spec.Users)
	assert.Equal(t, clients.LoginSpec{FormPath: "/signin", Form: map[string]string{"email": "{{.User}}", "pass": "{{.Password}}"}}, spec.Login)
	assert.Equal(t, clients.SuccessSpec{Path: "/dashboard", BodyContains: "Welcome"}, spec.Success)
	assert.Equal(t, []string{"/app/{{.Page}}"}, spec.Pages)
	assert.Equal(t, clients.LoggedOutSpec{RedirectTo: []string{"/signin"}, ClearedCookie: "sid"}, spec.LoggedOut)
	require.NotNil(t, spec.Logout)
	assert.Equal(t, clients.RequestSpec{Method: http.MethodGet, Path: "/signout", Form: map[string]string{"user": "{{.User}}"}, OKStatus: []int{204}}, *spec.Logout)

	// An empty list given explicitly is not a list left out.
	assert.Nil(t, decodeSpec(t, "journey: {}").Pages)
	assert.NotNil(t, decodeSpec(t, "journey: {pages: []}").Pages)

	var doc struct {
		Journey clients.JourneySpec `yaml:"journey"`
	}
	dec := yaml.NewDecoder(strings.NewReader("journey: {login: {from_path: /login}}"))
	dec.KnownFields(true)
	assert.ErrorContains(t, dec.Decode(&doc), "from_path", "a misspelt key is an error")
}

// The default user name is the one User.Name gives, and the one the zero spec logs in with.
func TestJourneySpecDefaultUserName(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // username → password
	srv := startProxyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			serveLoginForm(w, r)
		default:
			mu.Lock()
			got[r.PostFormValue("username")] = r.PostFormValue("password")
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	users := population(t, 1, config(12, "203.0.113.0/24"))
	users[10].ID = 1234 // a longer number
	j, err := clients.JourneySpec{}.Journey(1, 0)
	require.NoError(t, err)
	runJourney(t, srv.addr, users, j)
	want := map[string]string{}
	for _, u := range users {
		want[u.Name()] = "secret"
	}
	assert.Equal(t, want, got)
	assert.Equal(t, "user1234", users[10].Name())
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

// timeless is an event without its timings, which differ from run to run.
func timeless(evs []events.Event) []events.Event {
	out := make([]events.Event, len(evs))
	for i, e := range evs {
		e.TMs, e.LatencyUS = 0, 0
		out[i] = e
	}
	return out
}

// TestJourneySpecIsFakeAppJourney runs FakeAppJourney, the zero spec's journey and the fake app's journey written
// out in YAML against the same conditions, each on fresh replicas, and compares every event but its timings.
func TestJourneySpecIsFakeAppJourney(t *testing.T) {
	idpURL := idp(t, idpKey) // stateless: one provider serves every run, so that its address is the same
	memory := func(login string) func() http.Handler {
		return func() http.Handler {
			return fakeapp.New(fakeapp.Config{Name: "replica-1", Login: login})
		}
	}
	rotate := func(login string, weights ...int) func() http.Handler {
		return func() http.Handler {
			var cycle []http.Handler
			for i, w := range weights {
				app := fakeapp.New(fakeapp.Config{Name: fmt.Sprintf("replica-%d", i+1), Login: login})
				for range w {
					cycle = append(cycle, app)
				}
			}
			return &rotation{cycle: cycle}
		}
	}
	sso := func(weights ...int) func() http.Handler {
		return func() http.Handler {
			store := fakeapp.NewMemoryStore()
			var cycle []http.Handler
			for i, w := range weights {
				name := fmt.Sprintf("replica-%d", i+1)
				app := ssoReplica(idpURL, idpKey, fakeapp.Config{Name: name, Store: store, StateStore: store,
					Secret: []byte("secret of " + name), CookieName: "sid-" + name})
				for range w {
					cycle = append(cycle, app)
				}
			}
			return &rotation{cycle: cycle}
		}
	}
	conditions := []struct {
		name    string
		app     func() http.Handler
		blocked float64
	}{
		{"form, one replica", memory(fakeapp.LoginForm), 0},
		{"form, one replica, blocked cookies", memory(fakeapp.LoginForm), 0.5},
		{"form, memory sessions, round robin", rotate(fakeapp.LoginForm, 1, 1), 0},
		{"form, memory sessions, a a b", rotate(fakeapp.LoginForm, 2, 1), 0},
		{"form-csrf, round robin", rotate(fakeapp.LoginFormCSRF, 1, 1), 0},
		{"form-csrf, a a a b", rotate(fakeapp.LoginFormCSRF, 3, 1), 0},
		{"sso, one replica", sso(1), 0},
		{"sso, per-replica secrets, a a b", sso(2, 1), 0},
		{"wrong password", func() http.Handler { return fakeapp.New(fakeapp.Config{Name: "replica-1", Password: "other"}) }, 0},
	}
	zero, err := clients.JourneySpec{}.Journey(4, 1)
	require.NoError(t, err)
	written, err := decodeSpec(t, fakeAppYAML).Journey(4, 1)
	require.NoError(t, err)
	journeys := []struct {
		name string
		j    clients.Journey
	}{{"zero spec", zero}, {"written out", written}}

	seen := map[string]int{}
	for _, c := range conditions {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(5, "203.0.113.0/24")
			cfg.CookiesBlocked = c.blocked
			users := population(t, 7, cfg)
			users[1].Logout, users[3].Logout = true, true
			want := timeless(runJourney(t, startProxyServer(t, c.app()).addr, users, clients.FakeAppJourney(4, 1)).evs)
			require.NotEmpty(t, want)
			for _, e := range want {
				seen[e.Step+" "+e.Outcome]++
			}
			for _, jj := range journeys {
				got := timeless(runJourney(t, startProxyServer(t, c.app()).addr, users, jj.j).evs)
				assert.Equal(t, want, got, jj.name)
			}
		})
	}
	// The conditions reach every outcome the fake app can give.
	for _, k := range []string{"login ok", "login loop", "login csrf", "login rejected", "page ok", "page loss",
		"page reauth", "reauth ok", "logout ok"} {
		assert.Positive(t, seen[k], k)
	}
}

// TestJourneySpecPagesCycle: page p opens Pages[(p-1) % len(Pages)], with {{.Page}} = p.
func TestJourneySpecPagesCycle(t *testing.T) {
	srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
	j, err := decodeSpec(t, `journey: {pages: ["/page/{{.Page}}", "/", "/page/{{.ID}}x{{.Page}}"]}`).Journey(5, 0)
	require.NoError(t, err)
	users := population(t, 1, config(2, "203.0.113.0/24"))
	r := runJourney(t, srv.addr, users, j)
	for _, u := range users {
		var pages []string
		for _, e := range r.byUser[u.ID] {
			if e.Step == events.StepPage {
				pages = append(pages, e.Path+" "+e.Outcome)
			}
		}
		id := strconv.Itoa(u.ID)
		assert.Equal(t, []string{"/page/1 ok", "/ ok", "/page/" + id + "x3 ok", "/page/4 ok", "/ ok"}, pages, "user %d", u.ID)
	}
}

// customApp is an app that is nothing like the fake app: accounts are made by signing up, the login form posts
// e-mail and pass to an API, sessions live in a cookie "sid", and pages that lack one send to /signin?next=….
type customApp struct {
	mu       sync.Mutex
	accounts map[string]string // e-mail → pass
	sessions map[string]string // sid → e-mail
	next     int
	// drop says how /app/2 forgets a user's session, once per user: "" not at all, "redirect" (302 to
	// /signin?next=), "clear" (200, sid=; Max-Age=0), "expires" (200, sid with an Expires in the past), "rotate"
	// (200, sid cleared and set anew in one answer: not a logout).
	drop        string
	dropped     map[string]bool
	formInPlace bool // /dashboard without a session answers the sign-in form itself (200) instead of redirecting
	tokens      int  // submissions that carried the form's hidden token
	logouts     []string
}

func newCustomApp() *customApp {
	return &customApp{accounts: map[string]string{}, sessions: map[string]string{}, dropped: map[string]bool{}}
}

const signinForm = `<!doctype html><form method="post" action="/api/login">
<input type="hidden" name="token" value="t0k"><input name="email"><input name="pass" type="password"></form>`

func (a *customApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set(contract.ReplicaHeader, "custom")
	session := func() (string, string, bool) {
		c, err := r.Cookie("sid")
		if err != nil {
			return "", "", false
		}
		email, ok := a.sessions[c.Value]
		return c.Value, email, ok
	}
	login := func() bool {
		email, pass := r.PostFormValue("email"), r.PostFormValue("pass")
		if want, ok := a.accounts[email]; !ok || want != pass {
			return false
		}
		a.next++
		sid := "s" + strconv.Itoa(a.next)
		a.sessions[sid] = email
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/"})
		return true
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/signup":
		email := r.PostFormValue("email")
		if _, ok := a.accounts[email]; ok || email == "" {
			w.WriteHeader(http.StatusConflict)
			return
		}
		a.accounts[email] = r.PostFormValue("pass")
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodGet && r.URL.Path == "/signin":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(signinForm))
	case r.Method == http.MethodPost && r.URL.Path == "/api/login":
		if tok := r.PostFormValue("token"); tok != "" {
			if tok != "t0k" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			a.tokens++
		}
		if !login() {
			http.Redirect(w, r, "/signin?error=1", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	case r.Method == http.MethodPost && r.URL.Path == "/api/session":
		w.Header().Set("Content-Type", "application/json")
		if !login() {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"ok":false}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	case r.Method == http.MethodGet && r.URL.Path == "/dashboard":
		_, email, ok := session()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch {
		case ok:
			fmt.Fprintf(w, "<h1>Welcome, %s</h1>", email)
		case a.formInPlace:
			_, _ = w.Write([]byte(signinForm))
		default:
			http.Redirect(w, r, "/signin?next=/dashboard", http.StatusFound)
		}
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/app/"):
		sid, email, ok := session()
		if !ok {
			http.Redirect(w, r, "/signin?next="+r.URL.Path, http.StatusFound)
			return
		}
		if r.URL.Path == "/app/2" && a.drop != "" && !a.dropped[email] {
			a.dropped[email] = true
			delete(a.sessions, sid)
			switch a.drop {
			case "redirect":
				http.Redirect(w, r, "/signin?next="+r.URL.Path, http.StatusFound)
				return
			case "clear":
				http.SetCookie(w, &http.Cookie{Name: "sid", Path: "/", MaxAge: -1})
			case "expires":
				w.Header().Add("Set-Cookie", "sid=gone; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
			case "rotate":
				a.next++
				fresh := "s" + strconv.Itoa(a.next)
				a.sessions[fresh] = email
				http.SetCookie(w, &http.Cookie{Name: "sid", Path: "/", MaxAge: -1})
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: fresh, Path: "/"})
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "page %s for %s\n", r.PathValue("n"), email)
	case r.Method == http.MethodGet && r.URL.Path == "/signout":
		if sid, _, ok := session(); ok {
			delete(a.sessions, sid)
		}
		a.logouts = append(a.logouts, r.URL.Query().Get("user"))
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

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

func TestCustomAppJourney(t *testing.T) {
	const get, post = http.MethodGet, http.MethodPost
	setup := step{events.StepSetup, 0, post, "/signup", events.OutcomeOK}
	login := func(attempt int, last string) []step {
		return []step{
			{events.StepLogin, attempt, get, "/signin", events.OutcomeOK},
			{events.StepLogin, attempt, post, "/api/login", events.OutcomeOK},
			{events.StepLogin, attempt, get, "/dashboard", last},
		}
	}
	page := func(n int, outcome string) step {
		return step{events.StepPage, 0, get, "/app/" + strconv.Itoa(n), outcome}
	}
	join := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	lostAt2 := join([]step{setup}, login(1, events.OutcomeOK), []step{page(1, events.OutcomeOK), page(2, events.OutcomeLoss)},
		login(2, events.OutcomeOK), []step{page(3, events.OutcomeOK)})

	tests := []struct {
		name        string
		extra       string // appended to the journey block
		drop        string
		formInPlace bool
		blocked     bool
		want        []step
	}{
		{name: "logged in with the cookie", want: join([]step{setup}, login(1, events.OutcomeOK),
			[]step{page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)})},
		{name: "a redirect to /signin?next= is a loss", drop: "redirect", want: lostAt2},
		{name: "a cleared cookie is a loss", drop: "clear", want: lostAt2},
		{name: "a cookie expired in the past is a loss", drop: "expires", want: lostAt2},
		{name: "a cookie cleared and set anew is not", drop: "rotate", want: join([]step{setup}, login(1, events.OutcomeOK),
			[]step{page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)})},
		{name: "a wrong password is rejected", extra: "  setup: {path: /signup, form: {email: \"{{.User}}\", pass: other}}\n",
			want: []step{setup, {events.StepLogin, 1, get, "/signin", events.OutcomeOK}, {events.StepLogin, 1, post, "/api/login", events.OutcomeRejected},
				{events.StepLogin, 2, get, "/signin", events.OutcomeOK}, {events.StepLogin, 2, post, "/api/login", events.OutcomeRejected}}},
		{name: "a success page without the success text is an error", extra: "  success: {path: /dashboard, body_contains: Welcome back}\n",
			want: join([]step{setup}, login(1, events.OutcomeError), login(2, events.OutcomeError))},
		{name: "a success page elsewhere is an error", extra: "  success: {path: /home}\n",
			want: join([]step{setup}, login(1, events.OutcomeError), login(2, events.OutcomeError))},
		{name: "bounced to /signin after the login is a loop", blocked: true,
			want: join([]step{setup}, login(1, events.OutcomeLoop), login(2, events.OutcomeLoop))},
		{name: "the login form in place of the success page is a loop", blocked: true, formInPlace: true,
			want: join([]step{setup}, login(1, events.OutcomeLoop), login(2, events.OutcomeLoop))},
		{name: "post directly without the form", extra: "  login: {path: /api/login, form: {email: \"{{.User}}\", pass: \"{{.Password}}\"}}\n",
			want: []step{setup, {events.StepLogin, 1, post, "/api/login", events.OutcomeOK}, {events.StepLogin, 1, get, "/dashboard", events.OutcomeOK},
				page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)}},
		{name: "an API login answered 200 with JSON", extra: `  login: {path: /api/session, form: {email: "{{.User}}", pass: "{{.Password}}"}}
  success: {path: /api/session, body_contains: '"ok":true'}
`, want: []step{setup, {events.StepLogin, 1, post, "/api/session", events.OutcomeOK},
			page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)}},
		{name: "an API login refused", extra: `  users: {name: "u{{.ID}}@example.com", password: "pw"}
  setup: {path: /signup, form: {email: "{{.User}}", pass: other}}
  login: {path: /api/session, form: {email: "{{.User}}", pass: "{{.Password}}"}}
  success: {path: /api/session, body_contains: '"ok":true'}
`, want: []step{setup, {events.StepLogin, 1, post, "/api/session", events.OutcomeRejected}, {events.StepLogin, 2, post, "/api/session", events.OutcomeRejected}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A key given twice in a YAML mapping is an error, so an override replaces the whole block.
			src := customYAML("")
			if tt.extra != "" {
				src = overrideYAML(t, customYAML(""), tt.extra)
			}
			j, err := decodeSpec(t, src).Journey(3, 1)
			require.NoError(t, err)
			app := newCustomApp()
			app.drop, app.formInPlace = tt.drop, tt.formInPlace
			srv := startProxyServer(t, app)
			users := population(t, 5, config(3, "203.0.113.0/24"))
			for i := range users {
				users[i].BlockCookies = tt.blocked
			}
			r := runJourney(t, srv.addr, users, j)
			for _, u := range users {
				assert.Equal(t, tt.want, steps(r.byUser[u.ID]), "user %d", u.ID)
			}
			app.mu.Lock()
			defer app.mu.Unlock()
			assert.Len(t, app.accounts, 3, "every user signed up")
			posts := outcomes(r.evs, events.StepLogin, post)
			submitted := 0
			for _, n := range posts {
				submitted += n
			}
			if strings.Contains(src, "form_path") {
				assert.Equal(t, submitted, app.tokens, "the form's hidden token goes with every submission")
			} else {
				assert.Zero(t, app.tokens, "posted directly, without reading the form")
			}
		})
	}

	t.Run("setup refused: an error, and the user logs in all the same", func(t *testing.T) {
		app := newCustomApp()
		srv := startProxyServer(t, app)
		users := population(t, 5, config(2, "203.0.113.0/24"))
		users[0].Logout = true
		j, err := decodeSpec(t, customYAML("")).Journey(1, 0)
		require.NoError(t, err)
		runJourney(t, srv.addr, users, j) // signs the users up
		r := runJourney(t, srv.addr, users, j)
		for _, u := range users {
			evs := r.byUser[u.ID]
			require.NotEmpty(t, evs)
			assert.Equal(t, http.StatusConflict, evs[0].Status)
			want := join([]step{{events.StepSetup, 0, post, "/signup", events.OutcomeError}}, login(1, events.OutcomeOK), []step{page(1, events.OutcomeOK)})
			if u.Logout {
				want = append(want, step{events.StepLogout, 1, get, "/signout", events.OutcomeOK})
			}
			assert.Equal(t, want, steps(evs), "user %d", u.ID)
		}
		app.mu.Lock()
		defer app.mu.Unlock()
		assert.Equal(t, []string{"u1@example.com", "u1@example.com"}, app.logouts, "the logout's form goes in its query")
	})

	t.Run("setup redirects are followed", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/welcome", http.StatusSeeOther) })
		mux.HandleFunc("GET /welcome", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		mux.HandleFunc("GET /login", serveLoginForm)
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
		srv := startProxyServer(t, mux)
		j, err := decodeSpec(t, `journey: {setup: {method: POST, path: /signup}}`).Journey(1, 0)
		require.NoError(t, err)
		users := population(t, 5, config(1, "203.0.113.0/24"))
		r := runJourney(t, srv.addr, users, j)
		assert.Equal(t, []step{
			{events.StepSetup, 0, post, "/signup", events.OutcomeOK},
			{events.StepSetup, 0, get, "/welcome", events.OutcomeOK},
			{events.StepLogin, 1, get, "/login", events.OutcomeOK},
			{events.StepLogin, 1, post, "/login", events.OutcomeRejected},
		}, steps(r.byUser[users[0].ID]))
	})
}

// overrideYAML replaces the journey keys extra gives (two-space indented blocks) in src.
func overrideYAML(t *testing.T, src, extra string) string {
	t.Helper()
	var base, over struct {
		Journey map[string]yaml.Node `yaml:"journey"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(src), &base))
	require.NoError(t, yaml.Unmarshal([]byte("journey:\n"+extra), &over))
	for k, v := range over.Journey {
		base.Journey[k] = v
	}
	out, err := yaml.Marshal(base)
	require.NoError(t, err)
	return string(out)
}
