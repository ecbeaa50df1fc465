// Package scenario owns the scenario file (docs/scenarios.md): its Go types — every section, the clients and the
// journey too — with their defaults, strict YAML decoding with --set overrides and messages that name the file,
// line and key, a pure Validate of every key, and the schema's vocabulary (fault actions and triggers, part names,
// the own app's template values). How a valid scenario is planned and reported is the harness's: it compiles the
// scenario into the plan a run starts from.
package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// Scenario is a validated scenario file (docs/scenarios.md; the contract in docs/contract.md, "Scenario file (v1)").
type Scenario struct {
	Name     string            `yaml:"name"`
	Seed     uint64            `yaml:"seed"`
	App      App               `yaml:"app"`
	Balancer Balancer          `yaml:"balancer"`
	Clients  Clients           `yaml:"clients"`
	Faults   []Fault           `yaml:"faults"`
	Expect   map[string]string `yaml:"expect"`
	// Journey describes the app's login and pages; left out, it is the built-in app's.
	Journey Journey `yaml:"journey"`
	// Target is a live deployment to drive instead of a topology the harness starts.
	Target Target `yaml:"target"`

	// where records the file and line each key was written on (Parse sets it), so that messages point at them
	// and a key written with its zero value still counts as given. A Scenario built in Go has none.
	where *positions
}

// App describes the replicas.
type App struct {
	Replicas   int    `yaml:"replicas"`
	Sessions   string `yaml:"sessions"`    // memory | redis | cookie
	Secret     string `yaml:"secret"`      // shared | per-replica
	CookieName string `yaml:"cookie_name"` // shared | per-replica
	Login      string `yaml:"login"`       // form | form-csrf | sso
	// SessionTTL is a session's lifetime (default 24h); IdleTimeout ends one unused for that long (default: never).
	SessionTTL  Duration `yaml:"session_ttl"`
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ClearBadCookie has a replica clear a session cookie it cannot open, as Wakapi does: going back to the
	// replica that made it no longer helps.
	ClearBadCookie bool `yaml:"clear_bad_cookie"`

	// The user's own app instead of the built-in one (see ownapp.go): its command line on the local runtime, its
	// image on the docker runtime, each templated per replica with vocab.AppVars.
	Command  []string          `yaml:"command"`
	Env      map[string]string `yaml:"env"`       // added to the harness's environment, or with EmptyEnv the only one
	EmptyEnv bool              `yaml:"empty_env"` // start from an empty environment
	Dir      string            `yaml:"dir"`       // working directory; default the replica's data directory
	Stagger  Duration          `yaml:"stagger"`   // wait this long after a replica is ready before starting the next
	Health   AppHealth         `yaml:"health"`    // when a replica is ready
	Image    *AppImage         `yaml:"image"`
	// SessionCookie names the user's app's session cookie, which hash-cookie hashes (the built-in app's is sid).
	SessionCookie string `yaml:"session_cookie"`
	// IdP "oidc" starts an OpenID Connect provider approving every login for the user's app (local runtime):
	// {{.IdP}} is its issuer, {{.IdPClientID}} and {{.IdPClientSecret}} the app's client there.
	IdP string `yaml:"idp"`
	// StoreKeys is a Redis SCAN MATCH pattern (e.g. "_oauth2_proxy-*"): with sessions: redis, the keys of the
	// user's app's session records, counted after the run as store.sessions.
	StoreKeys string `yaml:"store_keys"`
}

// Balancer describes what sits in front of the replicas: which real balancer, how it picks a replica, and the
// settings users tune in production. A setting of one kind given for the other is refused, not ignored.
type Balancer struct {
	Kind     string `yaml:"kind"`     // balancer.Kinds
	Strategy string `yaml:"strategy"` // balancer.Strategies
	// Config is a Go text/template of the balancer's whole config file (relative to the scenario file), used instead
	// of the built-in one; it receives a balancer.Config.
	Config   string      `yaml:"config"`
	Workers  int         `yaml:"workers"`   // nginx worker_processes, HAProxy nbthread
	HashType string      `yaml:"hash_type"` // ip-hash: map-based (modulo) | consistent
	Cookie   RouteCookie `yaml:"cookie"`    // cookie-insert, cookie-balanced: the balancer's own cookie

	// The tier: Instances of the kind behind an L4 front (HAProxy in TCP mode) that spreads the users' connections
	// over them by Front: connection (each new connection to the next instance) or source (by client address).
	Instances int    `yaml:"instances"` // default 1: one balancer, no front
	Front     string `yaml:"front"`     // connection (default) | source
	// Stagger is how much later each instance sees a change of replicas than the one before it.
	Stagger Duration `yaml:"stagger"`
	// IdleTimeout closes a client connection idle that long (each kind's keep-alive timeout); default the kind's own.
	IdleTimeout Duration `yaml:"idle_timeout"`

	// nginx and Caddy
	MaxFails    *int     `yaml:"max_fails"`    // failed attempts before a server is skipped for fail_timeout
	FailTimeout Duration `yaml:"fail_timeout"` // default 10s; Caddy's fail_duration

	// nginx
	NextUpstream []string `yaml:"next_upstream"` // proxy_next_upstream; default [error, timeout]

	// HAProxy
	HealthCheck *HealthCheck `yaml:"health_check"` // active checks of each server; none by default
	Redispatch  bool         `yaml:"redispatch"`   // option redispatch: a persisted client may go to another server when its own is down
	Retries     *int         `yaml:"retries"`      // connection retries; default 3
	StickTable  string       `yaml:"stick_table"`  // client-ip-sticky: ipv6 (default, sticks both families) | ip (IPv4 only)
	StickExpire Duration     `yaml:"stick_expire"` // client-ip-sticky, learn-cookie: how long an idle entry is kept; default 30m
	Peers       bool         `yaml:"peers"`        // client-ip-sticky, learn-cookie in a tier: the instances share the stick table

	// Caddy
	CookieSecret string `yaml:"cookie_secret"` // cookie-insert: shared (default) | per-instance (each instance its own)
}

// RouteCookie is the balancer-inserted affinity cookie.
type RouteCookie struct {
	Name   string   `yaml:"name"`    // default: the balancer's own (nginx INGRESSCOOKIE, haproxy SERVERID, caddy lb)
	MaxAge Duration `yaml:"max_age"` // 0: a session cookie
	// ChangeOnFailure: a request whose cookie's replica fails is retried elsewhere and re-pinned (ingress-nginx's
	// session-cookie-change-on-failure; HAProxy's option redispatch; Caddy's lb_retries). Default false, as there.
	ChangeOnFailure bool `yaml:"change_on_failure"`
}

// HealthCheck configures HAProxy's active health checks.
type HealthCheck struct {
	Path     string   `yaml:"path"`     // default /healthz
	Interval Duration `yaml:"interval"` // default 2s
	Fall     int      `yaml:"fall"`     // failed checks before a server is down; default 3
	Rise     int      `yaml:"rise"`     // passed checks before it is up again; default 2
}

// Target is a live deployment (sessionlab run --target URL): nothing is started, the users go to URL.
type Target struct {
	URL string `yaml:"url"` // http(s)://host[:port]
	// ReplicaHeader names a response header whose value names the replica that answered (a pod-name or upstream
	// header the ingress adds). AffinityCookie names an affinity cookie whose value does (INGRESSCOOKIE in
	// ingress-nginx's persistent mode, Caddy's lb, HAProxy's own). Neither: which replica answered is unknown.
	ReplicaHeader  string `yaml:"replica_header"`
	AffinityCookie string `yaml:"affinity_cookie"`
}

// Fault is one nemesis action (Jepsen's nemesis): what happens to which part, and when.
type Fault struct {
	At      string   `yaml:"at"`      // "2s" after the users start, or "1500 requests" after that many answers
	Action  string   `yaml:"action"`  // vocab.FaultActions
	Target  string   `yaml:"target"`  // replica-N, balancer, store; rolling-restart, scale-out and scale-in take none
	For     Duration `yaml:"for"`     // kill, stop: start the part again after this long (0: leave it down)
	Pause   Duration `yaml:"pause"`   // rolling-restart: wait between replicas; default 1s
	Count   int      `yaml:"count"`   // scale-out, scale-in: replicas to add or remove; default 1
	Persist bool     `yaml:"persist"` // restart-store: the store keeps its data across the restart
	// To is the balancer switch-balancer moves the users to: its kind, strategy and settings, with the scenario
	// balancer's count of instances. The balancer the scenario started with is a switch back (a rollback).
	To *Balancer `yaml:"to"`
}

// maxReplicas bounds app.replicas, maxInstances balancer.instances.
const (
	maxReplicas  = 64
	maxInstances = 16
)

// choice is a scenario key with a closed set of values.
type choice struct {
	key     string
	allowed []string
}

var (
	sessionsChoice     = choice{"app.sessions", []string{"memory", "redis", "cookie"}}
	secretChoice       = choice{"app.secret", []string{"shared", "per-replica"}}
	cookieNameChoice   = choice{"app.cookie_name", []string{"shared", "per-replica"}}
	loginChoice        = choice{"app.login", []string{"form", "form-csrf", "sso"}}
	kindChoice         = choice{"balancer.kind", balancer.Kinds}
	strategyChoice     = choice{"balancer.strategy", balancer.Strategies}
	hashTypeChoice     = choice{"balancer.hash_type", []string{"map-based", "consistent"}}
	stickTableChoice   = choice{"balancer.stick_table", []string{"ipv6", "ip"}}
	frontChoice        = choice{"balancer.front", []string{"connection", "source"}}
	cookieSecretChoice = choice{"balancer.cookie_secret", []string{"shared", "per-instance"}}
)

func (c choice) check(v string) error {
	if !slices.Contains(c.allowed, v) {
		return keyErr(c.key, "%q is not allowed (allowed: %s)", v, strings.Join(c.allowed, ", "))
	}
	return nil
}

// Default is a scenario with the value of every key a file may leave out; a scenario built in Go starts from it
// (every key but name).
func Default() Scenario {
	return Scenario{
		Seed:     1,
		App:      App{Replicas: 3, Sessions: "memory", Secret: "shared", CookieName: "shared", Login: "form"},
		Balancer: Balancer{Kind: "nginx", Strategy: "round-robin", Workers: 1, Instances: 1},
		Clients:  defaultClients(),
	}
}

// KeyError is a problem with one scenario key, named by its dotted path: the one error type of every key's
// validation. The loader finds the key's line from it.
type KeyError struct {
	Key string // e.g. "clients.network.pools[1]"
	Msg string
}

// Error is the key and the problem: "app.replicas: 0 is out of range (allowed 1..64)".
func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
