package clients

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// JourneySpec is a scenario's `journey:` block (yaml tags are the scenario keys): how to log in to any app, which
// pages to open and how the app says "you are not logged in". The zero JourneySpec is the fake app's journey.
//
// Templates (text/template) see {{.User}} (the user's name), {{.Password}} and {{.ID}} (the user's number, from 1);
// pages see {{.Page}} too (the page number, from 1). A field a template does not have is an error.
type JourneySpec struct {
	Users UsersSpec `yaml:"users"`
	// Setup, when set, is sent once per user before the first login attempt (e.g. a sign-up); its redirects are
	// followed.
	Setup   *RequestSpec `yaml:"setup"`
	Login   LoginSpec    `yaml:"login"`
	Success SuccessSpec  `yaml:"success"`
	// Pages are the protected pages, templated with {{.Page}} and cycled over clients.pages: page p opens
	// Pages[(p-1) % len(Pages)]. Omitted: ["/page/{{.Page}}"]; an explicit empty list is an error.
	Pages     []string      `yaml:"pages"`
	LoggedOut LoggedOutSpec `yaml:"logged_out"`
	// Logout is what users who log out (clients.logout) send at the end of their journey; default POST /logout.
	Logout *RequestSpec `yaml:"logout"`
}

// UsersSpec names the accounts.
type UsersSpec struct {
	Name     string `yaml:"name"`     // templated with {{.ID}}; default "user{{.ID}}" (User.Name)
	Password string `yaml:"password"` // templated with {{.ID}} and {{.User}}; default "secret"
}

// RequestSpec is one request the journey sends: the setup, or the logout.
type RequestSpec struct {
	Method string            `yaml:"method"` // GET or POST; default POST when form is set, else GET
	Path   string            `yaml:"path"`   // required: a path on the app
	Form   map[string]string `yaml:"form"`   // templated values; sent as the query of a GET, the body of a POST
	// OKStatus lists the answers that count as done (outcome ok; any other is error). Default: for the setup any
	// 2xx or 3xx, for the logout 200 or a redirect. The setup's redirects are followed while their status is in it.
	OKStatus []int `yaml:"ok_status"`
}

// LoginSpec is one login attempt.
type LoginSpec struct {
	// FormPath is opened first (following redirects, to an identity provider too) to read the login form: its
	// hidden fields and its action. "" posts directly to Path without a GET. When both FormPath and Path are
	// empty, FormPath is "/login" (the fake app).
	FormPath string `yaml:"form_path"`
	Method   string `yaml:"method"` // GET or POST; default POST
	// Path is where the form is submitted. Default: the form's action, else the page the form was found on. When
	// Path is set, the page at FormPath need not hold a form (a page that only sets a CSRF cookie).
	Path string `yaml:"path"`
	// Form is the submitted fields, templated; default {username: "{{.User}}", password: "{{.Password}}"}. The
	// hidden fields of the form are added unless Form sets the same field.
	Form map[string]string `yaml:"form"`
}

// SuccessSpec is how the end of a successful login looks, after following the submission's redirects.
type SuccessSpec struct {
	// Path is the final URL path; "" accepts any path but the login form's (on the app).
	Path string `yaml:"path"`
	// Status is the final status; default 200. It cannot be a redirect: redirects are followed.
	Status int `yaml:"status"`
	// BodyContains, when set, must appear in the final answer's body (text/* or JSON, its first 64 KiB).
	BodyContains string `yaml:"body_contains"`
}

// LoggedOutSpec is how an answer says "you are not logged in": on a protected page a loss, on the way from an
// accepted login to the first page a loop, in answer to the submission itself a rejection.
type LoggedOutSpec struct {
	// RedirectTo lists redirect Location paths (on the app; the query is ignored); default [the login's
	// form_path, else its path].
	RedirectTo []string `yaml:"redirect_to"`
	Status     []int    `yaml:"status"` // default [401]
	// ClearedCookie names a cookie: an answer that expires it (Set-Cookie with Max-Age<=0, or an Expires in the
	// past) is logged out too.
	ClearedCookie string `yaml:"cleared_cookie"`
}

// Defaults of the zero JourneySpec: the fake app's journey.
const (
	DefaultUserName  = "user{{.ID}}"
	DefaultPassword  = "secret"
	DefaultLoginPath = "/login"
	DefaultPage      = "/page/{{.Page}}"
	DefaultLogout    = "/logout"
)

// What templates see. Distinct types per place, so that a field a place does not have ({{.Page}} in a login
// form, {{.User}} in the user's own name) fails to execute.
type (
	nameData     struct{ ID int }
	passwordData struct {
		ID   int
		User string
	}
	userData struct {
		ID             int
		User, Password string
	}
	pageData struct {
		ID             int
		User, Password string
		Page           int
	}
)

const (
	nameFields     = ".ID"
	passwordFields = ".ID, .User"
	userFields     = ".User, .Password, .ID"
	pageFields     = ".User, .Password, .ID, .Page"
)

// Validate returns every problem with s, each a *KeyError keyed under "journey".
func (s JourneySpec) Validate() []error {
	_, errs := s.Compile(0, 0)
	return errs
}

// Journey is the journey s describes: each user opens pages protected pages and logs in again up to relogin
// times. A zero JourneySpec gives the fake app's journey (FakeAppJourney). An invalid s is an error joining every
// problem Validate reports.
func (s JourneySpec) Journey(pages, relogin int) (Journey, error) {
	j, errs := s.Compile(pages, relogin)
	return j, errors.Join(errs...)
}

// Compile is Journey with every problem apart, for a caller that checks and compiles in one pass.
func (s JourneySpec) Compile(pages, relogin int) (Journey, []error) {
	f, errs := s.compile()
	if len(errs) > 0 {
		return Journey{}, errs
	}
	return Journey{Pages: pages, Relogin: relogin, MaxRedirects: 20, WSPath: "/ws", flow: f}, nil
}

// tmpl is a compiled template; a text without actions is kept as it is.
type tmpl struct {
	text string
	t    *template.Template
	// parts is the template as text and plain field references ({{.Page}}), when it is no more than that: the
	// common page path is put together without executing the template for every request.
	parts []tmplPart
}

type tmplPart struct {
	text  string
	field string // ID, User, Password or Page; "": text only
}

// plainParts reads t's parse tree into parts, or nil when it holds anything but text and {{.Field}} actions.
func plainParts(t *template.Template) []tmplPart {
	if t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	var parts []tmplPart
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			parts = append(parts, tmplPart{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 {
				return nil
			}
			switch f.Ident[0] {
			case "ID", "User", "Password", "Page":
				parts = append(parts, tmplPart{field: f.Ident[0]})
			default:
				return nil
			}
		default:
			return nil
		}
	}
	return parts
}

// renderParts puts the parts together for the data, or reports that it cannot (a field the data lacks), so that the
// template itself runs and gives its own error.
func (t tmpl) renderParts(data any) (string, bool) {
	var id, page int
	var user, password string
	hasPage := false
	switch d := data.(type) {
	case pageData:
		id, user, password, page, hasPage = d.ID, d.User, d.Password, d.Page, true
	case userData:
		id, user, password = d.ID, d.User, d.Password
	default:
		return "", false
	}
	b := make([]byte, 0, 2*len(t.text))
	for _, p := range t.parts {
		switch p.field {
		case "":
			b = append(b, p.text...)
		case "ID":
			b = strconv.AppendInt(b, int64(id), 10)
		case "User":
			b = append(b, user...)
		case "Password":
			b = append(b, password...)
		case "Page":
			if !hasPage {
				return "", false
			}
			b = strconv.AppendInt(b, int64(page), 10)
		}
	}
	return string(b), true
}

func (t tmpl) render(data any) (string, error) {
	if t.t == nil {
		return t.text, nil
	}
	if t.parts != nil {
		if out, ok := t.renderParts(data); ok {
			return out, nil
		}
	}
	var sb strings.Builder
	if err := t.t.Execute(&sb, data); err != nil {
		return "", err
	}
	return sb.String(), nil
}

type field struct {
	name  string
	value tmpl
}

// request is a compiled RequestSpec.
type request struct {
	method string
	path   string
	form   []field // nil: no form (a POST still sends an empty body)
	ok     func(status int) bool
}

func (r request) values(u userData) (url.Values, error) {
	if r.form == nil {
		if r.method == http.MethodPost {
			return url.Values{}, nil
		}
		return nil, nil
	}
	return renderFields(r.form, u, url.Values{})
}

func renderFields(fields []field, u userData, into url.Values) (url.Values, error) {
	for _, f := range fields {
		v, err := f.value.render(u)
		if err != nil {
			return nil, fmt.Errorf("form field %s: %w", f.name, err)
		}
		into.Set(f.name, v)
	}
	return into, nil
}

// flow is a compiled JourneySpec: what Journey.run follows.
type flow struct {
	name, password tmpl
	setup          *request
	login          struct {
		formPath, method, path string
		page                   string // the login form's path, without a query: form_path, else path
		form                   []field
	}
	success struct {
		path   string
		status int
		body   string
	}
	pages     []tmpl
	loggedOut struct {
		redirectTo []string
		status     []int
		cookie     string
	}
	logout request
}

// defaultFlow is the journey of a Journey built without a spec.
var defaultFlow = func() *flow {
	f, errs := JourneySpec{}.compile()
	if len(errs) > 0 {
		panic(fmt.Sprintf("clients: the default journey does not compile: %v", errs))
	}
	return f
}()

// user is what u's templates see, outside pages.
func (f *flow) user(u User) (userData, error) {
	name, err := f.name.render(nameData{ID: u.ID})
	if err != nil {
		return userData{}, fmt.Errorf("users.name: %w", err)
	}
	password, err := f.password.render(passwordData{ID: u.ID, User: name})
	if err != nil {
		return userData{}, fmt.Errorf("users.password: %w", err)
	}
	return userData{ID: u.ID, User: name, Password: password}, nil
}

// page is the path of page p (from 1); when it does not execute, the template and why.
func (f *flow) page(u userData, p int) (string, error) {
	t := f.pages[(p-1)%len(f.pages)]
	path, err := t.render(pageData{ID: u.ID, User: u.User, Password: u.Password, Page: p})
	if err != nil {
		return t.text, fmt.Errorf("pages: %w", err)
	}
	return path, nil
}

// compiler collects the problems of a JourneySpec while compiling it.
type compiler struct{ errs []error }

func (c *compiler) errf(key, format string, args ...any) {
	c.errs = append(c.errs, keyErr(key, format, args...))
}

// sample data templates are tried on.
var (
	sampleUser = userData{ID: 1, User: "user1", Password: DefaultPassword}
	samplePage = pageData{ID: 1, User: "user1", Password: DefaultPassword, Page: 1}
)

// template parses text and executes it on sample; it reports a problem under key and returns what the sample gave.
func (c *compiler) template(key, text string, sample any, allowed string) (tmpl, string, bool) {
	if !strings.Contains(text, "{{") {
		return tmpl{text: text}, text, true
	}
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		c.errf(key, "%q is not a template: %v (fields allowed here: %s)", text, err, allowed)
		return tmpl{}, "", false
	}
	out := tmpl{text: text, t: t, parts: plainParts(t)}
	got, err := out.render(sample)
	if err != nil {
		if _, rest, ok := strings.Cut(err.Error(), "can't evaluate field "); ok {
			name, _, _ := strings.Cut(rest, " ")
			c.errf(key, "%q does not execute: there is no field .%s here (fields allowed here: %s)", text, name, allowed)
		} else {
			c.errf(key, "%q does not execute: %v (fields allowed here: %s)", text, err, allowed)
		}
		return tmpl{}, "", false
	}
	return out, got, true
}

// path checks an app path: "/" first, not "//" (another host).
func (c *compiler) path(key, p string, required bool) {
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

func (c *compiler) method(key, m string) {
	if m != "" && m != http.MethodGet && m != http.MethodPost {
		c.errf(key, "%q is not allowed (allowed: GET, POST)", m)
	}
}

func (c *compiler) statuses(key string, codes []int) {
	for i, code := range codes {
		if code < 100 || code > 599 {
			c.errf(fmt.Sprintf("%s[%d]", key, i), "%d is not an HTTP status (allowed 100..599)", code)
		}
	}
}

func (c *compiler) form(key string, form map[string]string) []field {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	fields := make([]field, 0, len(form))
	for _, k := range names {
		if k == "" {
			c.errf(key, "a form field needs a name")
			continue
		}
		t, _, _ := c.template(key+"."+k, form[k], sampleUser, userFields)
		fields = append(fields, field{name: k, value: t})
	}
	return fields
}

// request compiles a setup or logout; defaultOK applies without ok_status.
func (c *compiler) request(key string, r RequestSpec, defaultOK func(int) bool) request {
	c.method(key+".method", r.Method)
	c.path(key+".path", r.Path, true)
	c.statuses(key+".ok_status", r.OKStatus)
	out := request{method: r.Method, path: r.Path, ok: defaultOK}
	if r.Form != nil {
		out.form = c.form(key+".form", r.Form)
	}
	if out.method == "" {
		out.method = http.MethodGet
		if r.Form != nil {
			out.method = http.MethodPost
		}
	}
	if r.OKStatus != nil {
		codes := slices.Clone(r.OKStatus)
		out.ok = func(status int) bool { return slices.Contains(codes, status) }
	}
	return out
}

// pathOnly is p without its query.
func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// compile checks s and builds its flow; the flow is nil when there are problems.
func (s JourneySpec) compile() (*flow, []error) {
	var c compiler
	f := &flow{}

	name := s.Users.Name
	if name == "" {
		name = DefaultUserName
	}
	var sampleName string
	var ok bool
	if f.name, sampleName, ok = c.template("journey.users.name", name, nameData{ID: 1}, nameFields); ok && sampleName == "" {
		c.errf("journey.users.name", "%q gives an empty name", name)
	}
	password := s.Users.Password
	if password == "" {
		password = DefaultPassword
	}
	f.password, _, _ = c.template("journey.users.password", password, passwordData{ID: 1, User: sampleName}, passwordFields)

	if s.Setup != nil {
		setup := c.request("journey.setup", *s.Setup, func(status int) bool { return status >= 200 && status < 400 })
		f.setup = &setup
	}

	l := s.Login
	c.path("journey.login.form_path", l.FormPath, false)
	c.path("journey.login.path", l.Path, false)
	c.method("journey.login.method", l.Method)
	f.login.formPath, f.login.method, f.login.path = l.FormPath, l.Method, l.Path
	if f.login.formPath == "" && f.login.path == "" {
		f.login.formPath = DefaultLoginPath
	}
	if f.login.method == "" {
		f.login.method = http.MethodPost
	}
	f.login.page = pathOnly(f.login.formPath)
	if f.login.page == "" {
		f.login.page = pathOnly(f.login.path)
	}
	form := l.Form
	if form == nil {
		form = map[string]string{"username": "{{.User}}", "password": "{{.Password}}"}
	}
	f.login.form = c.form("journey.login.form", form)

	c.path("journey.success.path", s.Success.Path, false)
	f.success.path, f.success.status, f.success.body = pathOnly(s.Success.Path), s.Success.Status, s.Success.BodyContains
	switch st := s.Success.Status; {
	case st == 0:
		f.success.status = http.StatusOK
	case st < 100 || st > 599:
		c.errf("journey.success.status", "%d is not an HTTP status (allowed 100..599)", st)
	case isRedirect(st):
		c.errf("journey.success.status", "%d is a redirect, which the journey follows: give the status of the page the login ends on (e.g. 200)", st)
	}

	pages := s.Pages
	switch {
	case pages == nil:
		pages = []string{DefaultPage}
	case len(pages) == 0:
		c.errf("journey.pages", "at least one page is required (leave pages out for the default [%q])", DefaultPage)
	}
	for i, p := range pages {
		key := fmt.Sprintf("journey.pages[%d]", i)
		t, got, ok := c.template(key, p, samplePage, pageFields)
		if ok {
			if p == "" || got == "" {
				c.errf(key, "is empty: a page is a path on the app, such as %q", DefaultPage)
			} else {
				c.path(key, got, true)
			}
		}
		f.pages = append(f.pages, t)
	}

	lo := s.LoggedOut
	f.loggedOut.redirectTo, f.loggedOut.status, f.loggedOut.cookie = lo.RedirectTo, lo.Status, lo.ClearedCookie
	if lo.RedirectTo == nil {
		f.loggedOut.redirectTo = []string{f.login.page}
	} else {
		f.loggedOut.redirectTo = make([]string, len(lo.RedirectTo))
		for i, p := range lo.RedirectTo {
			c.path(fmt.Sprintf("journey.logged_out.redirect_to[%d]", i), p, true)
			f.loggedOut.redirectTo[i] = pathOnly(p)
		}
	}
	if lo.Status == nil {
		f.loggedOut.status = []int{http.StatusUnauthorized}
	}
	c.statuses("journey.logged_out.status", lo.Status)
	if lo.ClearedCookie != "" && !validCookieName(lo.ClearedCookie) {
		c.errf("journey.logged_out.cleared_cookie", "%q is not a cookie name", lo.ClearedCookie)
	}
	if lo.RedirectTo != nil && len(lo.RedirectTo) == 0 && lo.Status != nil && len(lo.Status) == 0 && lo.ClearedCookie == "" {
		c.errf("journey.logged_out", "nothing would count as logged out: give redirect_to, status or cleared_cookie (or leave them out for the defaults)")
	}

	logout := RequestSpec{Method: http.MethodPost, Path: DefaultLogout}
	if s.Logout != nil {
		logout = *s.Logout
	}
	f.logout = c.request("journey.logout", logout, func(status int) bool { return isRedirect(status) || status == http.StatusOK })

	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return f, nil
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
