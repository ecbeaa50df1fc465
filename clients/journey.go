package clients

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Journey is what every user does and how the app's answers are read. The zero value is not usable; start from
// FakeAppJourney.
type Journey struct {
	LoginPath    string // GET serves the form, POST submits it
	Password     string
	HomePath     string // where a successful login lands
	PagePath     string // protected pages are PagePath + "/<n>"
	Pages        int    // protected pages opened after logging in
	Relogin      int    // extra login attempts after a failed login or a lost session
	MaxRedirects int    // redirects followed after the login POST
}

// FakeAppJourney is the journey through cmd/fakeapp.
func FakeAppJourney(pages, relogin int) Journey {
	return Journey{LoginPath: "/login", Password: "secret", HomePath: "/", PagePath: "/page", Pages: pages, Relogin: relogin, MaxRedirects: 5}
}

// run walks one user through the journey: log in (retrying while relogins last), then open the pages, logging in
// again after a lost session while relogins last. A user who cannot log in gives up, as a person would.
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
	for p := 1; p <= j.Pages && ctx.Err() == nil; p++ {
		x := b.do(ctx, StepPage, 0, http.MethodGet, j.PagePath+"/"+strconv.Itoa(p), nil, j.classifyPage)
		if x.Outcome == OutcomeLoss && attempts < 1+j.Relogin && !login() {
			return
		}
	}
}

// login makes one attempt: open the form, submit it, follow redirects until an authenticated page (success) or the
// login page (a loop) answers.
func (j Journey) login(ctx context.Context, b *browser, attempt int) bool {
	x := b.do(ctx, StepLogin, attempt, http.MethodGet, j.LoginPath, nil, expectOK)
	if x.Outcome != OutcomeOK {
		return false
	}
	form := url.Values{"username": {b.user.Name()}, "password": {j.Password}}
	x = b.do(ctx, StepLogin, attempt, http.MethodPost, j.LoginPath, form, j.classifyLoginPost)
	for hop := 1; x.Outcome == OutcomeOK && isRedirect(x.Status); hop++ {
		last := hop == j.MaxRedirects
		x = b.do(ctx, StepLogin, attempt, http.MethodGet, x.Location, nil, func(x *exchange) string {
			return j.classifyAfterLogin(x, last)
		})
	}
	return x.Outcome == OutcomeOK
}

func expectOK(x *exchange) string {
	if x.Status == http.StatusOK {
		return OutcomeOK
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
