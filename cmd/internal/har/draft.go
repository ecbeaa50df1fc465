package har

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Draft is the journey a recording suggests, and what it could not decide. Every string in it is safe to print:
// the passwords typed in the recording are templates ({{.Password}}) in the forms and left out everywhere else.
type Draft struct {
	Origin    string // the app: scheme://host[:port] of the page the login ended on
	Entries   int    // exchanges in the recording
	Elsewhere int    // of them, on other hosts (an identity provider, a CDN): read for the login only
	User      string // the user name typed at the login ("" when no field held it)
	UserName  string // journey.users.name: User with its number (or a number) as {{.ID}}
	Setup     *Step
	Login     Login
	Success   Success
	Pages     []Page
	LoggedOut LoggedOut
	Logout    *Step
	// SessionCookie is the cookie the login's answer set that the requests after it carried: app.session_cookie.
	SessionCookie string
	// Notes are the comments the YAML carries, by the key they are written above ("" the head of the section).
	Notes []Note
	// Password is what journey.users.password says: a placeholder, none of the recorded passwords.
	Password string
}

// Note is one comment of the draft. Review marks what the recording could not decide.
type Note struct {
	Key    string
	Review bool
	Text   string
}

// Field is one submitted form field; Value is a template.
type Field struct{ Name, Value string }

// Step is the setup or the logout.
type Step struct {
	Method   string
	Path     string
	Form     []Field
	OKStatus []int
}

// Login is journey.login; FormPath "" with Path set posts without a GET.
type Login struct {
	FormPath string
	Method   string
	Path     string
	Form     []Field
}

// Success is journey.success; Status 0 leaves the default (200).
type Success struct {
	Path   string
	Status int
}

// Page is one of journey.pages, with the status it answered in the recording.
type Page struct {
	Path   string // a template
	Status int
	From   string // the recorded request, for the comment
}

// LoggedOut is journey.logged_out.
type LoggedOut struct {
	RedirectTo    []string
	Status        []int
	ClearedCookie string
}

// Undecided counts the notes that say what the recording could not decide.
func (d *Draft) Undecided() int {
	n := 0
	for _, no := range d.Notes {
		if no.Review {
			n++
		}
	}
	return n
}

var (
	passwordName = regexp.MustCompile(`(?i)pass(word|wd|phrase)?|pwd|^pw$|_pw$`)
	userName     = regexp.MustCompile(`(?i)user|login|e-?mail|name|account|acct|ident|handle|phone|uid`)
	tokenName    = regexp.MustCompile(`(?i)csrf|xsrf|token|nonce|authenticity|verification|^state$|^execution$|formhash|^_$`)
	signInWord   = regexp.MustCompile(`(?i)sign[-_ ]?(in|on|out|off)`)
	logoutPath   = regexp.MustCompile(`(?i)log[-_]?(out|off)|sign[-_]?(out|off)`)
	sessionish   = regexp.MustCompile(`(?i)sess|sid`)
	authish      = regexp.MustCompile(`(?i)auth|login|token|jwt|user|remember|ident`)
	csrfish      = regexp.MustCompile(`(?i)csrf|xsrf`)
	digits       = regexp.MustCompile(`^(.*?)(\d+)(@.*)?$`)
)

// entry is one recorded exchange with what the draft reads of it.
type entry struct {
	i      int
	e      *Entry
	u      *url.URL // nil when the URL does not parse
	origin string
	to     *url.URL // a redirect's target, resolved
	next   int      // the entry that followed the redirect, or -1
	prev   int      // the redirect this entry followed, or -1
}

func (x *entry) method() string { return strings.ToUpper(x.e.Request.Method) }

// pathQuery is the entry's path and query, as a journey writes paths.
func (x *entry) pathQuery() string { return pathQuery(x.u) }

func pathQuery(u *url.URL) string {
	if u == nil {
		return ""
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

func originOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// analysis is the state of one draft.
type analysis struct {
	d         *Draft
	entries   []*entry
	passwords []string         // the passwords typed, longest first: never written out
	secrets   []*regexp.Regexp // where they appear
	user      *regexp.Regexp   // where the typed user name appears
	forms     map[int][]form   // each page's forms, read once
}

// note keeps a comment; the strings among args come from the recording and are masked.
func (a *analysis) note(key, format string, args ...any) {
	a.d.Notes = append(a.d.Notes, Note{Key: key, Text: fmt.Sprintf(format, a.maskArgs(args)...)})
}

func (a *analysis) review(key, format string, args ...any) {
	a.d.Notes = append(a.d.Notes, Note{Key: key, Review: true, Text: fmt.Sprintf(format, a.maskArgs(args)...)})
}

func (a *analysis) maskArgs(args []any) []any {
	out := slices.Clone(args)
	for i, v := range out {
		if s, ok := v.(string); ok {
			out[i] = a.mask(s)
		}
	}
	return out
}

// occurs finds text in recorded values: anywhere when it is long enough not to turn up by chance, else only
// between non-alphanumerics (a whole value, a path segment).
func occurs(text string) *regexp.Regexp {
	if len(text) >= 4 {
		return regexp.MustCompile("(" + regexp.QuoteMeta(text) + ")")
	}
	return regexp.MustCompile(`(?:^|[^\pL\pN])(` + regexp.QuoteMeta(text) + `)(?:$|[^\pL\pN])`)
}

// mask is s with every password typed in the recording replaced: for what is not a template (paths, comments).
func (a *analysis) mask(s string) string {
	out, _ := a.substitute(s, false)
	return out
}

// masked reports whether s holds a password typed in the recording.
func (a *analysis) masked(s string) bool {
	_, found := a.substitute(s, false)
	return found
}

// template is the recorded value s as a template: each password {{.Password}}, the typed user name {{.User}}, the
// rest literal (a literal "{{" escaped).
func (a *analysis) template(s string) string {
	out, _ := a.substitute(s, true)
	return out
}

// substitute replaces the passwords in s ("(password)", or {{.Password}} and the user's name {{.User}} in a
// template, whose literal text it escapes), and reports whether s held a password.
func (a *analysis) substitute(s string, tmpl bool) (string, bool) {
	type sub struct {
		re   *regexp.Regexp
		with string
	}
	var subs []sub
	for _, re := range a.secrets {
		subs = append(subs, sub{re, "(password)"})
		if tmpl {
			subs[len(subs)-1].with = "{{.Password}}"
		}
	}
	if tmpl && a.user != nil {
		subs = append(subs, sub{a.user, "{{.User}}"})
	}
	lit := func(t string) string { return t }
	if tmpl {
		lit = escape
	}
	var b strings.Builder
	found := false
	for s != "" {
		at, end, which := len(s), len(s), -1
		for k, sb := range subs {
			if m := sb.re.FindStringSubmatchIndex(s); m != nil && (m[2] < at || m[2] == at && m[3] > end) {
				at, end, which = m[2], m[3], k
			}
		}
		b.WriteString(lit(s[:at]))
		if which < 0 {
			break
		}
		found = found || which < len(a.secrets)
		b.WriteString(subs[which].with)
		s = s[end:]
	}
	return b.String(), found
}

// formsOf are the forms of x's answer.
func (a *analysis) formsOf(x *entry) []form {
	f, ok := a.forms[x.i]
	if !ok {
		f = forms(x.e.Response.Content.body())
		a.forms[x.i] = f
	}
	return f
}

// FromHAR drafts the journey of the login and pages recorded in h. It fails only when the recording holds no login:
// no POST with a password field.
func FromHAR(h *HAR) (*Draft, error) {
	a := &analysis{d: &Draft{Entries: len(h.Log.Entries)}, forms: map[int][]form{}}
	a.read(h)
	login, form, formPage := a.findLogin()
	if login == nil {
		return nil, errors.New("no login in the recording: no POST with a password field (record the login with the devtools' network panel open and \"Preserve log\" ticked, then export the HAR)")
	}
	end := a.chainEnd(login)
	a.d.Origin = end.origin
	for _, x := range a.entries {
		if x.origin != a.d.Origin {
			a.d.Elsewhere++
		}
	}
	a.loginFields(login, form, formPage)
	a.setup(login)
	a.loginPaths(login, formPage)
	a.success(login, end)
	a.sessionCookie(login, end)
	a.pages(end)
	a.loggedOut()
	a.logout(end)
	a.users()
	a.d.Password = placeholder
	for slices.Contains(a.passwords, a.d.Password) { // the recorded password cannot be the placeholder
		a.d.Password += "-" + placeholder
	}
	return a.d, nil
}

// read indexes the entries and links each redirect to the request that followed it.
func (a *analysis) read(h *HAR) {
	for i := range h.Log.Entries {
		e := &h.Log.Entries[i]
		x := &entry{i: i, e: e, next: -1, prev: -1}
		if u, err := url.Parse(e.Request.URL); err == nil && u.Host != "" {
			u.Fragment, u.RawFragment = "", ""
			x.u, x.origin = u, originOf(u)
		}
		if x.u != nil && isRedirect(e.Response.Status) {
			loc := e.Response.RedirectURL
			if loc == "" {
				loc = header(e.Response.Headers, "Location")
			}
			if to, err := x.u.Parse(loc); err == nil && loc != "" {
				to.Fragment, to.RawFragment = "", ""
				x.to = to
			}
		}
		a.entries = append(a.entries, x)
	}
	for _, x := range a.entries {
		if x.to == nil {
			continue
		}
		keep := x.e.Response.Status == http.StatusTemporaryRedirect || x.e.Response.Status == http.StatusPermanentRedirect
		for _, y := range a.entries[x.i+1:] {
			if y.prev < 0 && y.u != nil && y.u.String() == x.to.String() && (y.method() == http.MethodGet || keep && y.method() == x.method()) {
				x.next, y.prev = y.i, x.i
				break
			}
		}
	}
	// The passwords: every value of a password field posted anywhere (failed attempts, a sign-up, the login).
	var secrets []string
	for _, x := range a.entries {
		if x.method() != http.MethodPost {
			continue
		}
		fields, _ := x.e.Request.PostData.fields()
		_, f := a.formFor(x)
		for _, p := range fields {
			if p.Value != "" && isPassword(p.Name, f) && !slices.Contains(secrets, p.Value) {
				secrets = append(secrets, p.Value)
			}
		}
	}
	sort.SliceStable(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	a.passwords = secrets
	for _, p := range secrets {
		a.secrets = append(a.secrets, occurs(p))
	}
}

// isPassword reports whether the posted field name is a password: a password input of its form, or so named.
func isPassword(name string, f *form) bool {
	if f != nil {
		if in, ok := f.field(name); ok {
			return in.kind == "password"
		}
	}
	return passwordName.MatchString(name)
}

// chainEnd is where the redirects from x end in the recording.
func (a *analysis) chainEnd(x *entry) *entry {
	for x.next >= 0 {
		x = a.entries[x.next]
	}
	return x
}

// formFor finds the page that served the form x submits: the nearest GET before it whose HTML has a form whose
// action is x's URL (its query aside), one with a password field first.
func (a *analysis) formFor(x *entry) (*entry, *form) {
	if x.u == nil {
		return nil, nil
	}
	for j := x.i - 1; j >= 0; j-- {
		p := a.entries[j]
		if p.u == nil || p.method() != http.MethodGet || p.e.Response.Status/100 != 2 || !strings.Contains(p.e.Response.mimeType(), "html") {
			continue
		}
		var found *form
		for _, f := range a.formsOf(p) {
			action, err := p.u.Parse(f.action)
			if err != nil || f.method != "post" && x.method() == http.MethodPost {
				continue
			}
			if originOf(action) == x.origin && action.EscapedPath() == x.u.EscapedPath() {
				if found == nil || !found.has("password") && f.has("password") {
					found = &f
				}
			}
		}
		if found != nil {
			return p, found
		}
	}
	return nil, nil
}

// findLogin picks the login: the first POST with a password field (not a sign-up) that looks accepted, else the
// last one.
func (a *analysis) findLogin() (login *entry, f *form, page *entry) {
	type cand struct {
		x    *entry
		f    *form
		page *entry
	}
	var cands []cand
	for _, x := range a.entries {
		if x.method() != http.MethodPost || x.u == nil || isSignUp(x.u.Path) {
			continue
		}
		fields, _ := x.e.Request.PostData.fields()
		page, f := a.formFor(x)
		if slices.ContainsFunc(fields, func(p Param) bool { return isPassword(p.Name, f) }) {
			cands = append(cands, cand{x, f, page})
		}
	}
	if len(cands) == 0 {
		return nil, nil, nil
	}
	for k, c := range cands {
		if a.accepted(c.x, c.page) {
			if k > 0 {
				a.note("journey.login", "%d login attempt(s) before this one were refused; this is the one the app accepted", k)
			}
			return c.x, c.f, c.page
		}
	}
	c := cands[len(cands)-1]
	a.review("journey.login", "no login in the recording looks accepted (each answered with an error, the login page again, or a redirect back to it): this is the last one, %s %s answered %d",
		c.x.method(), c.x.pathQuery(), c.x.e.Response.Status)
	return c.x, c.f, c.page
}

// accepted reports whether the app took the login x: no error, no way back to the login page, no form with a
// password field again.
func (a *analysis) accepted(x, page *entry) bool {
	st := x.e.Response.Status
	if st >= 400 || st == 0 {
		return false
	}
	back := func(u *url.URL) bool {
		return u != nil && (u.Path == x.u.Path && originOf(u) == x.origin || page != nil && u.Path == page.u.Path && originOf(u) == page.origin)
	}
	if x.to != nil {
		return !back(x.to)
	}
	for _, f := range a.formsOf(x) {
		if f.has("password") {
			return false
		}
	}
	return true
}

// isSignUp reports a sign-up path: "sign" (not sign-in or sign-out) or "register" in it.
func isSignUp(p string) bool {
	return strings.Contains(strings.ToLower(p), "regist") || strings.Contains(strings.ToLower(signInWord.ReplaceAllString(p, "")), "sign")
}

// loginFields turns the login's posted fields into the journey's form.
func (a *analysis) loginFields(login *entry, f *form, page *entry) {
	fields, isJSON := login.e.Request.PostData.fields()
	if isJSON {
		a.review("journey.login", "the login posts JSON (%s); the journey posts a form (application/x-www-form-urlencoded) with the same fields: check that the app takes it", login.e.Request.PostData.MimeType)
	}
	for _, h := range login.e.Request.Headers {
		switch n := strings.ToLower(h.Name); {
		case csrfish.MatchString(n):
			a.review("journey.login", "the login sent the header %s, which the journey cannot send (it sends cookies and form fields only)", h.Name)
		case n == "authorization":
			a.review("journey.login", "the login sent an Authorization header (its value is not written here), which the journey cannot send")
		}
	}
	var pw, user string
	for _, p := range fields {
		if pw == "" && isPassword(p.Name, f) {
			pw = p.Name
		}
	}
	user = a.userField(fields, f, pw)
	for _, p := range fields {
		if p.Name == user && p.Value != "" && !a.masked(p.Value) { // a user name holding the password: the password wins
			a.user, a.d.User = occurs(p.Value), p.Value
		}
	}
	a.d.Login.Form = a.form("journey.login.form", fields, f, page != nil, pw, user)
	if user == "" {
		a.review("journey.login.form", "no field of the login holds the user name for sure: set the one that does to \"{{.User}}\"")
	}
}

// userField is the field holding the user name: the form's text input (or so named) that is neither the password
// nor hidden.
func (a *analysis) userField(fields []Param, f *form, pw string) string {
	var named, plain []string
	for _, p := range fields {
		if p.Name == pw || isPassword(p.Name, f) {
			continue
		}
		if f != nil {
			in, ok := f.field(p.Name)
			if !ok || (in.kind != "text" && in.kind != "email" && in.kind != "tel") {
				continue
			}
		} else if tokenName.MatchString(p.Name) {
			continue
		}
		plain = append(plain, p.Name)
		if userName.MatchString(p.Name) {
			named = append(named, p.Name)
		}
	}
	switch {
	case len(named) > 0:
		return named[0]
	case len(plain) == 1:
		return plain[0]
	}
	return ""
}

// form turns posted fields into a journey form: the password {{.Password}}, the user {{.User}}, the hidden fields
// of a form read from the page left out (the journey reads them at each login: canRead), tokens the journey
// cannot read left out too, the rest as recorded.
func (a *analysis) form(key string, fields []Param, f *form, canRead bool, pw, user string) []Field {
	var out []Field
	var hidden, tokens, repeated []string
	seen := map[string]bool{}
	for _, p := range fields {
		if p.Name == "" {
			continue
		}
		if seen[p.Name] {
			if !slices.Contains(repeated, p.Name) {
				repeated = append(repeated, p.Name)
			}
			continue
		}
		seen[p.Name] = true
		var in input
		inForm := false
		if f != nil {
			in, inForm = f.field(p.Name)
		}
		switch {
		case p.Name == pw || isPassword(p.Name, f):
			out = append(out, Field{p.Name, "{{.Password}}"})
		case p.Name == user:
			out = append(out, Field{p.Name, "{{.User}}"})
		case inForm && in.kind == "hidden" && canRead:
			hidden = append(hidden, p.Name)
		case inForm && in.kind == "hidden" || !inForm && tokenName.MatchString(p.Name):
			tokens = append(tokens, p.Name)
		default:
			out = append(out, Field{p.Name, a.template(p.Value)})
		}
	}
	if len(hidden) > 0 {
		a.note(key, "left out: %s: hidden in the form, which the journey reads from the page at form_path at each login", strings.Join(hidden, ", "))
	}
	if len(tokens) > 0 {
		why := "no page in the recording served the form it came from, so nothing reads it at each login"
		if strings.HasPrefix(key, "journey.setup") || strings.HasPrefix(key, "journey.logout") {
			why = "this request is sent without reading a form first"
		}
		a.review(key, "left out: %s: named like a token the app hands out, and %s; if the app needs it, this step fails", strings.Join(tokens, ", "), why)
	}
	if len(repeated) > 0 {
		a.review(key, "%s was sent more than once: the journey sends one value (the first)", strings.Join(repeated, ", "))
	}
	return out
}

// setup is the sign-up before the login: the last POST before it to a path with "sign" or "register" in it.
func (a *analysis) setup(login *entry) {
	var up *entry
	for _, x := range a.entries[:login.i] {
		if x.method() == http.MethodPost && x.u != nil && x.origin == a.d.Origin && isSignUp(x.u.Path) {
			up = x
		}
	}
	if up == nil {
		return
	}
	fields, isJSON := up.e.Request.PostData.fields()
	_, f := a.formFor(up)
	var user string
	for _, p := range fields {
		if a.d.User != "" && p.Value == a.d.User {
			user = p.Name
			break
		}
	}
	pathQ := up.pathQuery()
	if a.masked(pathQ) {
		a.review("journey.setup.path", "the sign-up's path held the password: left out, set it")
		pathQ = "/"
	}
	s := &Step{Method: http.MethodPost, Path: pathQ}
	s.Form = a.form("journey.setup.form", fields, f, false, "", user)
	if s.Form == nil {
		s.Form = []Field{}
	}
	st := up.e.Response.Status
	a.note("journey.setup", "the sign-up the recording made before the login: POST %s answered %d", a.mask(up.pathQuery()), st)
	if isJSON {
		a.review("journey.setup", "the sign-up posts JSON; the journey posts a form with the same fields: check that the app takes it")
	}
	if st < 200 || st >= 400 {
		s.OKStatus = []int{200, 201, 302, 303, st}
		a.review("journey.setup.ok_status", "the recorded sign-up answered %d: is that the app's \"account exists\"? The list counts it as done", st)
	} else {
		a.review("journey.setup", "a second run finds the accounts there: add the status your app answers a sign-up of an existing account with (e.g. 409) to ok_status")
	}
	a.d.Setup = s
}

// loginPaths sets the form's path (the GET that served it) and the path it posts to.
func (a *analysis) loginPaths(login, page *entry) {
	d := &a.d.Login
	d.Method = http.MethodPost
	if login.origin == a.d.Origin {
		d.Path = login.pathQuery()
	} else {
		a.note("journey.login.path", "left out: the form posts to %s, not the app: the journey posts where the form's action says", login.origin)
	}
	if a.masked(d.Path) {
		a.review("journey.login.path", "the login's URL held the password: left out (the form's action is used)")
		d.Path = ""
	}
	switch {
	case page == nil:
		a.review("journey.login.form_path", "no page before the login served a form posting to %s: the journey posts without opening a form first (a page that sets a CSRF cookie would go here)", login.u.Path)
	case page.origin == a.d.Origin:
		d.FormPath = page.pathQuery()
		a.note("journey.login.form_path", "the GET that served the login form (%d)", page.e.Response.Status)
	default:
		// The form is an identity provider's: open the last page of the app on the way to it.
		x := page
		for x.prev >= 0 && x.origin != a.d.Origin {
			x = a.entries[x.prev]
		}
		if x.origin == a.d.Origin {
			d.FormPath = x.pathQuery()
			a.note("journey.login.form_path", "the form is served by %s; this page of the app redirects there", page.origin)
		} else {
			a.review("journey.login.form_path", "the form is served by %s and no redirect from the app to it is recorded: set the app's path that starts the login", page.origin)
		}
	}
	if a.masked(d.FormPath) {
		a.review("journey.login.form_path", "the form's URL held the password: left out")
		d.FormPath = ""
	}
	if d.FormPath == "" && d.Path == "" {
		d.Path = "/"
		a.review("journey.login.path", "neither the form nor where it posts is a path on the app: set them")
	}
}

// success is how the login ended: the page after its redirects.
func (a *analysis) success(login, end *entry) {
	s := &a.d.Success
	st := end.e.Response.Status
	switch {
	case end.to != nil:
		if originOf(end.to) == a.d.Origin {
			s.Path = end.to.Path
		}
		a.review("journey.success.status", "the recording stops at the redirect to %s: the status of the page the login ends on is not recorded (default 200)", a.mask(end.to.Redacted()))
	case st >= 400 || st < 100:
		s.Path = end.u.Path
		a.review("journey.success.status", "the recorded login ended with %d, which is not a logged-in page: left out (default 200)", st)
	default:
		s.Path, s.Status = end.u.Path, st
		hops := ""
		if end != login {
			hops = " after its redirects"
		}
		a.note("journey.success", "the login (POST %s) ended%s on %s, %d", login.u.Path, hops, end.u.Path, st)
	}
	if a.masked(s.Path) {
		s.Path = ""
	}
	if s.Path != "" && (s.Path == pathOnly(a.d.Login.FormPath) || a.d.Login.FormPath == "" && s.Path == pathOnly(a.d.Login.Path)) {
		a.review("journey.success.path", "the login ended on the login page's own path: success.body_contains is what tells a good login from a refused one here")
	}
	a.review("journey.success", "body_contains not decided: text only a logged-in page shows (e.g. \"Log out\") makes the check stricter")
}

// sessionCookie is the cookie the login's answers set that the requests after them carried.
func (a *analysis) sessionCookie(login, end *entry) {
	type set struct {
		name string
		at   int
		n    int // requests after at that carried it
	}
	var sets []*set
	for x := login; ; x = a.entries[x.next] {
		for _, c := range x.e.Response.setCookies() {
			if expired(c) || slices.ContainsFunc(sets, func(s *set) bool { return s.name == c.Name }) {
				continue
			}
			sets = append(sets, &set{name: c.Name, at: x.i})
		}
		if x.next < 0 {
			break
		}
	}
	anyCookie := false
	for _, x := range a.entries {
		if len(x.e.Request.cookieNames()) > 0 || len(x.e.Response.setCookies()) > 0 {
			anyCookie = true
		}
		for _, s := range sets {
			if x.i > s.at && x.origin == a.d.Origin && slices.Contains(x.e.Request.cookieNames(), s.name) {
				s.n++
			}
		}
	}
	var carried []*set
	for _, s := range sets {
		if s.n > 0 {
			carried = append(carried, s)
		}
	}
	names := func(ss []*set) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.name)
		}
		return strings.Join(out, ", ")
	}
	switch {
	case !anyCookie:
		a.review("app.session_cookie", "not decided: the recording holds no cookies (a devtools export \"sanitized\" leaves them out; export the HAR with sensitive data: no cookie value is written here)")
		return
	case len(carried) == 0 && len(sets) > 0:
		a.d.SessionCookie = sets[0].name
		a.review("app.session_cookie", "the login's answer set %s, but no later request in the recording carried it to confirm", names(sets))
		return
	case len(carried) == 0:
		a.review("app.session_cookie", "not decided: the login's answer set no cookie (does the app keep the session it had before the login, or send a token another way?)")
		return
	}
	pick := carried[0]
	for _, re := range []*regexp.Regexp{authish, sessionish} {
		for _, s := range slices.Backward(carried) {
			if re.MatchString(s.name) && !csrfish.MatchString(s.name) {
				pick = s
			}
		}
	}
	a.d.SessionCookie = pick.name
	a.note("app.session_cookie", "set by the login's answer, carried by the %d request(s) after it; merge it into your scenario's app: (it is the cookie hash-cookie and learn-cookie key on)", pick.n)
	if len(carried) > 1 {
		others := slices.DeleteFunc(slices.Clone(carried), func(s *set) bool { return s == pick })
		a.review("app.session_cookie", "the login also set %s, carried after it too: which one is the session?", names(others))
	}
}

// expired reports a Set-Cookie that deletes the cookie.
func expired(c *http.Cookie) bool {
	return c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(time.Now()) || c.RawExpires != "" && c.Expires.IsZero() && strings.Contains(c.RawExpires, "1970")
}

// isAsset reports a request a page makes for itself (styles, scripts, images, fonts), not one the user opens.
func (x *entry) isAsset() bool {
	switch strings.ToLower(x.e.ResourceType) {
	case "document", "xhr", "fetch":
		return false
	case "":
	default:
		return true
	}
	mt := x.e.Response.mimeType()
	if strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "font/") || strings.Contains(mt, "css") || strings.Contains(mt, "javascript") || strings.Contains(mt, "wasm") {
		return true
	}
	switch strings.ToLower(path.Ext(x.u.Path)) {
	case ".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp4", ".webm", ".mp3", ".wasm":
		return true
	}
	return false
}

// loggedOutAnswer says how the answer to x says "not logged in": a redirect to the login, or 401; "" when it does not.
func (a *analysis) loggedOutAnswer(x *entry) string {
	if x.to != nil && originOf(x.to) == a.d.Origin && slices.Contains(a.loginPages(), x.to.Path) {
		return fmt.Sprintf("%d to %s", x.e.Response.Status, x.to.Path)
	}
	if x.e.Response.Status == http.StatusUnauthorized {
		return "401"
	}
	return ""
}

// loginPages are the login's paths on the app: the form's and where it posts.
func (a *analysis) loginPages() []string {
	var out []string
	for _, p := range []string{pathOnly(a.d.Login.FormPath), pathOnly(a.d.Login.Path)} {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// pages are the GETs after the login, in order, each path once.
func (a *analysis) pages(end *entry) {
	seen := map[string]bool{}
	var lost []string
	for _, x := range a.entries[end.i+1:] {
		if x.u == nil || x.origin != a.d.Origin || x.method() != http.MethodGet || x.prev >= 0 || x.isAsset() {
			continue
		}
		pq := x.pathQuery()
		if slices.Contains(a.loginPages(), x.u.Path) || logoutPath.MatchString(x.u.Path) || seen[pq] {
			continue
		}
		seen[pq] = true
		if why := a.loggedOutAnswer(x); why != "" {
			lost = append(lost, fmt.Sprintf("GET %s answered %s", pq, why))
			continue
		}
		if a.masked(pq) {
			a.review("journey.pages", "a page's URL held the password: left out")
			continue
		}
		a.d.Pages = append(a.d.Pages, Page{Path: a.template(pq), Status: a.chainEnd(x).e.Response.Status, From: pq})
	}
	if len(lost) > 0 {
		a.review("journey.pages", "left out, logged out when recorded: %s", strings.Join(lost, "; "))
	}
	if len(a.d.Pages) == 0 {
		p := or(a.d.Success.Path, "/")
		a.d.Pages = []Page{{Path: a.template(p), Status: a.d.Success.Status, From: p}}
		a.review("journey.pages", "the recording opens no page after the login: the page the login ended on, opened again; add the pages your users open")
		return
	}
	a.note("journey.pages", "the GETs after the login, in the order opened (cycled over clients.pages)")
	if t, ok := numbered(a.d.Pages); ok {
		a.note("journey.pages", "they differ by one number counting from 1: pages: [%q] opens the same and more, up to clients.pages", t)
	}
}

// numbered reports pages that differ only by one number, 1..n in order, and the template that opens them.
func numbered(pages []Page) (string, bool) {
	if len(pages) < 2 {
		return "", false
	}
	num := regexp.MustCompile(`\d+`)
	first := pages[0].Path
	locs := num.FindAllStringIndex(first, -1)
	for _, loc := range locs {
		ok := true
		for k, p := range pages {
			want := first[:loc[0]] + strconv.Itoa(k+1) + first[loc[1]:]
			if first[loc[0]:loc[1]] != "1" || p.Path != want {
				ok = false
				break
			}
		}
		if ok {
			return first[:loc[0]] + "{{.Page}}" + first[loc[1]:], true
		}
	}
	return "", false
}

// loggedOut are the answers seen that said "not logged in": redirects to the login, 401s, a cleared session cookie.
func (a *analysis) loggedOut() {
	lo := &a.d.LoggedOut
	var redirects, unauthorized, cleared []string
	for _, x := range a.entries {
		if x.u == nil || x.origin != a.d.Origin {
			continue
		}
		what := fmt.Sprintf("%s %s", x.method(), x.pathQuery())
		if x.to != nil && originOf(x.to) == a.d.Origin && slices.Contains(a.loginPages(), x.to.Path) && x.method() == http.MethodGet {
			if !slices.Contains(lo.RedirectTo, x.to.Path) {
				lo.RedirectTo = append(lo.RedirectTo, x.to.Path)
			}
			redirects = append(redirects, fmt.Sprintf("%s answered %d to %s", what, x.e.Response.Status, x.to.Path))
		}
		if x.e.Response.Status == http.StatusUnauthorized {
			unauthorized = append(unauthorized, what)
		}
		if a.d.SessionCookie != "" && !logoutPath.MatchString(x.u.Path) {
			for _, c := range x.e.Response.setCookies() {
				if c.Name == a.d.SessionCookie && expired(c) {
					cleared = append(cleared, what)
				}
			}
		}
	}
	if len(redirects) > 0 {
		a.note("journey.logged_out.redirect_to", "seen: %s", strings.Join(limit(redirects, 3), "; "))
	} else {
		lo.RedirectTo = []string{or(pathOnly(a.d.Login.FormPath), pathOnly(a.d.Login.Path))}
		a.review("journey.logged_out.redirect_to", "not seen in the recording (no request was sent logged out): the default, a redirect to the login")
	}
	lo.Status = []int{http.StatusUnauthorized}
	if len(unauthorized) > 0 {
		a.note("journey.logged_out.status", "seen: %s answered 401", strings.Join(limit(unauthorized, 3), ", "))
	} else {
		a.note("journey.logged_out.status", "not seen in the recording: the default")
	}
	if len(cleared) > 0 {
		lo.ClearedCookie = a.d.SessionCookie
		a.note("journey.logged_out.cleared_cookie", "seen: %s expired it", strings.Join(limit(cleared, 3), ", "))
	}
}

// logout is the request after the login to a path with "logout" or "sign out" in it.
func (a *analysis) logout(end *entry) {
	for _, x := range a.entries[end.i+1:] {
		if x.u == nil || x.origin != a.d.Origin || x.prev >= 0 || !logoutPath.MatchString(x.u.Path) || a.masked(x.pathQuery()) {
			continue
		}
		r := &Step{Method: x.method(), Path: x.pathQuery()}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			a.review("journey.logout", "the recording logs out with %s %s, which the journey cannot send (GET or POST)", r.Method, r.Path)
			return
		}
		if fields, _ := x.e.Request.PostData.fields(); len(fields) > 0 {
			_, f := a.formFor(x)
			r.Form = a.form("journey.logout.form", fields, f, false, "", "")
		}
		a.note("journey.logout", "seen: %s %s answered %d (sent by the users clients.logout makes log out)", r.Method, r.Path, x.e.Response.Status)
		a.d.Logout = r
		return
	}
}

// users is journey.users: the typed name with its number as {{.ID}}.
func (a *analysis) users() {
	u := a.d.User
	switch m := digits.FindStringSubmatch(u); {
	case u == "":
		a.review("journey.users.name", "no user name typed at the login was found: the default, user{{.ID}}")
		return
	case m != nil:
		a.d.UserName = escape(m[1]) + "{{.ID}}" + escape(m[3])
	default:
		name, domain, _ := strings.Cut(u, "@")
		if domain != "" {
			domain = "@" + domain
		}
		a.d.UserName = escape(name) + "{{.ID}}" + escape(domain)
	}
	have := "the accounts must exist"
	if a.d.Setup != nil {
		have = "the setup signs each one up"
	}
	a.review("journey.users.name", "the recording logged in as %q; each simulated user needs an account of its own ({{.ID}} counts from 1): %s", u, have)
}

func escape(s string) string { return strings.ReplaceAll(s, "{{", `{{"{{"}}`) }

func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func limit(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), fmt.Sprintf("and %d more", len(items)-n))
}
