package clients

import (
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

// FieldError is a problem with one field of a Journey, which Journey.Compile names by its path.
type FieldError struct {
	Field string // e.g. "pages[2]", after Compile's prefix
	Msg   string
}

// Error is the field and the problem: "pages[2]: ...".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

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

// Compile parses the journey's templates and tries each on a sample user, so that one that cannot execute is
// refused before a run, and keeps them for Run. Each problem is a *FieldError naming its field by its path:
// users.name (UserName), users.password (Password), setup.form.NAME, login.form.NAME, pages[I] (PagePaths) and
// logout.form.NAME, after prefix, which names the templates in the messages too (a scenario's "journey."). A page
// must give a path on the app, and the name a name. Nothing is kept when there are problems.
func (j *Journey) Compile(prefix string) []error {
	c := compiler{prefix: prefix}
	f := c.compile(j)
	if len(c.errs) > 0 {
		return c.errs
	}
	j.flow = f
	return nil
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
func (t tmpl) renderParts(f plainFields) (string, bool) {
	var buf [128]byte // most paths and names fit: the string is then the one allocation
	b := buf[:0]
	for _, p := range t.parts {
		switch p.field {
		case "":
			b = append(b, p.text...)
		case "ID":
			b = strconv.AppendInt(b, int64(f.id), 10)
		case "User":
			if !f.hasUser {
				return "", false
			}
			b = append(b, f.user...)
		case "Password":
			if !f.hasPassword {
				return "", false
			}
			b = append(b, f.password...)
		case "Page":
			if !f.hasPage {
				return "", false
			}
			b = strconv.AppendInt(b, int64(f.page), 10)
		}
	}
	return string(b), true
}

// plainFields is what a template's plain parts can name: the fields of its data, and which of them the data has.
type plainFields struct {
	id, page                      int
	user, password                string
	hasUser, hasPassword, hasPage bool
}

// fieldsOf reads the fields of the data types the journey's templates see; false for any other.
func fieldsOf(data any) (plainFields, bool) {
	switch d := data.(type) {
	case pageData:
		return d.fields(), true
	case userData:
		return plainFields{id: d.ID, user: d.User, password: d.Password, hasUser: true, hasPassword: true}, true
	case passwordData:
		return plainFields{id: d.ID, user: d.User, hasUser: true}, true
	case nameData:
		return plainFields{id: d.ID}, true
	}
	return plainFields{}, false
}

func (d pageData) fields() plainFields {
	return plainFields{id: d.ID, page: d.Page, user: d.User, password: d.Password, hasUser: true, hasPassword: true, hasPage: true}
}

// plain is the template's text, or its plain parts put together for f (hasFields: the data has them); false when
// the template itself must run.
func (t tmpl) plain(f plainFields, hasFields bool) (string, bool) {
	if t.t == nil {
		return t.text, true
	}
	if t.parts == nil || !hasFields {
		return "", false
	}
	return t.renderParts(f)
}

func (t tmpl) render(data any) (string, error) {
	if out, ok := t.plain(fieldsOf(data)); ok {
		return out, nil
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

// request is a compiled Request.
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

// flow is a compiled Journey: what Journey.run follows.
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
	d := pageData{ID: u.ID, User: u.User, Password: u.Password, Page: p}
	// Put together here, where d is not yet an interface: boxing it for render would allocate for every request.
	if out, ok := t.plain(d.fields(), true); ok {
		return out, nil
	}
	path, err := t.render(d)
	if err != nil {
		return t.text, fmt.Errorf("pages: %w", err)
	}
	return path, nil
}

// compiler collects the problems of a Journey while compiling it.
type compiler struct {
	prefix string
	errs   []error
}

func (c *compiler) errf(key, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: c.prefix + key, Msg: fmt.Sprintf(format, args...)})
}

// sample data templates are tried on.
var (
	sampleUser = userData{ID: 1, User: "user1", Password: "secret"}
	samplePage = pageData{ID: 1, User: "user1", Password: "secret", Page: 1}
)

// template parses text and executes it on sample; it reports a problem under key and returns what the sample gave.
func (c *compiler) template(key, text string, sample any, allowed string) (tmpl, string, bool) {
	if !strings.Contains(text, "{{") {
		return tmpl{text: text}, text, true
	}
	t, err := template.New(c.prefix + key).Option("missingkey=error").Parse(text)
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

// form compiles a form's templated values, in the order of their names.
func (c *compiler) form(key string, form map[string]string) []field {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	fields := make([]field, 0, len(form))
	for _, k := range names {
		t, _, _ := c.template(key+"."+k, form[k], sampleUser, userFields)
		fields = append(fields, field{name: k, value: t})
	}
	return fields
}

// request compiles a setup or logout; defaultOK applies without OKStatus.
func (c *compiler) request(key string, r Request, defaultOK func(int) bool) request {
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

// compile builds j's flow, collecting its problems.
func (c *compiler) compile(j *Journey) *flow {
	f := &flow{}
	var sampleName string
	var ok bool
	if f.name, sampleName, ok = c.template("users.name", j.UserName, nameData{ID: 1}, nameFields); ok && sampleName == "" {
		c.errf("users.name", "%q gives an empty name", j.UserName)
	}
	f.password, _, _ = c.template("users.password", j.Password, passwordData{ID: 1, User: sampleName}, passwordFields)

	if j.Setup != nil {
		setup := c.request("setup", *j.Setup, func(status int) bool { return status >= 200 && status < 400 })
		f.setup = &setup
	}

	f.login.formPath, f.login.method, f.login.path = j.LoginFormPath, j.LoginMethod, j.LoginPath
	if f.login.method == "" {
		f.login.method = http.MethodPost
	}
	f.login.page = pathOnly(f.login.formPath)
	if f.login.page == "" {
		f.login.page = pathOnly(f.login.path)
	}
	f.login.form = c.form("login.form", j.LoginForm)

	f.success.path, f.success.status, f.success.body = pathOnly(j.SuccessPath), j.SuccessStatus, j.SuccessText
	if f.success.status == 0 {
		f.success.status = http.StatusOK
	}

	for i, p := range j.PagePaths {
		key := fmt.Sprintf("pages[%d]", i)
		t, got, ok := c.template(key, p, samplePage, pageFields)
		if ok {
			if p == "" || got == "" {
				c.errf(key, "is empty: a page is a path on the app, such as %q", "/page/{{.Page}}")
			} else {
				c.pagePath(key, got)
			}
		}
		f.pages = append(f.pages, t)
	}

	f.loggedOut.redirectTo = make([]string, len(j.LoggedOutPaths))
	for i, p := range j.LoggedOutPaths {
		f.loggedOut.redirectTo[i] = pathOnly(p)
	}
	f.loggedOut.status, f.loggedOut.cookie = slices.Clone(j.LoggedOutStatus), j.LoggedOutCookie

	f.logout = c.request("logout", j.Logout, func(status int) bool { return isRedirect(status) || status == http.StatusOK })
	return f
}

// pagePath checks what a page's template gave the sample user: a path on the app, "/" first, not "//" (another
// host).
func (c *compiler) pagePath(key, p string) {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		c.errf(key, "%q is not a path on the app (it must start with a single /)", p)
	} else if _, err := url.Parse(p); err != nil {
		c.errf(key, "%q is not a URL path: %v", p, err)
	}
}
