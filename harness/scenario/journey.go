package scenario

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/clients"
)

// Journey is the `journey:` section: how to log in to any app, which pages to open and how the app says "you are
// not logged in". The zero Journey is the built-in app's journey: every key left out takes its default.
//
// Templates (text/template) see {{.User}} (the user's name), {{.Password}} and {{.ID}} (the user's number, from 1);
// pages see {{.Page}} too (the page number, from 1). A field a template does not have is an error.
type Journey struct {
	Users Accounts `yaml:"users"`
	// Setup, when set, is sent once per user before the first login attempt (e.g. a sign-up); its redirects are
	// followed.
	Setup   *Request `yaml:"setup"`
	Login   Login    `yaml:"login"`
	Success Success  `yaml:"success"`
	// Pages are the protected pages, templated with {{.Page}} and cycled over clients.pages: page p opens
	// Pages[(p-1) % len(Pages)]. Omitted: ["/page/{{.Page}}"]; an explicit empty list is an error.
	Pages     []string  `yaml:"pages"`
	LoggedOut LoggedOut `yaml:"logged_out"`
	// Logout is what users who log out (clients.logout) send at the end of their journey; default POST /logout.
	Logout *Request `yaml:"logout"`
}

// Accounts is `journey.users`: the accounts' names and passwords.
type Accounts struct {
	Name     string `yaml:"name"`     // templated with {{.ID}}; default "user{{.ID}}"
	Password string `yaml:"password"` // templated with {{.ID}} and {{.User}}; default "secret"
}

// Request is one request the journey sends: the setup, or the logout.
type Request struct {
	Method string            `yaml:"method"` // GET or POST; default POST when form is set, else GET
	Path   string            `yaml:"path"`   // required: a path on the app
	Form   map[string]string `yaml:"form"`   // templated values; sent as the query of a GET, the body of a POST
	// OKStatus lists the answers that count as done (outcome ok; any other is error). Default: for the setup any
	// 2xx or 3xx, for the logout 200 or a redirect. The setup's redirects are followed while their status is in it.
	OKStatus []int `yaml:"ok_status"`
}

// Login is `journey.login`: one login attempt.
type Login struct {
	// FormPath is opened first (following redirects, to an identity provider too) to read the login form: its
	// hidden fields and its action. "" posts directly to Path without a GET. When both FormPath and Path are
	// empty, FormPath is "/login" (the built-in app).
	FormPath string `yaml:"form_path"`
	Method   string `yaml:"method"` // GET or POST; default POST
	// Path is where the form is submitted. Default: the form's action, else the page the form was found on. When
	// Path is set, the page at FormPath need not hold a form (a page that only sets a CSRF cookie).
	Path string `yaml:"path"`
	// Form is the submitted fields, templated; default {username: "{{.User}}", password: "{{.Password}}"}. The
	// hidden fields of the form are added unless Form sets the same field.
	Form map[string]string `yaml:"form"`
}

// Success is `journey.success`: how the end of a successful login looks, after following the submission's
// redirects.
type Success struct {
	// Path is the final URL path; "" accepts any path but the login form's (on the app).
	Path string `yaml:"path"`
	// Status is the final status; default 200. It cannot be a redirect: redirects are followed.
	Status int `yaml:"status"`
	// BodyContains, when set, must appear in the final answer's body (text/* or JSON, its first 64 KiB).
	BodyContains string `yaml:"body_contains"`
}

// LoggedOut is `journey.logged_out`: how an answer says "you are not logged in": on a protected page a loss, on
// the way from an accepted login to the first page a loop, in answer to the submission itself a rejection.
type LoggedOut struct {
	// RedirectTo lists redirect Location paths (on the app; the query is ignored); default [the login's
	// form_path, else its path].
	RedirectTo []string `yaml:"redirect_to"`
	Status     []int    `yaml:"status"` // default [401]
	// ClearedCookie names a cookie: an answer that expires it (Set-Cookie with Max-Age<=0, or an Expires in the
	// past) is logged out too.
	ClearedCookie string `yaml:"cleared_cookie"`
}

// Defaults of the zero Journey: the built-in app's journey.
const (
	defaultUserName  = "user{{.ID}}"
	defaultPassword  = "secret"
	defaultLoginPath = "/login"
	defaultPage      = "/page/{{.Page}}"
	defaultLogout    = "/logout"
)

// Definition is the journey as package clients walks it: every key left out filled with its default, the templates
// not compiled yet (clients.Journey.Compile does that). The counts, the pacing and the WebSocket are the compile
// step's to add. A form field without a name, which Validate refuses, is left out.
func (j Journey) Definition() clients.Journey {
	d := clients.Journey{
		UserName: or(j.Users.Name, defaultUserName), Password: or(j.Users.Password, defaultPassword),
		LoginFormPath: j.Login.FormPath, LoginMethod: or(j.Login.Method, http.MethodPost), LoginPath: j.Login.Path,
		LoginForm:   named(j.Login.Form),
		SuccessPath: j.Success.Path, SuccessStatus: j.Success.Status, SuccessText: j.Success.BodyContains,
		PagePaths: j.Pages, LoggedOutPaths: j.LoggedOut.RedirectTo, LoggedOutStatus: j.LoggedOut.Status,
		LoggedOutCookie: j.LoggedOut.ClearedCookie,
		Logout:          clients.Request{Method: http.MethodPost, Path: defaultLogout},
	}
	if d.LoginFormPath == "" && d.LoginPath == "" {
		d.LoginFormPath = defaultLoginPath
	}
	if j.Login.Form == nil {
		d.LoginForm = map[string]string{"username": "{{.User}}", "password": "{{.Password}}"}
	}
	if d.SuccessStatus == 0 {
		d.SuccessStatus = http.StatusOK
	}
	if j.Pages == nil {
		d.PagePaths = []string{defaultPage}
	}
	if j.LoggedOut.RedirectTo == nil {
		d.LoggedOutPaths = []string{or(pathOnly(d.LoginFormPath), pathOnly(d.LoginPath))}
	}
	if j.LoggedOut.Status == nil {
		d.LoggedOutStatus = []int{http.StatusUnauthorized}
	}
	if j.Setup != nil {
		setup := request(*j.Setup)
		d.Setup = &setup
	}
	if j.Logout != nil {
		d.Logout = request(*j.Logout)
	}
	return d
}

// request is r for the clients, its method's default filled in.
func request(r Request) clients.Request {
	method := r.Method
	if method == "" {
		method = http.MethodGet
		if r.Form != nil {
			method = http.MethodPost
		}
	}
	return clients.Request{Method: method, Path: r.Path, Form: named(r.Form), OKStatus: r.OKStatus}
}

// named is form without the fields that have no name.
func named(form map[string]string) map[string]string {
	if _, blank := form[""]; !blank {
		return form
	}
	out := maps.Clone(form)
	delete(out, "")
	return out
}

// pathOnly is p without its query.
func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// journeySections orders the journey's problems as its keys are listed, each section's own checks before its
// templates'.
var journeySections = []string{"journey.users.name", "journey.users.password", "journey.setup", "journey.login",
	"journey.success", "journey.pages", "journey.logged_out", "journey.logout"}

// validate returns every problem with the journey, each a *KeyError keyed under "journey": the keys checked here,
// the templates compiled by package clients on a sample user.
func (j Journey) validate() []error {
	var c journeyChecks
	if j.Setup != nil {
		c.request("journey.setup", *j.Setup)
	}
	l := j.Login
	c.path("journey.login.form_path", l.FormPath, false)
	c.path("journey.login.path", l.Path, false)
	c.method("journey.login.method", l.Method)
	c.form("journey.login.form", l.Form)
	c.path("journey.success.path", j.Success.Path, false)
	switch st := j.Success.Status; {
	case st == 0:
	case st < 100 || st > 599:
		c.errf("journey.success.status", "%d is not an HTTP status (allowed 100..599)", st)
	case isRedirect(st):
		c.errf("journey.success.status", "%d is a redirect, which the journey follows: give the status of the page the login ends on (e.g. 200)", st)
	}
	if j.Pages != nil && len(j.Pages) == 0 {
		c.errf("journey.pages", "at least one page is required (leave pages out for the default [%q])", defaultPage)
	}
	lo := j.LoggedOut
	for i, p := range lo.RedirectTo {
		c.path(fmt.Sprintf("journey.logged_out.redirect_to[%d]", i), p, true)
	}
	c.statuses("journey.logged_out.status", lo.Status)
	if lo.ClearedCookie != "" && !validCookieName(lo.ClearedCookie) {
		c.errf("journey.logged_out.cleared_cookie", "%q is not a cookie name", lo.ClearedCookie)
	}
	if lo.RedirectTo != nil && len(lo.RedirectTo) == 0 && lo.Status != nil && len(lo.Status) == 0 && lo.ClearedCookie == "" {
		c.errf("journey.logged_out", "nothing would count as logged out: give redirect_to, status or cleared_cookie (or leave them out for the defaults)")
	}
	logout := Request{Method: http.MethodPost, Path: defaultLogout}
	if j.Logout != nil {
		logout = *j.Logout
	}
	c.request("journey.logout", logout)

	d := j.Definition()
	for _, err := range d.Compile("journey.") {
		if fe := (*clients.FieldError)(nil); errors.As(err, &fe) {
			err = &KeyError{Key: fe.Field, Msg: fe.Msg}
		}
		c.errs = append(c.errs, err)
	}
	slices.SortStableFunc(c.errs, func(a, b error) int { return journeySection(a) - journeySection(b) })
	return c.errs
}

// journeySection is the place of err's key in journeySections.
func journeySection(err error) int {
	var ke *KeyError
	if !errors.As(err, &ke) {
		return len(journeySections)
	}
	for i, s := range journeySections {
		if ke.Key == s || strings.HasPrefix(ke.Key, s+".") || strings.HasPrefix(ke.Key, s+"[") {
			return i
		}
	}
	return len(journeySections)
}

// journeyChecks collects the problems of the journey's keys.
type journeyChecks struct{ errs []error }

func (c *journeyChecks) errf(key, format string, args ...any) {
	c.errs = append(c.errs, keyErr(key, format, args...))
}

// path checks an app path: "/" first, not "//" (another host).
func (c *journeyChecks) path(key, p string, required bool) {
	switch {
	case p == "" && required:
		c.errf(key, "is required: a path on the app, such as /login")
	case p == "":
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		c.errf(key, "%q is not a path on the app (it must start with a single /)", p)
	default:
		if _, err := url.Parse(p); err != nil {
			c.errf(key, "%q is not a URL path: %v", p, err)
		}
	}
}

func (c *journeyChecks) method(key, m string) {
	if m != "" && m != http.MethodGet && m != http.MethodPost {
		c.errf(key, "%q is not allowed (allowed: GET, POST)", m)
	}
}

func (c *journeyChecks) statuses(key string, codes []int) {
	for i, code := range codes {
		if code < 100 || code > 599 {
			c.errf(fmt.Sprintf("%s[%d]", key, i), "%d is not an HTTP status (allowed 100..599)", code)
		}
	}
}

func (c *journeyChecks) form(key string, form map[string]string) {
	if _, blank := form[""]; blank {
		c.errf(key, "a form field needs a name")
	}
}

// request checks a setup or logout.
func (c *journeyChecks) request(key string, r Request) {
	c.method(key+".method", r.Method)
	c.path(key+".path", r.Path, true)
	c.statuses(key+".ok_status", r.OKStatus)
	c.form(key+".form", r.Form)
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// validCookieName reports a cookie name made of HTTP token characters.
func validCookieName(name string) bool {
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return name != ""
}
