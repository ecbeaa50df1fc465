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
)

// Journey is what every user does and how the app's answers are read. Build it with JourneySpec.Journey, or
// FakeAppJourney for the fake app; a Journey built otherwise follows the fake app's login, pages and logout.
type Journey struct {
	Pages        int    // protected pages opened after logging in
	Relogin      int    // extra login attempts after a failed login or a lost session
	MaxRedirects int    // redirects followed in one go (a login, or a silent re-authentication); browsers stop at 20
	WSPath       string // the WebSocket endpoint; the user's name is sent as ?client=
	WebSocket    WebSocket
	Think        Think // the pause before each protected page
	// KeepAlive is how long the browser keeps an idle connection (zero: DefaultKeepAlive): a longer pause starts
	// with the connections let go.
	KeepAlive time.Duration
	flow      *flow // the login, the pages and what a logged-out answer looks like, from a JourneySpec
}

// FakeAppJourney is the journey through cmd/fakeapp: the zero JourneySpec's.
func FakeAppJourney(pages, relogin int) Journey {
	j, err := JourneySpec{}.Journey(pages, relogin)
	if err != nil {
		panic(err) // the zero spec always compiles (defaultFlow would have panicked first)
	}
	return j
}

func (j Journey) compiled() *flow {
	if j.flow == nil {
		return defaultFlow
	}
	return j.flow
}

// run walks one user through the journey: the setup, when there is one, then log in (retrying while relogins
// last), then open the pages, logging in again after a lost session while relogins last. A user who cannot log in
// gives up, as a person would. WebSocket connections, when the journey has them, are spread over the pages: the
// first right after login.
func (j Journey) run(ctx context.Context, b *browser) {
	f := j.compiled()
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
	var think *rand.Rand
	if j.Think.Kind != "" && j.Think.Kind != ThinkNone {
		think = rand.New(rand.NewPCG(b.user.Seed, uint64(b.user.ID)))
	}
	// WebSocket connection k (from 0) opens before page 1+k*pages/Connections: the first right after login.
	ws := 0
	openWS := func(beforePage int) {
		for ws < j.WebSocket.Connections && 1+ws*pages/j.WebSocket.Connections <= beforePage && ctx.Err() == nil {
			ws++
			j.websocket(ctx, b, ws)
		}
	}
	for p := 1; p <= pages && ctx.Err() == nil; p++ {
		if think != nil {
			d := j.Think.pause(think)
			if keep := j.KeepAlive; d > keep && (keep > 0 || d > DefaultKeepAlive) {
				b.letGo()
			}
			if !Sleep(ctx, d) {
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
func (j Journey) setup(ctx context.Context, b *browser, u userData, userErr error) {
	r := j.compiled().setup
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

// Sleep waits d, or less when ctx ends first; it reports whether the whole pause passed with ctx still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// follow follows x's redirects (across hosts) until an answer that is not one, classifying each hop; the
// MaxRedirects-th hop is the last (20 when MaxRedirects is not set).
func (j Journey) follow(ctx context.Context, b *browser, step string, attempt int, x *exchange, classify func(x *exchange, last bool) string) *exchange {
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
func (j Journey) login(ctx context.Context, b *browser, u userData, attempt int) bool {
	f := j.compiled()
	fields := url.Values{}
	target := f.login.path
	if f.login.formPath != "" {
		x := b.do(ctx, events.StepLogin, attempt, http.MethodGet, f.login.formPath, nil, func(x *exchange) string { return j.classifyToForm(x, false) })
		x = j.follow(ctx, b, events.StepLogin, attempt, x, j.classifyToForm)
		if x.Outcome != events.OutcomeOK {
			return false
		}
		form, found := x.loginForm()
		if !found && f.successful(x) {
			return true // classifyToForm accepts a page without a form as the end of a login: already logged in
		}
		// Otherwise login.path is set: the form page needed no form.
		for k, v := range form.hidden {
			fields[k] = v
		}
		if target == "" {
			action := x.URL
			if form.action != "" {
				if ref, err := url.Parse(form.action); err == nil {
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
func (j Journey) classifyToForm(x *exchange, last bool) string {
	f := j.compiled()
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
func (j Journey) classifyLoginPost(x *exchange) string {
	f := j.compiled()
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
func (j Journey) classifyAfterLogin(x *exchange, last bool) string {
	f := j.compiled()
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
func (j Journey) classifyPage(x *exchange) string {
	switch {
	case j.compiled().isLoggedOut(x):
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
func (j Journey) classifyReauth(x *exchange, last bool) string {
	switch {
	case j.compiled().isLoggedOut(x):
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
