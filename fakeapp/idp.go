package fakeapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/fakeapp/internal/seal"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Identity provider paths.
const (
	authorizePath = "/authorize"
	idpLoginPath  = "/login"
	idpCookie     = "idp_session"
)

// IdPConfig describes the fake identity provider.
type IdPConfig struct {
	// Key seals the provider's own cookie and the codes it hands to apps; every app must hold it. Required.
	Key []byte
	// Users and Password are the accounts, as in Config.
	Users    int
	Password string
	// SessionTTL is how long the provider remembers a login. Default: 24h.
	SessionTTL time.Duration
}

// IdP is a fake single sign-on provider. It remembers its own login in its own cookie, so that when an app loses a
// session it vouches for the user again without a prompt: the app's session is replaced silently.
type IdP struct {
	cfg      IdPConfig
	seal     *seal.Sealer
	mux      *http.ServeMux
	prompts  prometheus.Counter
	silent   prometheus.Counter
	registry *prometheus.Registry
}

// NewIdP returns the identity provider; it fails without a key.
func NewIdP(cfg IdPConfig) (*IdP, error) {
	sealer, err := seal.New(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("identity provider key: %w", err)
	}
	app := Config{Users: cfg.Users, Password: cfg.Password, SessionTTL: cfg.SessionTTL}
	app.init()
	cfg.Users, cfg.Password, cfg.SessionTTL = app.Users, app.Password, app.SessionTTL
	p := &IdP{cfg: cfg, seal: sealer, mux: http.NewServeMux(), registry: prometheus.NewRegistry(),
		prompts: prometheus.NewCounter(prometheus.CounterOpts{Name: metricIdPLogins, Help: "Logins the provider prompted for."}),
		silent:  prometheus.NewCounter(prometheus.CounterOpts{Name: metricIdPSilent, Help: "Authorizations answered from the provider's own cookie, without a prompt."}),
	}
	p.registry.MustRegister(p.prompts, p.silent)
	p.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	p.mux.Handle("GET /metrics", promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{}))
	p.mux.HandleFunc("GET "+authorizePath, p.authorize)
	p.mux.HandleFunc("POST "+idpLoginPath, p.login)
	return p, nil
}

// ServeHTTP serves the provider's authorize and login endpoints, /healthz and /metrics.
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// authRequest is an app's request to log a user in.
type authRequest struct {
	redirect *url.URL
	state    string
}

func parseAuthRequest(redirectURI, state string) (authRequest, error) {
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return authRequest{}, errors.New("redirect_uri must be an absolute http(s) URL")
	}
	if state == "" {
		return authRequest{}, errors.New("state is required")
	}
	return authRequest{redirect: u, state: state}, nil
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, err := parseAuthRequest(q.Get("redirect_uri"), q.Get("state"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if user, ok := p.loggedIn(r); ok {
		p.silent.Inc()
		p.sendBack(w, r, req, user, false)
		return
	}
	renderLogin(w, http.StatusOK, loginView{Action: idpLoginPath, Hidden: map[string]string{"redirect_uri": req.redirect.String(), "state": req.state}})
}

func (p *IdP) login(w http.ResponseWriter, r *http.Request) {
	req, err := parseAuthRequest(r.PostFormValue("redirect_uri"), r.PostFormValue("state"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user := r.PostFormValue("username")
	if !validUser(user, p.cfg.Users) || r.PostFormValue("password") != p.cfg.Password {
		renderLogin(w, http.StatusUnauthorized, loginView{Action: idpLoginPath, Error: "wrong username or password",
			Hidden: map[string]string{"redirect_uri": req.redirect.String(), "state": req.state}})
		return
	}
	expires := time.Now().Add(p.cfg.SessionTTL)
	raw, _ := json.Marshal(session{User: user, Expires: expires}) // strings and a time always marshal
	setCookie(w, idpCookie, p.seal.Seal(purposeSession, raw), expires)
	p.prompts.Inc()
	p.sendBack(w, r, req, user, true)
}

func (p *IdP) loggedIn(r *http.Request) (string, bool) {
	c, err := r.Cookie(idpCookie)
	if err != nil {
		return "", false
	}
	raw, err := p.seal.Open(purposeSession, c.Value)
	if err != nil {
		return "", false
	}
	var s session
	if json.Unmarshal(raw, &s) != nil || !time.Now().Before(s.Expires) || !s.loggedIn() {
		return "", false
	}
	return s.User, true
}

// sendBack redirects to the app's callback with a code sealed for the apps, bound to the app's state.
func (p *IdP) sendBack(w http.ResponseWriter, r *http.Request, req authRequest, user string, prompted bool) {
	raw, _ := json.Marshal(idpCode{User: user, State: req.state, Prompted: prompted, Expires: time.Now().Add(time.Minute)}) // always marshals
	back := *req.redirect
	q := back.Query()
	q.Set("code", p.seal.Seal(purposeCode, raw))
	q.Set("state", req.state)
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// idpCode is what the provider vouches for. A real provider hands out an opaque code the app redeems over a back
// channel; sealing the answer into the code itself keeps apps from needing a route to the provider.
type idpCode struct {
	User     string    `json:"u"`
	State    string    `json:"s"`
	Prompted bool      `json:"p"` // the user typed a password for this code
	Expires  time.Time `json:"e"`
}

const purposeCode = "sso-code"

func openCode(sealer *seal.Sealer, code string) (idpCode, error) {
	if sealer == nil {
		return idpCode{}, errors.New("no identity provider key")
	}
	raw, err := sealer.Open(purposeCode, code)
	if err != nil {
		return idpCode{}, err
	}
	var c idpCode
	if err := json.Unmarshal(raw, &c); err != nil {
		return idpCode{}, fmt.Errorf("decode code: %w", err)
	}
	if !time.Now().Before(c.Expires) {
		return idpCode{}, errors.New("code expired")
	}
	return c, nil
}

// trimSlash is the provider's base URL without a trailing slash.
func trimSlash(s string) string { return strings.TrimSuffix(s, "/") }
