package har_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/cmd/internal/har"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// draft reads a HAR and returns its draft and the YAML it prints.
func draft(t *testing.T, h *har.HAR) (*har.Draft, string) {
	t.Helper()
	d, err := har.FromHAR(h)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, d.WriteYAML(&out, "rec.har"))
	return d, out.String()
}

func readFixture(t *testing.T, name string) *har.HAR {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	h, err := har.Read(f)
	require.NoError(t, err)
	return h
}

// load parses the printed section as part of a scenario whose app is "your own" (app.session_cookie applies to
// that only), as a user would paste it.
func load(t *testing.T, printed string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("draft.yaml", []byte("name: draft\n"+printed), `app.command=["./app", "-listen={{.Addr}}"]`)
	require.NoError(t, err, "the printed section loads:\n%s", printed)
	return s
}

// The fixtures in testdata, each a recording of a different kind of login, give the journey a reader would write:
// loaded by harness/scenario, key by key.
func TestFixturesDraftTheJourney(t *testing.T) {
	for _, tc := range []struct {
		file      string
		passwords []string // typed in the recording: never printed
		journey   scenario.Journey
		cookie    string
		review    []string // what the comments name as not decided
		notes     []string // what else they say
	}{
		{
			file: "form.har", passwords: []string{"hunter2-Sekret"},
			journey: scenario.Journey{
				Users: scenario.Accounts{Name: "user{{.ID}}", Password: "SET-ME"},
				Login: scenario.Login{FormPath: "/login", Method: "POST", Path: "/login",
					Form: map[string]string{"username": "{{.User}}", "password": "{{.Password}}"}},
				Success:   scenario.Success{Path: "/", Status: 200},
				Pages:     []string{"/page/1", "/page/2"},
				LoggedOut: scenario.LoggedOut{RedirectTo: []string{"/login"}, Status: []int{401}},
			},
			cookie: "sid",
			review: []string{"body_contains not decided", `logged in as "user1"`},
			notes:  []string{"seen: GET / answered 302 to /login", `pages: ["/page/{{.Page}}"]`, "page 2: GET /page/2, 200"},
		},
		{
			file: "csrf-signup.har", passwords: []string{"S3cr3t!pw9"},
			journey: scenario.Journey{
				Users: scenario.Accounts{Name: "alice{{.ID}}", Password: "SET-ME"},
				Setup: &scenario.Request{Method: "POST", Path: "/register", Form: map[string]string{
					"username": "{{.User}}", "email": "{{.User}}@example.test", "password": "{{.Password}}", "password_repeat": "{{.Password}}"}},
				Login: scenario.Login{FormPath: "/login", Method: "POST", Path: "/session", Form: map[string]string{
					"login": "{{.User}}", "secret": "{{.Password}}", "remember": "on", "commit": "Log in"}},
				Success:   scenario.Success{Path: "/dashboard", Status: 200},
				Pages:     []string{"/api/items?owner={{.User}}"},
				LoggedOut: scenario.LoggedOut{RedirectTo: []string{"/login"}, Status: []int{401}},
				Logout:    &scenario.Request{Method: "POST", Path: "/logout"},
			},
			cookie: "_app_session",
			review: []string{
				"left out: csrf_token: named like a token the app hands out, and this request is sent without reading a form first",
				"the login also set remember_token", "GET /reports answered 401", "a second run finds the accounts there",
				"not seen in the recording (no request was sent logged out): the default, a redirect to the login",
			},
			notes: []string{"left out: csrf_token: hidden in the form", "seen: GET /reports answered 401", "the setup signs each one up"},
		},
		{
			file: "spa-json.har", passwords: []string{"correct horse 42"},
			journey: scenario.Journey{
				Users: scenario.Accounts{Name: "bob{{.ID}}@example.test", Password: "SET-ME"},
				Login: scenario.Login{Method: "POST", Path: "/api/login", Form: map[string]string{
					"email": "{{.User}}", "password": "{{.Password}}", "remember": "true"}},
				Success:   scenario.Success{Path: "/api/login", Status: 200},
				Pages:     []string{"/api/me", "/api/projects"},
				LoggedOut: scenario.LoggedOut{RedirectTo: []string{"/api/login"}, Status: []int{401}},
			},
			cookie: "auth",
			review: []string{"the login posts JSON", "the header X-XSRF-TOKEN", "no page before the login served a form",
				"ended on the login page's own path"},
			notes: []string{"seen: GET /api/me answered 401"},
		},
		{
			file: "idp.har", passwords: []string{"pa55-Carol!"},
			journey: scenario.Journey{
				Users: scenario.Accounts{Name: "carol{{.ID}}", Password: "SET-ME"},
				Login: scenario.Login{FormPath: "/oauth2/start?rd=%2F", Method: "POST",
					Form: map[string]string{"username": "{{.User}}", "password": "{{.Password}}"}},
				Success:   scenario.Success{Path: "/", Status: 200},
				Pages:     []string{"/page/1", "/page/2", "/page/3"},
				LoggedOut: scenario.LoggedOut{RedirectTo: []string{"/oauth2/start"}, Status: []int{401}},
			},
			cookie: "_oauth2_proxy",
			notes: []string{"the form is served by http://idp.test:9000", "the form posts to http://idp.test:9000, not the app",
				"left out: state: hidden in the form", "2 of them with other hosts"},
		},
		{
			file: "sanitized-retry.har", passwords: []string{"Tr0ub4dor-3", "wrong-guess"},
			journey: scenario.Journey{
				Users: scenario.Accounts{Name: "dave{{.ID}}", Password: "SET-ME"},
				Login: scenario.Login{FormPath: "/signin", Method: "POST", Path: "/signin",
					Form: map[string]string{"user": "{{.User}}", "pass": "{{.Password}}"}},
				Success:   scenario.Success{Path: "/home", Status: 200},
				Pages:     []string{"/orders"},
				LoggedOut: scenario.LoggedOut{RedirectTo: []string{"/signin"}, Status: []int{401}},
			},
			review: []string{"the recording holds no cookies", "a page's URL held the password: left out"},
			notes:  []string{"1 login attempt(s) before this one were refused", "left out: _token: hidden in the form"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d, out := draft(t, readFixture(t, tc.file))
			s := load(t, out)
			assert.Equal(t, tc.journey, s.Journey)
			assert.Equal(t, tc.cookie, s.App.SessionCookie, "app.session_cookie")
			assert.Equal(t, tc.cookie, d.SessionCookie)
			for _, pw := range tc.passwords {
				assert.NotContains(t, out, pw, "a password typed in the recording is printed")
			}
			var reviews []string
			for _, line := range strings.Split(out, "\n") {
				if _, text, ok := strings.Cut(line, "# REVIEW: "); ok {
					reviews = append(reviews, text)
				}
			}
			for _, want := range tc.review {
				assert.True(t, strings.Contains(strings.Join(reviews, "\n"), want), "a # REVIEW: comment says %q:\n%s", want, out)
			}
			for _, want := range tc.notes {
				assert.Contains(t, out, want)
			}
			assert.Equal(t, len(reviews)-1, d.Undecided(), "every REVIEW but the password's is a note")
			assert.Contains(t, out, "REVIEW: the password typed in the recording is not written out: set journey.users.password")
		})
	}
}

func TestNoLoginIsAnError(t *testing.T) {
	_, err := har.FromHAR(readFixture(t, "no-login.har"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no login in the recording: no POST with a password field")
}

func TestReadRefusesWhatIsNotAHAR(t *testing.T) {
	for _, tc := range []struct{ name, text, err string }{
		{"not JSON", "<html>", "not a HAR file"},
		{"no log", `{"entries": []}`, `no "log" object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := har.Read(strings.NewReader(tc.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

// rec builds a small recording in Go: a form page at /login, the login posting fields to /login, a 302 to /home that
// sets sid, and /home opened with it.
func rec(fields string, extra ...har.Entry) *har.HAR {
	const origin = "http://app.test"
	page := `<form method="post" action="/login"><input type="hidden" name="csrf" value="t"><input name="username"><input type="password" name="password"><input name="note"></form>`
	entries := []har.Entry{
		{Request: har.Request{Method: "GET", URL: origin + "/login"},
			Response: har.Response{Status: 200, Content: har.Content{MimeType: "text/html", Text: page}}},
		{Request: har.Request{Method: "POST", URL: origin + "/login", PostData: &har.PostData{MimeType: "application/x-www-form-urlencoded", Text: fields}},
			Response: har.Response{Status: 302, RedirectURL: "/home", Headers: []har.NameValue{{Name: "Set-Cookie", Value: "sid=1; Path=/"}}}},
		{Request: har.Request{Method: "GET", URL: origin + "/home", Cookies: []har.Cookie{{Name: "sid", Value: "1"}}},
			Response: har.Response{Status: 200, Content: har.Content{MimeType: "text/html", Text: "hi"}}},
	}
	return &har.HAR{Log: har.Log{Entries: append(entries, extra...)}}
}

// What a field's recorded value becomes: the password and the user's name templates wherever they are, a literal
// "{{" escaped so the template prints it, the placeholder never the recorded password.
func TestFieldValues(t *testing.T) {
	page := func(path string) har.Entry {
		return har.Entry{Request: har.Request{Method: "GET", URL: "http://app.test" + path},
			Response: har.Response{Status: 200, Content: har.Content{MimeType: "text/html", Text: "p"}}}
	}
	for _, tc := range []struct {
		name     string
		fields   string
		extra    []har.Entry
		form     map[string]string
		pages    []string
		password string // journey.users.password as printed
		absent   string // never printed
	}{
		{
			name: "password and user inside other fields", fields: "csrf=t&username=eve5&password=pw-Eve-55&note=eve5+says+pw-Eve-55",
			form:  map[string]string{"username": "{{.User}}", "password": "{{.Password}}", "note": "{{.User}} says {{.Password}}"},
			pages: []string{"/home"}, password: "SET-ME", absent: "pw-Eve-55",
		},
		{
			name: "a literal {{ stays literal", fields: "username=eve&password=pw-x-123456&note=%7B%7Bhi%7D%7D",
			form:  map[string]string{"username": "{{.User}}", "password": "{{.Password}}", "note": `{{"{{"}}hi}}`},
			pages: []string{"/home"}, password: "SET-ME", absent: "pw-x-123456",
		},
		{
			name: "the password is the placeholder", fields: "username=eve&password=SET-ME",
			form:  map[string]string{"username": "{{.User}}", "password": "{{.Password}}"},
			pages: []string{"/home"}, password: "SET-ME-SET-ME",
		},
		{
			name:   "pages after the login, each once, the user's name templated, the password's page left out",
			fields: "username=eve&password=pw-Page-77", extra: []har.Entry{page("/u/eve/profile"), page("/search?q=pw-Page-77"),
				page("/u/eve/profile"), page("/login"), page("/style.css")},
			form:  map[string]string{"username": "{{.User}}", "password": "{{.Password}}"},
			pages: []string{"/u/{{.User}}/profile"}, password: "SET-ME", absent: "pw-Page-77",
		},
		{
			name:   "a short password or user name is replaced where it is a whole value, not inside words",
			fields: "username=ed&password=on1&note=on1", extra: []har.Entry{page("/edit"), page("/u/ed"), page("/bon1s"), page("/x/on1")},
			form:  map[string]string{"username": "{{.User}}", "password": "{{.Password}}", "note": "{{.Password}}"},
			pages: []string{"/edit", "/u/{{.User}}", "/bon1s"}, password: "SET-ME", absent: "/x/on1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := draft(t, rec(tc.fields, tc.extra...))
			s := load(t, out)
			assert.Equal(t, tc.form, s.Journey.Login.Form)
			assert.Equal(t, tc.pages, s.Journey.Pages)
			assert.Equal(t, tc.password, s.Journey.Users.Password)
			if tc.absent != "" {
				assert.NotContains(t, out, tc.absent)
			}
			// The templates give what was typed for the recorded user.
			d := s.Journey.Definition()
			assert.Empty(t, d.Compile("journey."), "the journey compiles")
		})
	}
}

// A HAR written by Read's types reads back the same: what the recorder in the integration test writes is a HAR.
func TestHARRoundTrip(t *testing.T) {
	h := rec("username=a&password=b")
	b, err := json.Marshal(h)
	require.NoError(t, err)
	got, err := har.Read(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, h, got)
}
