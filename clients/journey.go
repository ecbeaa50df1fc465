package clients

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/internal/pause"
)

// Journey is what every user does and how the app's answers are read: the run's counts and pacing, and the app's
// side — how to log in, which pages to open and what a logged-out answer looks like — in the clients' own terms: a
// scenario's journey section, its defaults filled in, gives every field. Compile checks the templates, and Run
// compiles a journey not compiled yet.
//
// Templates (text/template) see {{.User}} (the user's name), {{.Password}} and {{.ID}} (the user's number, from 1);
// pages see {{.Page}} too (the page number, from 1). A field a template does not have is an error.
type Journey struct {
	Pages   int // protected pages opened after logging in, unless the user drew its own count (User.Pages)
	Relogin int // extra login attempts after a failed login or a lost session
	// MaxRedirects bounds the redirects followed in one go (a login, or a silent re-authentication); 0: 20, where
	// browsers stop.
	MaxRedirects  int
	WSPath        string // the WebSocket endpoint; the user's name is sent as ?client=
	WSConnections int    // WebSocket connections per user, spread over the pages; 0: none
	WSMessages    int    // increments sent on each connection
	// Think, when set, draws the pause before each protected page from the user's own random source.
	Think func(*rand.Rand) time.Duration
	// KeepAlive is how long the browser keeps an idle connection (0: 30s): a longer pause starts with the
	// connections let go.
	KeepAlive time.Duration

	UserName string // the account's name, templated with {{.ID}}
	Password string // its password, templated with {{.ID}} and {{.User}}
	// Setup, when set, is sent once per user before the first login attempt (e.g. a sign-up).
	Setup *Request
	// LoginFormPath is opened first (following redirects, to an identity provider too) to read the login form: its
	// hidden fields and its action; "" submits directly. The form is submitted with LoginMethod ("": POST) to
	// LoginPath, else to the form's action, else to the page it was found on; when LoginPath is set, the page at
	// LoginFormPath need not hold a form (a page that only sets a CSRF cookie). LoginForm is the submitted fields,
	// templated; the form's hidden fields are added unless LoginForm sets the same field.
	LoginFormPath, LoginMethod, LoginPath string
	LoginForm                             map[string]string
	// A login succeeded when, its redirects followed, the answer has SuccessStatus (0: 200) on SuccessPath ("": any
	// path but the login form's, on the app), with SuccessText in its body when that is set (text/* or JSON, its
	// first 64 KiB).
	SuccessPath   string
	SuccessStatus int
	SuccessText   string
	// PagePaths are the protected pages, templated with {{.Page}} too and cycled: page p opens
	// PagePaths[(p-1) % len(PagePaths)]. With none, users open no page.
	PagePaths []string
	// An answer says "you are not logged in" (on a protected page a loss, on the way from an accepted login to the
	// first page a loop, in answer to the submission itself a rejection) when it redirects to one of LoggedOutPaths
	// (on the app; the query is ignored), has one of LoggedOutStatus, or expires the cookie LoggedOutCookie.
	LoggedOutPaths  []string
	LoggedOutStatus []int
	LoggedOutCookie string
	// Logout is what users who log out (User.Logout) send at the end of their journey.
	Logout Request

	flow *flow // the compiled templates; nil until Compile
}

// Request is one request the journey sends besides the login and the pages: the setup, or the logout.
type Request struct {
	Method string            // GET or POST; "": POST when Form is set, else GET
	Path   string            // a path on the app
	Form   map[string]string // templated values, sent as the query of a GET, the body of a POST; nil: none
	// OKStatus lists the answers that count as done (outcome ok; any other is error); nil: for the setup any 2xx or
	// 3xx, for the logout 200 or a redirect. The setup's redirects are followed while their status is in it.
	OKStatus []int
}

// defaultKeepAlive is how long a browser keeps an idle connection when the journey does not say.
const defaultKeepAlive = 30 * time.Second

// run walks one user through the journey: the setup, when there is one, then log in (retrying while relogins
// last), then open the pages, logging in again after a lost session while relogins last. A user who cannot log in
// gives up, as a person would. WebSocket connections, when the journey has them, are spread over the pages: the
// first right after login.
func (j *Journey) run(ctx context.Context, b *browser) {
	f := j.flow
	b.keepText = f.success.body != ""
	u, userErr := f.user(b.user)
	if f.setup != nil && ctx.Err() == nil {
		j.setup(ctx, b, u, userErr)
	}
	attempts := 0
	login := func() bool {
		for attempts < 1+j.Relogin && ctx.Err() == nil {
			attempts++
			if userErr != nil {
				b.fail(events.StepLogin, attempts, f.login.method, f.login.page, userErr)
				continue
			}
			if j.login(ctx, b, u, attempts) {
				return true
			}
		}
		return false
	}
	if !login() {
		return
	}
	pages := b.user.pages(j)
	if len(f.pages) == 0 {
		pages = 0
	}
	var think *rand.Rand
	if j.Think != nil {
		think = rand.New(rand.NewPCG(b.user.Seed, uint64(b.user.ID)))
	}
	// WebSocket connection k (from 0) opens before page 1+k*pages/Connections: the first right after login.
	ws := 0
	openWS := func(beforePage int) {
		for ws < j.WSConnections && 1+ws*pages/j.WSConnections <= beforePage && ctx.Err() == nil {
			ws++
			j.websocket(ctx, b, ws)
		}
	}
	for p := 1; p <= pages && ctx.Err() == nil; p++ {
		if think != nil {
			d := j.Think(think)
			if keep := j.KeepAlive; d > keep && (keep > 0 || d > defaultKeepAlive) {
				b.letGo()
			}
			if !pause.Sleep(ctx, d) {
				break
			}
		}
		if b.user.RoamAddr.IsValid() && p == b.user.RoamAt {
			b.roam(b.user.RoamAddr)
		}
		openWS(p)
		var x *exchange
		if path, err := f.page(u, p); err != nil {
			x = b.fail(events.StepPage, 0, http.MethodGet, path, err)
		} else {
			x = b.do(ctx, events.StepPage, 0, http.MethodGet, path, nil, j.classifyPage)
		}
		if x.Outcome == events.OutcomeReauth {
			x = j.follow(ctx, b, events.StepReauth, attempts, x, j.classifyReauth)
		}
		// A re-authentication the app refused (its state was kept elsewhere) leaves the user logged out too.
		lost := x.Outcome == events.OutcomeLoss || (x.Outcome == events.OutcomeCSRF && x.Step == events.StepReauth)
		if lost && attempts < 1+j.Relogin && !login() {
			return
		}
	}
	openWS(pages + 1)
	if b.user.Logout && ctx.Err() == nil {
		r := f.logout
		form, err := r.values(u)
		if err == nil {
			err = userErr
		}
		if err != nil {
			b.fail(events.StepLogout, attempts, r.method, r.path, fmt.Errorf("logout: %w", err))
			return
		}
		b.do(ctx, events.StepLogout, attempts, r.method, r.path, form, func(x *exchange) string {
			if r.ok(x.Status) {
				return events.OutcomeOK
			}
			return events.OutcomeError
		})
	}
}

// setup sends the journey's setup request and follows its redirects, each exchange ok when its status is one the
// setup accepts. Whatever it gives, the user goes on to log in.
func (j *Journey) setup(ctx context.Context, b *browser, u userData, userErr error) {
	r := j.flow.setup
	form, err := r.values(u)
	if err == nil {
		err = userErr
	}
	if err != nil {
		b.fail(events.StepSetup, 0, r.method, r.path, fmt.Errorf("setup: %w", err))
		return
	}
	classify := func(x *exchange, last bool) string {
		if r.ok(x.Status) && !(last && isRedirect(x.Status)) {
			return events.OutcomeOK
		}
		return events.OutcomeError
	}
	x := b.do(ctx, events.StepSetup, 0, r.method, r.path, form, func(x *exchange) string { return classify(x, false) })
	j.follow(ctx, b, events.StepSetup, 0, x, classify)
}

// follow follows x's redirects (across hosts) until an answer that is not one, classifying each hop; the
// MaxRedirects-th hop is the last (20 when MaxRedirects is not set).
func (j *Journey) follow(ctx context.Context, b *browser, step string, attempt int, x *exchange, classify func(x *exchange, last bool) string) *exchange {
	maxHops := j.MaxRedirects
	if maxHops <= 0 {
		maxHops = 20
	}
	for hop := 1; x.Outcome == events.OutcomeOK || x.Outcome == events.OutcomeReauth; hop++ {
		if !isRedirect(x.Status) || x.Next == nil || ctx.Err() != nil {
			return x
		}
		last := hop == maxHops
		x = b.do(ctx, step, attempt, http.MethodGet, x.Next.String(), nil, func(x *exchange) string { return classify(x, last) })
	}
	return x
}

// login makes one attempt: open the login page (following an SSO app to its identity provider), submit the form
// with its hidden fields, then follow redirects until the page a successful login ends on (success) or a
// logged-out answer (a loop). An identity provider that still knows the user answers without a form: that is a
// success too. Without a form path, the form is submitted directly.
func (j *Journey) login(ctx context.Context, b *browser, u userData, attempt int) bool {
	f := j.flow
	fields := url.Values{}
	target := f.login.path
	if f.login.formPath != "" {
		x := b.do(ctx, events.StepLogin, attempt, http.MethodGet, f.login.formPath, nil, func(x *exchange) string { return j.classifyToForm(x, false) })
		x = j.follow(ctx, b, events.StepLogin, attempt, x, j.classifyToForm)
		if x.Outcome != events.OutcomeOK {
			return false
		}
		lf, found := x.loginForm()
		if !found && f.successful(x) {
			return true // classifyToForm accepts a page without a form as the end of a login: already logged in
		}
		// Otherwise login.path is set: the form page needed no form.
		for k, v := range lf.Hidden {
			fields[k] = v
		}
		if target == "" {
			action := x.URL
			if lf.Action != "" {
				if ref, err := url.Parse(lf.Action); err == nil {
					action = x.URL.ResolveReference(ref)
				}
			}
			target = action.String()
		}
	}
	if _, err := renderFields(f.login.form, u, fields); err != nil {
		b.fail(events.StepLogin, attempt, f.login.method, target, fmt.Errorf("login: %w", err))
		return false
	}
	x := b.do(ctx, events.StepLogin, attempt, f.login.method, target, fields, j.classifyLoginPost)
	x = j.follow(ctx, b, events.StepLogin, attempt, x, j.classifyAfterLogin)
	return x.Outcome == events.OutcomeOK
}

// classifyToForm reads an answer on the way to the login form: redirects (to an identity provider) are fine, and
// the end must be a form, or a successful login's end reached through an identity provider that still knows the
// user, or (when the journey says where to submit) any page.
func (j *Journey) classifyToForm(x *exchange, last bool) string {
	f := j.flow
	switch {
	case isRedirect(x.Status) && !last:
		return events.OutcomeOK
	case x.Status == http.StatusForbidden:
		return events.OutcomeCSRF
	case x.Status == http.StatusOK && hasLoginForm(x):
		return events.OutcomeOK
	case f.successful(x):
		return events.OutcomeOK
	case x.Status == http.StatusOK && f.login.path != "":
		return events.OutcomeOK
	}
	return events.OutcomeError
}

// classifyLoginPost reads the answer to the submission: sent back to the form (or logged out) is a rejection; a
// redirect onward is followed; an answer from the app that is already the success page (an API login) is a
// success.
func (j *Journey) classifyLoginPost(x *exchange) string {
	f := j.flow
	switch {
	case f.isLoggedOut(x), isRedirect(x.Status) && x.Location == f.login.page:
		return events.OutcomeRejected // sent back to the form
	case x.Status == http.StatusForbidden:
		return events.OutcomeCSRF
	case isRedirect(x.Status):
		return events.OutcomeOK
	case !x.External && !hasLoginForm(x) && f.successful(x):
		return events.OutcomeOK
	case x.Status == http.StatusOK:
		return events.OutcomeRejected // the form again
	default:
		return events.OutcomeError
	}
}

// classifyAfterLogin reads an answer on the way from an accepted login to the first authenticated page. An end
// with the success status that is not the success page (another path, or without the success text) is a loop
// when it shows a login form (the app answered the login page in place), else an error.
func (j *Journey) classifyAfterLogin(x *exchange, last bool) string {
	f := j.flow
	switch {
	case f.isLoggedOut(x):
		return events.OutcomeLoop
	case x.Status == http.StatusForbidden:
		return events.OutcomeCSRF // an SSO callback whose state this replica does not know
	case isRedirect(x.Status) && !last:
		return events.OutcomeOK
	case f.successful(x):
		return events.OutcomeOK
	case x.Status == f.success.status && hasLoginForm(x):
		return events.OutcomeLoop
	default:
		return events.OutcomeError
	}
}

// classifyPage reads the answer to a protected page.
func (j *Journey) classifyPage(x *exchange) string {
	switch {
	case j.flow.isLoggedOut(x):
		return events.OutcomeLoss
	case x.Status >= 200 && x.Status < 300:
		return events.OutcomeOK
	case isRedirect(x.Status) && x.Next != nil && x.Next.Host != x.URL.Host:
		return events.OutcomeReauth
	default:
		return events.OutcomeError
	}
}

// classifyReauth reads an answer on the way back from the identity provider to the page: the provider prompting
// for a password again, or the app sending the user to its login, is a lost session.
func (j *Journey) classifyReauth(x *exchange, last bool) string {
	switch {
	case j.flow.isLoggedOut(x):
		return events.OutcomeLoss
	case x.Status == http.StatusForbidden:
		return events.OutcomeCSRF
	case x.Status == http.StatusOK:
		if hasLoginForm(x) {
			return events.OutcomeLoss
		}
		return events.OutcomeOK
	case isRedirect(x.Status) && !last:
		return events.OutcomeOK
	default:
		return events.OutcomeError
	}
}

// isLoggedOut reports an answer that says the user is not logged in: a redirect to one of the login's paths on the
// app, a logged-out status, or the session cookie expired.
func (f *flow) isLoggedOut(x *exchange) bool {
	return (isRedirect(x.Status) && slices.Contains(f.loggedOut.redirectTo, x.Location)) ||
		slices.Contains(f.loggedOut.status, x.Status) ||
		(f.loggedOut.cookie != "" && slices.Contains(x.Cleared, f.loggedOut.cookie))
}

// successful reports an answer that looks like the end of a successful login: the success status, on the success
// path (or, without one, anywhere but the app's login form), with the success text when there is one.
func (f *flow) successful(x *exchange) bool {
	if x.Status != f.success.status {
		return false
	}
	if f.success.path != "" {
		if x.External || x.URL.Path != f.success.path {
			return false
		}
	} else if !x.External && x.URL.Path == f.login.page {
		return false
	}
	return f.success.body == "" || bytes.Contains(x.Body, []byte(f.success.body))
}

func hasLoginForm(x *exchange) bool {
	_, ok := x.loginForm()
	return ok
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}
