package clients_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// Compile names each problem's field by its path after the prefix, and its templates by the same name, so that a
// scenario's messages read as its keys.
func TestJourneyCompile(t *testing.T) {
	j := fakeAppJourney(3, 1)
	j.UserName = "user{{.ID"
	j.LoginForm = map[string]string{"username": "{{.Usr}}", "password": "{{.Page}}"}
	j.PagePaths = []string{"/a/{{.Page}}", "c/{{.Page}}", ""}
	j.Logout.Form = map[string]string{"x": "{{.Page}}"}
	errs := j.Compile("journey.")
	var keys []string
	for _, err := range errs {
		var fe *clients.FieldError
		require.True(t, errors.As(err, &fe), "%v is a *FieldError", err)
		keys = append(keys, fe.Field)
		assert.Equal(t, fe.Field+": "+fe.Msg, err.Error())
	}
	assert.Equal(t, []string{"journey.users.name", "journey.login.form.password", "journey.login.form.username",
		"journey.pages[1]", "journey.pages[2]", "journey.logout.form.x"}, keys)
	assert.Contains(t, errs[0].Error(), `"user{{.ID" is not a template: template: journey.users.name:1:`)
	assert.Contains(t, errs[1].Error(), "no field .Page here")
	assert.Contains(t, errs[3].Error(), `"c/1" is not a path on the app`)
	assert.Contains(t, errs[4].Error(), "is empty")

	_, err := clients.Run(t.Context(), "127.0.0.1:1", nil, j, (func(events.Event) {}), clients.RunOptions{})
	assert.ErrorContains(t, err, "journey: users.name: ", "Run compiles a journey not compiled, without a prefix")
	for _, ok := range []clients.Journey{fakeAppJourney(4, 2), customJourney(1, 0)} {
		assert.Empty(t, ok.Compile("journey."))
	}
}

// The fake app's user name template gives user<ID>, for any number of digits, and its password secret.
func TestJourneyUserName(t *testing.T) {
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
	runJourney(t, srv.addr, users, fakeAppJourney(1, 0))
	want := map[string]string{}
	for _, u := range users {
		want["user"+strconv.Itoa(u.ID)] = "secret"
	}
	assert.Equal(t, want, got)
	assert.Contains(t, got, "user1234")
}

// timeless is an event without its timings, which differ from run to run, and with its cookies' fingerprints
// (of session values, which differ too) numbered in the order they first appear in the run: "sid:#1".
func timeless(evs []events.Event) []events.Event {
	out := make([]events.Event, len(evs))
	seen := map[string]string{}
	number := func(tags []string) []string {
		if tags == nil {
			return nil
		}
		numbered := make([]string, len(tags))
		for i, tag := range tags {
			name, fp, _ := strings.Cut(tag, ":")
			if fp != "-" {
				if seen[fp] == "" {
					seen[fp] = fmt.Sprintf("#%d", len(seen)+1)
				}
				fp = seen[fp]
			}
			numbered[i] = name + ":" + fp
		}
		return numbered
	}
	for i, e := range evs {
		e.TMs, e.LatencyUS = 0, 0
		e.Sent, e.Set = number(e.Sent), number(e.Set)
		out[i] = e
	}
	return out
}

// TestFakeAppJourney runs the fake app's journey (which a scenario's zero journey is) twice against the same
// conditions, each time on fresh replicas, compares every event but its timings, and reaches every outcome the
// fake app can give.
func TestFakeAppJourney(t *testing.T) {
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
	compiled := fakeAppJourney(4, 1)
	require.Empty(t, compiled.Compile(""))
	journeys := []struct {
		name string
		j    clients.Journey
	}{{"compiled beforehand", compiled}, {"compiled by Run", fakeAppJourney(4, 1)}}

	seen := map[string]int{}
	for _, c := range conditions {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(5, "203.0.113.0/24")
			cfg.CookiesBlocked = c.blocked
			users := population(t, 7, cfg)
			users[1].Logout, users[3].Logout = true, true
			want := timeless(runJourney(t, startProxyServer(t, c.app()).addr, users, fakeAppJourney(4, 1)).evs)
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

// TestJourneyPagesCycle: page p opens Pages[(p-1) % len(Pages)], with {{.Page}} = p.
func TestJourneyPagesCycle(t *testing.T) {
	srv := startProxyServer(t, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
	j := fakeAppJourney(5, 0)
	j.PagePaths = []string{"/page/{{.Page}}", "/", "/page/{{.ID}}x{{.Page}}"}
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

// customJourney is the custom app's journey, as a scenario's journey section gives it (its defaults filled in):
//
//	users: {name: "u{{.ID}}@example.com", password: "pw-{{.ID}}"}
//	setup: {path: /signup, form: {email: "{{.User}}", pass: "{{.Password}}"}, ok_status: [201]}
//	login: {form_path: /signin, form: {email: "{{.User}}", pass: "{{.Password}}"}}
//	success: {path: /dashboard, body_contains: Welcome}
//	pages: ["/app/{{.Page}}"]
//	logged_out: {redirect_to: [/signin], cleared_cookie: sid}
//	logout: {method: GET, path: /signout, form: {user: "{{.User}}"}, ok_status: [204]}
func customJourney(pages, relogin int) clients.Journey {
	form := map[string]string{"email": "{{.User}}", "pass": "{{.Password}}"}
	return clients.Journey{Pages: pages, Relogin: relogin, UserName: "u{{.ID}}@example.com", Password: "pw-{{.ID}}",
		Setup:         &clients.Request{Method: http.MethodPost, Path: "/signup", Form: form, OKStatus: []int{201}},
		LoginFormPath: "/signin", LoginMethod: http.MethodPost, LoginForm: form,
		SuccessPath: "/dashboard", SuccessStatus: http.StatusOK, SuccessText: "Welcome",
		PagePaths:      []string{"/app/{{.Page}}"},
		LoggedOutPaths: []string{"/signin"}, LoggedOutStatus: []int{http.StatusUnauthorized}, LoggedOutCookie: "sid",
		Logout: clients.Request{Method: http.MethodGet, Path: "/signout", Form: map[string]string{"user": "{{.User}}"},
			OKStatus: []int{204}},
	}
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
		change      func(*clients.Journey) // what the case changes in the custom journey
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
		{name: "a wrong password is rejected", change: func(j *clients.Journey) {
			j.Setup = &clients.Request{Method: http.MethodPost, Path: "/signup", Form: map[string]string{"email": "{{.User}}", "pass": "other"}}
		},
			want: []step{setup, {events.StepLogin, 1, get, "/signin", events.OutcomeOK}, {events.StepLogin, 1, post, "/api/login", events.OutcomeRejected},
				{events.StepLogin, 2, get, "/signin", events.OutcomeOK}, {events.StepLogin, 2, post, "/api/login", events.OutcomeRejected}}},
		{name: "a success page without the success text is an error", change: func(j *clients.Journey) { j.SuccessText = "Welcome back" },
			want: join([]step{setup}, login(1, events.OutcomeError), login(2, events.OutcomeError))},
		{name: "a success page elsewhere is an error", change: func(j *clients.Journey) { j.SuccessPath, j.SuccessText = "/home", "" },
			want: join([]step{setup}, login(1, events.OutcomeError), login(2, events.OutcomeError))},
		{name: "bounced to /signin after the login is a loop", blocked: true,
			want: join([]step{setup}, login(1, events.OutcomeLoop), login(2, events.OutcomeLoop))},
		{name: "the login form in place of the success page is a loop", blocked: true, formInPlace: true,
			want: join([]step{setup}, login(1, events.OutcomeLoop), login(2, events.OutcomeLoop))},
		{name: "post directly without the form", change: func(j *clients.Journey) { j.LoginFormPath, j.LoginPath = "", "/api/login" },
			want: []step{setup, {events.StepLogin, 1, post, "/api/login", events.OutcomeOK}, {events.StepLogin, 1, get, "/dashboard", events.OutcomeOK},
				page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)}},
		{name: "an API login answered 200 with JSON", change: apiLogin, want: []step{setup, {events.StepLogin, 1, post, "/api/session", events.OutcomeOK},
			page(1, events.OutcomeOK), page(2, events.OutcomeOK), page(3, events.OutcomeOK)}},
		{name: "an API login refused", change: func(j *clients.Journey) {
			apiLogin(j)
			j.Password = "pw"
			j.Setup = &clients.Request{Method: http.MethodPost, Path: "/signup", Form: map[string]string{"email": "{{.User}}", "pass": "other"}}
		}, want: []step{setup, {events.StepLogin, 1, post, "/api/session", events.OutcomeRejected}, {events.StepLogin, 2, post, "/api/session", events.OutcomeRejected}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := customJourney(3, 1)
			if tt.change != nil {
				tt.change(&j)
			}
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
			if j.LoginFormPath != "" {
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
		j := customJourney(1, 0)
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
		j := fakeAppJourney(1, 0)
		j.Setup = &clients.Request{Method: http.MethodPost, Path: "/signup"}
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

// apiLogin changes the custom journey to post directly to the app's API, which answers 200 with JSON.
func apiLogin(j *clients.Journey) {
	j.LoginFormPath, j.LoginPath = "", "/api/session"
	j.SuccessPath, j.SuccessText = "/api/session", `"ok":true`
}
