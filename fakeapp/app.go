// Package fakeapp is a small stateful web app that keeps its logins the way real apps do, so that several replicas
// of it behind a balancer fail the way real deployments fail. It owns the HTTP handlers, the session stores and the
// login flows; cmd/fakeapp wraps it in a process.
package fakeapp

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config describes one replica. Its zero value works: an unnamed replica accepting user1..user100000 with the
// password "secret" and a cookie named "sid".
type Config struct {
	// Name is sent in the X-Replica header of every response. Default: "replica".
	Name string
	// Users is how many accounts exist: user1..userN. Default: 100000.
	Users int
	// Password is the one password every account has. Default: "secret".
	Password string
	// CookieName names the session cookie. Default: "sid".
	CookieName string
	// SessionTTL is how long a session lives. Default: 24h.
	SessionTTL time.Duration
	// Store keeps the sessions. Default: a new MemoryStore, private to this replica.
	Store Store
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
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
}

// App serves the login form, the protected pages and the session endpoints of one replica.
type App struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the app for one replica; cfg's zero fields take their defaults.
func New(cfg Config) *App {
	cfg.init()
	a := &App{cfg: cfg, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /login", a.loginForm)
	a.mux.HandleFunc("POST /login", a.login)
	a.mux.HandleFunc("POST /logout", a.logout)
	a.mux.HandleFunc("GET /{$}", a.protected(a.home))
	a.mux.HandleFunc("GET /page/{n}", a.protected(a.page))
	return a
}

// ServeHTTP names the replica on every response, including errors and 404s, so that clients can attribute each
// exchange to the replica that served it.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Replica", a.cfg.Name)
	a.mux.ServeHTTP(w, r)
}

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "ok")
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<title>Log in</title>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input name="username" autocomplete="username">
<input name="password" type="password" autocomplete="current-password">
<button>Log in</button>
</form>
`))

func (a *App) renderLogin(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Error string }{msg})
}

func (a *App) loginForm(w http.ResponseWriter, _ *http.Request) {
	a.renderLogin(w, http.StatusOK, "")
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("username")
	if !a.validUser(user) || r.PostFormValue("password") != a.cfg.Password {
		a.renderLogin(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	id, err := a.cfg.Store.Create(r.Context(), Session{User: user, Expires: time.Now().Add(a.cfg.SessionTTL)})
	if err != nil {
		http.Error(w, "create session: "+err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     a.cfg.CookieName,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(a.cfg.SessionTTL / time.Second),
	})
	http.Redirect(w, r, "/", http.StatusFound)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(a.cfg.CookieName); err == nil {
		if err := a.cfg.Store.Delete(r.Context(), c.Value); err != nil {
			http.Error(w, "delete session: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: a.cfg.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusFound)
}

func (a *App) validUser(name string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "user"))
	return strings.HasPrefix(name, "user") && err == nil && n >= 1 && n <= a.cfg.Users && "user"+strconv.Itoa(n) == name
}

// protected sends a request without a session this replica knows to the login form, the way session-based apps do.
func (a *App) protected(next func(http.ResponseWriter, *http.Request, Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(a.cfg.CookieName)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		s, ok, err := a.cfg.Store.Lookup(r.Context(), c.Value)
		switch {
		case err != nil:
			http.Error(w, "look up session: "+err.Error(), http.StatusInternalServerError)
		case !ok:
			http.Redirect(w, r, "/login", http.StatusFound)
		default:
			w.Header().Set("Cache-Control", "no-store")
			next(w, r, s)
		}
	}
}

func (a *App) home(w http.ResponseWriter, _ *http.Request, s Session) {
	fmt.Fprintf(w, "Hello %s, served by %s\n", s.User, a.cfg.Name)
}

func (a *App) page(w http.ResponseWriter, r *http.Request, s Session) {
	fmt.Fprintf(w, "Page %s for %s, served by %s\n", r.PathValue("n"), s.User, a.cfg.Name)
}
