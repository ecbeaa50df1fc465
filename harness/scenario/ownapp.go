package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"
)

// AppHealth says when a replica of the user's app is ready: GET Path answers 2xx, within Timeout of its start.
type AppHealth struct {
	Path    string   `yaml:"path"`    // default /healthz
	Timeout Duration `yaml:"timeout"` // default 30s
}

// AppImage is the user's app as a container image (docker runtime).
type AppImage struct {
	Name    string            `yaml:"name"`    // the image, e.g. wakapi:local
	Command []string          `yaml:"command"` // the container's command (templated); empty: the image's own
	Env     map[string]string `yaml:"env"`     // templated
	Port    int               `yaml:"port"`    // where the app listens in the container
}

// Own reports whether the replicas are the user's app rather than the built-in one.
func (a App) Own() bool { return len(a.Command) > 0 || a.Image != nil }

// appCookies are the session cookie names the replicas use, which the balancer's own cookie must not take: sid, or
// sid-replica-N with app.cookie_name per-replica, or app.session_cookie (as the compiled topology names them).
func (s *Scenario) appCookies() []string {
	var names []string
	for i := range s.App.Replicas {
		name := "sid"
		if s.App.CookieName == "per-replica" {
			name = "sid-" + vocab.ReplicaName(i+1)
		}
		names = append(names, or(s.App.SessionCookie, name))
	}
	return names
}

// validateOwnApp checks app.command, app.env, app.dir, app.health, app.stagger and app.image, and refuses the keys
// that mean nothing for the app that runs.
func (a App) validateOwnApp(strategy string) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	parse := func(key, text string) {
		if _, err := vocab.ParseAppTemplate(key, text); err != nil {
			add(keyErr(key, "%v", err))
		}
	}
	if a.Health.Path != "" && !strings.HasPrefix(a.Health.Path, "/") {
		add(keyErr("app.health.path", "%q is not a path (it starts with /)", a.Health.Path))
	}
	if a.Health.Timeout < 0 {
		add(keyErr("app.health.timeout", "%s is negative", time.Duration(a.Health.Timeout)))
	}
	if a.Stagger < 0 {
		add(keyErr("app.stagger", "%s is negative", time.Duration(a.Stagger)))
	}
	for i, arg := range a.Command {
		parse(fmt.Sprintf("app.command[%d]", i), arg)
	}
	if len(a.Command) > 0 && strings.TrimSpace(a.Command[0]) == "" {
		add(keyErr("app.command[0]", "the program is empty"))
	}
	checkEnv("app.env", a.Env, parse, add)
	if a.Dir != "" {
		parse("app.dir", a.Dir)
	}
	if im := a.Image; im != nil {
		if im.Name == "" {
			add(keyErr("app.image.name", "is required: the image to run as the replicas"))
		}
		if im.Port < 1 || im.Port > 65535 {
			add(keyErr("app.image.port", "%d is out of range (allowed 1..65535: where the app listens in the container)", im.Port))
		}
		checkEnv("app.image.env", im.Env, parse, add)
		for i, arg := range im.Command {
			parse(fmt.Sprintf("app.image.command[%d]", i), arg)
		}
	}
	// Keys set where they mean nothing are refused rather than ignored, in a fixed order so messages are stable.
	type setting struct {
		key string
		set bool
	}
	refuse := func(msg string, settings ...setting) {
		for _, st := range settings {
			if st.set {
				add(keyErr(st.key, "%s", msg))
			}
		}
	}
	if !a.Own() {
		refuse("applies to your own app only (app.command or app.image)",
			setting{"app.env", len(a.Env) > 0}, setting{"app.empty_env", a.EmptyEnv}, setting{"app.dir", a.Dir != ""},
			setting{"app.session_cookie", a.SessionCookie != ""}, setting{"app.stagger", a.Stagger != 0},
			setting{"app.idp", a.IdP != ""}, setting{"app.store_keys", a.StoreKeys != ""})
		return errs
	}
	refuse("applies to the built-in app only; with app.command or app.image, configure your app through app.env or its command line",
		setting{"app.login", a.Login != "form"}, setting{"app.cookie_name", a.CookieName != "shared"},
		setting{"app.session_ttl", a.SessionTTL != 0}, setting{"app.idle_timeout", a.IdleTimeout != 0},
		setting{"app.clear_bad_cookie", a.ClearBadCookie})
	if (strategy == "hash-cookie" || strategy == "learn-cookie") && a.SessionCookie == "" {
		add(keyErr("app.session_cookie", "is required with strategy %s and your own app: the name of the cookie the balancer keys on", strategy))
	}
	if a.IdP != "" && a.IdP != "oidc" {
		add(keyErr("app.idp", "%q is not allowed (allowed: oidc, an OpenID Connect provider approving every login)", a.IdP))
	}
	if a.IdP != "" && a.Image != nil {
		add(keyErr("app.idp", "runs with app.command on the local runtime only: its issuer must be one address for browsers and replicas alike"))
	}
	if a.StoreKeys != "" && a.Sessions != "redis" {
		add(keyErr("app.store_keys", "counts keys in the run's Redis, which needs app.sessions: redis (this scenario's sessions are %s)", a.Sessions))
	}
	if a.Sessions == "cookie" {
		add(keyErr("app.sessions", `"cookie" applies to the built-in app only; with your own app, "redis" starts a Redis ({{.Store}}) and "memory" starts none`))
	}
	return errs
}

func checkEnv(key string, env map[string]string, parse func(key, text string), add func(error)) {
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			add(keyErr(key, "%q is not an environment variable name", name))
			continue
		}
		parse(key+"."+name, env[name])
	}
}
