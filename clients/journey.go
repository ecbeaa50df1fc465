package clients

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Journey is what every user does and how the app's answers are read. The zero value is not usable; start from
// FakeAppJourney.
type Journey struct {
	LoginPath    string // GET serves the form (or sends the browser to an identity provider), POST submits it
	Password     string
	HomePath     string // where a successful login lands
	PagePath     string // protected pages are PagePath + "/<n>"
	Pages        int    // protected pages opened after logging in
	Relogin      int    // extra login attempts after a failed login or a lost session
	MaxRedirects int    // redirects followed in one go (a login, or a silent re-authentication); browsers stop at 20
	WSPath       string // the WebSocket endpoint; the user's name is sent as ?client=
	WebSocket    WebSocket
	LogoutPath   string // POST logs out, for users who do
	Think        Think  // the pause before each protected page
}

// FakeAppJourney is the journey through cmd/fakeapp.
func FakeAppJourney(pages, relogin int) Journey {
	return Journey{LoginPath: "/login", Password: "secret", HomePath: "/", PagePath: "/page", Pages: pages, Relogin: relogin,
		MaxRedirects: 20, WSPath: "/ws", LogoutPath: "/logout"}
}

// run walks one user through the journey: log in (retrying while relogins last), then open the pages, logging in
// again after a lost session while relogins last. A user who cannot log in gives up, as a person would. WebSocket
// connections, when the journey has them, are spread over the pages: the first right after login.
func (j Journey) run(ctx context.Context, b *browser) {
	attempts := 0
	login := func() bool {
		for attempts < 1+j.Relogin && ctx.Err() == nil {
			attempts++
			if j.login(ctx, b, attempts) {
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
		if think != nil && !Sleep(ctx, j.Think.pause(think)) {
			break
		}
		if b.user.RoamAddr.IsValid() && p == b.user.RoamAt {
			b.roam(b.user.RoamAddr)
		}
		openWS(p)
		x := b.do(ctx, StepPage, 0, http.MethodGet, j.PagePath+"/"+strconv.Itoa(p), nil, j.classifyPage)
		if x.Outcome == OutcomeReauth {
			x = j.follow(ctx, b, StepReauth, attempts, x, j.classifyReauth)
		}
		// A re-authentication the app refused (its state was kept elsewhere) leaves the user logged out too.
		lost := x.Outcome == OutcomeLoss || (x.Outcome == OutcomeCSRF && x.Step == StepReauth)
		if lost && attempts < 1+j.Relogin && !login() {
			return
		}
	}
	openWS(pages + 1)
	if b.user.Logout && ctx.Err() == nil {
		b.do(ctx, StepLogout, attempts, http.MethodPost, j.LogoutPath, url.Values{}, func(x *exchange) string {
			if isRedirect(x.Status) || x.Status == http.StatusOK {
				return OutcomeOK
			}
			return OutcomeError
		})
	}
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

// follow follows x's redirects (across hosts) until an answer that is not one, classifying each hop.
func (j Journey) follow(ctx context.Context, b *browser, step string, attempt int, x *exchange, classify func(x *exchange, last bool) string) *exchange {
	for hop := 1; x.Outcome == OutcomeOK || x.Outcome == OutcomeReauth; hop++ {
		if !isRedirect(x.Status) || x.Next == nil || ctx.Err() != nil {
			return x
		}
		last := hop == j.MaxRedirects
		x = b.do(ctx, step, attempt, http.MethodGet, x.Next.String(), nil, func(x *exchange) string { return classify(x, last) })
	}
	return x
}

// login makes one attempt: open the login page (following an SSO app to its identity provider), submit the form
// with its hidden fields, then follow redirects until an authenticated page (success) or a bounce back to log in
// (a loop). An identity provider that still knows the user answers without a form: that is a success too.
func (j Journey) login(ctx context.Context, b *browser, attempt int) bool {
	x := b.do(ctx, StepLogin, attempt, http.MethodGet, j.LoginPath, nil, func(x *exchange) string { return j.classifyToForm(x, false) })
	x = j.follow(ctx, b, StepLogin, attempt, x, j.classifyToForm)
	if x.Outcome != OutcomeOK {
		return false
	}
	form, ok := findLoginForm(x.Body)
	if !ok {
		return true // classifyToForm accepts a page without a form only off the login page: already logged in
	}
	fields := url.Values{"username": {b.user.Name()}, "password": {j.Password}}
	for k, v := range form.hidden {
		fields[k] = v
	}
	action := x.URL
	if form.action != "" {
		if ref, err := url.Parse(form.action); err == nil {
			action = x.URL.ResolveReference(ref)
		}
	}
	x = b.do(ctx, StepLogin, attempt, http.MethodPost, action.String(), fields, j.classifyLoginPost)
	x = j.follow(ctx, b, StepLogin, attempt, x, j.classifyAfterLogin)
	return x.Outcome == OutcomeOK
}

// classifyToForm reads an answer on the way to the login form: redirects (to an identity provider) are fine, and
// the end must be a form, or an authenticated page reached through an identity provider that still knows the user.
func (j Journey) classifyToForm(x *exchange, last bool) string {
	switch {
	case isRedirect(x.Status) && !last:
		return OutcomeOK
	case x.Status == http.StatusForbidden:
		return OutcomeCSRF
	case x.Status == http.StatusOK:
		if _, ok := findLoginForm(x.Body); ok || x.URL.Path != j.LoginPath {
			return OutcomeOK
		}
	}
	return OutcomeError
}

func (j Journey) classifyLoginPost(x *exchange) string {
	switch {
	case isRedirect(x.Status) && x.Location == j.LoginPath, x.Status == http.StatusUnauthorized, x.Status == http.StatusOK:
		return OutcomeRejected // sent back to the form
	case x.Status == http.StatusForbidden:
		return OutcomeCSRF
	case isRedirect(x.Status):
		return OutcomeOK
	default:
		return OutcomeError
	}
}

// classifyAfterLogin reads an answer on the way from an accepted login to the first authenticated page.
func (j Journey) classifyAfterLogin(x *exchange, last bool) string {
	switch {
	case j.isLoginBounce(x):
		return OutcomeLoop
	case x.Status == http.StatusForbidden:
		return OutcomeCSRF // an SSO callback whose state this replica does not know
	case x.Status == http.StatusOK:
		return OutcomeOK
	case isRedirect(x.Status) && !last:
		return OutcomeOK
	default:
		return OutcomeError
	}
}

func (j Journey) classifyPage(x *exchange) string {
	switch {
	case j.isLoginBounce(x):
		return OutcomeLoss
	case x.Status == http.StatusOK:
		return OutcomeOK
	case isRedirect(x.Status) && x.Next != nil && x.Next.Host != x.URL.Host:
		return OutcomeReauth
	default:
		return OutcomeError
	}
}

// classifyReauth reads an answer on the way back from the identity provider to the page: the provider prompting
// for a password again, or the app sending the user to its login, is a lost session.
func (j Journey) classifyReauth(x *exchange, last bool) string {
	switch {
	case j.isLoginBounce(x):
		return OutcomeLoss
	case x.Status == http.StatusForbidden:
		return OutcomeCSRF
	case x.Status == http.StatusOK:
		if _, ok := findLoginForm(x.Body); ok {
			return OutcomeLoss
		}
		return OutcomeOK
	case isRedirect(x.Status) && !last:
		return OutcomeOK
	default:
		return OutcomeError
	}
}

// isLoginBounce reports an answer that sends the user back to log in.
func (j Journey) isLoginBounce(x *exchange) bool {
	return x.Status == http.StatusUnauthorized || (isRedirect(x.Status) && x.Location == j.LoginPath)
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}
