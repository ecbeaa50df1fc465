// Package fakeapp is a small stateful web app that keeps its logins the way real apps do, so that several replicas
// of it behind a balancer fail the way real deployments fail. It owns the HTTP handlers, the session stores and
// keepers (memory, Redis, sealed cookies), the login flows (form, form with CSRF token, SSO through its fake
// identity provider), the in-memory WebSocket counter and the /metrics the harness reads; cmd/fakeapp wraps it in
// a process.
package fakeapp

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/fakeapp/internal/seal"

	"github.com/sessionlab/sessionlab/internal/contract"
)

// Login flows.
const (
	LoginForm     = "form"      // a form posting username and password
	LoginFormCSRF = "form-csrf" // the same, with a CSRF token kept in a pre-login session
	LoginSSO      = "sso"       // the identity provider logs the user in; the app keeps its state until the callback
)

// Paths of the login flows.
const (
	loginPath    = "/login"
	callbackPath = "/oauth2/callback"
	csrfField    = "csrf_token" // the login form's hidden field of form-csrf
)

// Config describes one replica. Its zero value works: an unnamed replica with sessions in its own memory, a form
// login accepting user1..user100000 with the password "secret", a cookie named "sid" and a random secret of its own.
type Config struct {
	// Name is sent in the X-Replica header of every response, unless NoReplicaHeader. Default: "replica".
	Name            string
	NoReplicaHeader bool
	// Users is how many accounts exist: user1..userN. Default: 100000.
	Users int
	// Password is the one password every account has. Default: "secret".
	Password string
	// CookieName names the session cookie. Default: "sid".
	CookieName string
	// SessionTTL is how long a session lives at most. Default: 24h.
	SessionTTL time.Duration
	// IdleTimeout ends a session that has not been used for this long; 0: never.
	IdleTimeout time.Duration
	// Secret seals every cookie, ticket and SSO state. Default: random, this replica's own.
	Secret []byte
	// Stateless keeps the whole session sealed in the cookie instead of in Store.
	Stateless bool
	// Store keeps server-side sessions. Default: a new memoryStore, private to this replica.
	Store Store
	// StateStore keeps SSO states until their callback. Default: a new memoryStore. Stateless apps seal the state
	// into the redirect instead.
	StateStore Store
	// ClearBadCookie answers a session cookie this replica cannot open by clearing it, as Wakapi does.
	ClearBadCookie bool
	// Login is the login flow: LoginForm (default), LoginFormCSRF or LoginSSO.
	Login string
	// IdPURL is the identity provider's base URL as browsers reach it; IdPKey the key it seals its codes with.
	IdPURL string
	IdPKey []byte
	// LoginRate limits login submissions per client address (Wakapi's); zero Count: no limit.
	LoginRate RateLimit
	// Log receives the replica's errors. Default: discarded.
	Log *slog.Logger
}

func (c *Config) init() {
	if c.Name == "" {
		c.Name = "replica"
	}
	if c.Users <= 0 {
		c.Users = 100000
	}
	if c.Password == "" {
		c.Password = "secret"
	}
	if c.CookieName == "" {
		c.CookieName = "sid"
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 24 * time.Hour
	}
	if len(c.Secret) == 0 {
		c.Secret = seal.RandomSecret()
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.StateStore == nil {
		c.StateStore = NewMemoryStore()
	}
	if c.Login == "" {
		c.Login = LoginForm
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// App serves the login flow, the protected pages, the WebSocket and the metrics of one replica.
type App struct {
	cfg     Config
	mux     *http.ServeMux
	seal    *seal.Sealer
	idpSeal *seal.Sealer // nil without an identity provider key
	keep    keeper
	m       *metrics
	ws      wsCounters
	limit   *limiter // nil: no login limit
}

// New returns the app for one replica; cfg's zero fields take their defaults.
func New(cfg Config) *App {
	cfg.init()
	a := &App{cfg: cfg, mux: http.NewServeMux(), limit: newLimiter(cfg.LoginRate)}
	a.seal, _ = seal.New(cfg.Secret) // init made the secret non-empty
	if len(cfg.IdPKey) > 0 {
		a.idpSeal, _ = seal.New(cfg.IdPKey)
	}
	if cfg.Stateless {
		a.keep = &cookieKeeper{seal: a.seal, cookie: cfg.CookieName, idle: cfg.IdleTimeout}
		a.m = newMetrics(nil)
	} else {
		a.keep = &serverKeeper{store: cfg.Store, seal: a.seal, cookie: cfg.CookieName, idle: cfg.IdleTimeout}
		a.m = newMetrics(cfg.Store)
	}
	a.ws.counts = make(map[string]int)

	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.Handle("GET /metrics", a.m.handler())
	a.mux.HandleFunc("GET /ws", a.websocket)
	switch cfg.Login {
	case LoginSSO:
		a.mux.HandleFunc("GET "+loginPath, func(w http.ResponseWriter, r *http.Request) { a.startSSO(w, r, "/") })
		a.mux.HandleFunc("GET "+callbackPath, a.callback)
	default:
		a.mux.HandleFunc("GET "+loginPath, a.loginForm)
		a.mux.HandleFunc("POST "+loginPath, a.login)
	}
	a.mux.HandleFunc("POST /logout", a.logout)
	a.mux.HandleFunc("GET /{$}", a.protected(a.home))
	a.mux.HandleFunc("GET /page/{n}", a.protected(a.page))
	return a
}

// ServeHTTP names the replica on every response, including errors and 404s, so that clients can attribute each
// exchange to the replica that served it.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.cfg.NoReplicaHeader {
		w.Header().Set(contract.ReplicaHeader, a.cfg.Name)
	}
	a.mux.ServeHTTP(w, r)
}

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "ok")
}

// serverError answers 500 and logs why: the user sees a failure, the replica's log says what broke.
func (a *App) serverError(w http.ResponseWriter, what string, err error) {
	a.cfg.Log.Error(what, "err", err)
	http.Error(w, what+": "+err.Error(), http.StatusInternalServerError)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<title>Log in</title>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input name="username" autocomplete="username">
<input name="password" type="password" autocomplete="current-password">
<button>Log in</button>
</form>
`))

type loginView struct {
	Action string
	Error  string
	Hidden map[string]string
}

func renderLogin(w http.ResponseWriter, status int, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, v)
}

// preLoginTTL bounds how long a login form (its CSRF token) or an SSO state stays valid.
const preLoginTTL = 10 * time.Minute

func (a *App) loginForm(w http.ResponseWriter, r *http.Request) {
	v := loginView{Action: loginPath}
	if a.cfg.Login == LoginFormCSRF {
		cur, err := a.keep.read(r.Context(), r)
		if err != nil {
			a.serverError(w, "read session", err)
			return
		}
		token := newID()
		if err := a.keep.write(r.Context(), w, cur, session{CSRF: token, Expires: time.Now().Add(preLoginTTL)}); err != nil {
			a.serverError(w, "keep pre-login session", err)
			return
		}
		v.Hidden = map[string]string{csrfField: token}
	}
	renderLogin(w, http.StatusOK, v)
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if ok, wait := a.limit.allow(r, time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		http.Error(w, "too many login attempts from this address", http.StatusTooManyRequests)
		return
	}
	cur, err := a.keep.read(r.Context(), r)
	if err != nil {
		a.serverError(w, "read session", err)
		return
	}
	if a.cfg.Login == LoginFormCSRF {
		token := r.PostFormValue(csrfField)
		if cur.state != cookieOK || cur.session.CSRF == "" || token != cur.session.CSRF {
			// The classic multi-replica failure: the form came from a replica whose pre-login session this one
			// does not have.
			a.m.csrfRefusals.Inc()
			renderLogin(w, http.StatusForbidden, loginView{Action: loginPath, Error: "the form has expired; please log in again"})
			return
		}
	}
	user := r.PostFormValue("username")
	if !a.validUser(user) || r.PostFormValue("password") != a.cfg.Password {
		v := loginView{Action: loginPath, Error: "wrong username or password"}
		if a.cfg.Login == LoginFormCSRF {
			v.Hidden = map[string]string{csrfField: cur.session.CSRF} // the form stays valid for another try
		}
		renderLogin(w, http.StatusUnauthorized, v)
		return
	}
	if err := a.issue(r.Context(), w, cur, user); err != nil {
		a.serverError(w, "create session", err)
		return
	}
	a.m.logins.Inc()
	http.Redirect(w, r, "/", http.StatusFound)
}

// issue keeps a logged-in session for user and sets its cookie.
func (a *App) issue(ctx context.Context, w http.ResponseWriter, cur current, user string) error {
	if err := a.keep.write(ctx, w, cur, session{User: user, Expires: time.Now().Add(a.cfg.SessionTTL)}); err != nil {
		return err
	}
	a.m.sessionsCreated.Inc()
	return nil
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	cur, err := a.keep.read(r.Context(), r)
	if err == nil {
		err = a.keep.drop(r.Context(), w, cur)
	}
	if err != nil {
		a.serverError(w, "delete session", err)
		return
	}
	http.Redirect(w, r, loginPath, http.StatusFound)
}

func (a *App) validUser(name string) bool { return validUser(name, a.cfg.Users) }

// validUser reports whether name is one of the accounts user1..userN.
func validUser(name string, users int) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "user"))
	return strings.HasPrefix(name, "user") && err == nil && n >= 1 && n <= users && "user"+strconv.Itoa(n) == name
}

// protected lets a request with a logged-in session this replica can find through, and sends any other to log in,
// the way session-based apps do.
func (a *App) protected(next func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cur, err := a.keep.read(r.Context(), r)
		if err != nil {
			a.serverError(w, "look up session", err)
			return
		}
		if cur.state == cookieBad {
			a.m.badCookies.Inc()
			if a.cfg.ClearBadCookie {
				clearCookie(w, a.cfg.CookieName)
			}
		}
		if cur.state != cookieOK || !cur.session.loggedIn() {
			a.unauthenticated(w, r)
			return
		}
		if a.cfg.IdleTimeout > 0 {
			// Sliding expiry: every use pushes the idle deadline out again.
			if err := a.keep.write(r.Context(), w, cur, cur.session); err != nil {
				a.serverError(w, "refresh session", err)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r, cur.session)
	}
}

func (a *App) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Login == LoginSSO {
		a.startSSO(w, r, r.URL.Path)
		return
	}
	http.Redirect(w, r, loginPath, http.StatusFound)
}

func (a *App) home(w http.ResponseWriter, _ *http.Request, s session) {
	fmt.Fprintf(w, "Hello %s, served by %s\n", s.User, a.cfg.Name)
}

func (a *App) page(w http.ResponseWriter, r *http.Request, s session) {
	fmt.Fprintf(w, "Page %s for %s, served by %s\n", r.PathValue("n"), s.User, a.cfg.Name)
}

// ssoState is what the app must find again at its callback: where the user was going.
type ssoState struct {
	Return  string    `json:"r"`
	Expires time.Time `json:"e"`
}

const purposeState = "sso-state"

// startSSO sends the browser to the identity provider with a state the callback must recognise. The state lives
// where sessions live: in the replica's memory, in the shared store, or (stateless apps) sealed with the secret.
func (a *App) startSSO(w http.ResponseWriter, r *http.Request, returnTo string) {
	if a.cfg.IdPURL == "" || a.idpSeal == nil {
		http.Error(w, "no identity provider configured", http.StatusInternalServerError)
		return
	}
	st := ssoState{Return: returnTo, Expires: time.Now().Add(preLoginTTL)}
	raw, _ := json.Marshal(st) // a string and a time always marshal
	var state string
	if a.cfg.Stateless {
		state = a.seal.Seal(purposeState, raw)
	} else {
		state = newID()
		if err := a.cfg.StateStore.Save(r.Context(), state, raw, preLoginTTL); err != nil {
			a.serverError(w, "keep SSO state", err)
			return
		}
	}
	q := url.Values{
		"client_id":    {"sessionlab"},
		"redirect_uri": {"http://" + r.Host + callbackPath},
		"state":        {state},
	}
	http.Redirect(w, r, trimSlash(a.cfg.IdPURL)+authorizePath+"?"+q.Encode(), http.StatusFound)
}

// findState returns the state the callback carries, if this replica issued it (or shares where it was kept).
func (a *App) findState(ctx context.Context, state string) (ssoState, bool, error) {
	var raw []byte
	if a.cfg.Stateless {
		var err error
		if raw, err = a.seal.Open(purposeState, state); err != nil {
			return ssoState{}, false, nil
		}
	} else {
		var ok bool
		var err error
		if raw, ok, err = a.cfg.StateStore.Load(ctx, state); err != nil || !ok {
			return ssoState{}, false, err
		}
		if err := a.cfg.StateStore.Delete(ctx, state); err != nil {
			return ssoState{}, false, err
		}
	}
	var st ssoState
	if err := json.Unmarshal(raw, &st); err != nil || !time.Now().Before(st.Expires) {
		return ssoState{}, false, nil
	}
	return st, true, nil
}

// callback is where the identity provider sends the browser back with a code vouching for the user.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st, ok, err := a.findState(r.Context(), q.Get("state"))
	if err != nil {
		a.serverError(w, "look up SSO state", err)
		return
	}
	if !ok {
		a.m.csrfRefusals.Inc()
		http.Error(w, "unknown or expired state: this login was started elsewhere", http.StatusForbidden)
		return
	}
	code, err := openCode(a.idpSeal, q.Get("code"))
	if err != nil || code.State != q.Get("state") || !a.validUser(code.User) {
		http.Error(w, "the identity provider's code does not hold", http.StatusUnauthorized)
		return
	}
	cur, err := a.keep.read(r.Context(), r)
	if err != nil {
		a.serverError(w, "read session", err)
		return
	}
	if err := a.issue(r.Context(), w, cur, code.User); err != nil {
		a.serverError(w, "create session", err)
		return
	}
	if code.Prompted {
		a.m.logins.Inc()
	} else {
		a.m.silentReauths.Inc()
	}
	http.Redirect(w, r, st.Return, http.StatusFound)
}

// wsCounters is the WebSocket state: one counter per client, in this replica's memory only.
type wsCounters struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *wsCounters) get(client string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[client]
}

func (c *wsCounters) inc(client string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[client]++
	return c.counts[client]
}
