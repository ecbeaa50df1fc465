// Package harness owns a run: the scenario file and its validation, the topology it asks for, the runtimes that
// start that topology for real (local processes; containers later) with rendered balancer configs, and Run, which
// starts a deployment, drives the simulated users against it, computes the report and stops everything it started.
package harness

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// Scenario is a validated scenario file (design.md, "Scenario file (v1)").
type Scenario struct {
	Name     string            `yaml:"name"`
	Seed     uint64            `yaml:"seed"`
	App      App               `yaml:"app"`
	Balancer Balancer          `yaml:"balancer"`
	Clients  clients.Config    `yaml:"clients"`
	Faults   []Fault           `yaml:"faults"`
	Expect   map[string]string `yaml:"expect"`
	// Journey describes the app's login and pages; left out, it is the built-in app's.
	Journey clients.JourneySpec `yaml:"journey"`

	where    *positions         // where each key was written, for messages
	template *template.Template // balancer.config, parsed
	own      *ownApp            // app.command / app.image, parsed; nil for the built-in app
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
	// image on the docker runtime, each templated per replica with AppVars.
	Command  []string          `yaml:"command"`
	Env      map[string]string `yaml:"env"`       // added to the harness's environment, or with EmptyEnv the only one
	EmptyEnv bool              `yaml:"empty_env"` // start from an empty environment
	Dir      string            `yaml:"dir"`       // working directory; default the replica's data directory
	Stagger  Duration          `yaml:"stagger"`   // wait this long after a replica is ready before starting the next
	Health   AppHealth         `yaml:"health"`    // when a replica is ready
	Image    *AppImage         `yaml:"image"`
	// SessionCookie names the user's app's session cookie, which hash-cookie hashes (the built-in app's is sid).
	SessionCookie string `yaml:"session_cookie"`
}

// Balancer describes what sits in front of the replicas: which real balancer, how it picks a replica, and the
// settings users tune in production. A setting of one kind given for the other is refused, not ignored.
type Balancer struct {
	Kind     string `yaml:"kind"`     // nginx | haproxy
	Strategy string `yaml:"strategy"` // see Strategies
	// Config is a Go text/template of the balancer's whole config file (relative to the scenario file), used instead
	// of the built-in one; it receives a BalancerConfig.
	Config   string      `yaml:"config"`
	Workers  int         `yaml:"workers"`   // nginx worker_processes, HAProxy nbthread
	HashType string      `yaml:"hash_type"` // ip-hash: map-based (modulo) | consistent
	Cookie   RouteCookie `yaml:"cookie"`    // cookie-insert: the balancer's own cookie

	// nginx
	MaxFails     *int     `yaml:"max_fails"`     // failed attempts before a server is skipped for fail_timeout
	FailTimeout  Duration `yaml:"fail_timeout"`  // default 10s
	NextUpstream []string `yaml:"next_upstream"` // proxy_next_upstream; default [error, timeout]

	// HAProxy
	HealthCheck *HealthCheck `yaml:"health_check"` // active checks of each server; none by default
	Redispatch  bool         `yaml:"redispatch"`   // option redispatch: a persisted client may go to another server when its own is down
	Retries     *int         `yaml:"retries"`      // connection retries; default 3
	StickTable  string       `yaml:"stick_table"`  // client-ip-sticky: ipv6 (default, sticks both families) | ip (IPv4 only)
	StickExpire Duration     `yaml:"stick_expire"` // client-ip-sticky, hash-cookie: how long an idle entry is kept; default 30m
}

// RouteCookie is the balancer-inserted affinity cookie.
type RouteCookie struct {
	Name   string   `yaml:"name"`    // default "route"
	MaxAge Duration `yaml:"max_age"` // 0: a session cookie
}

// HealthCheck configures HAProxy's active health checks.
type HealthCheck struct {
	Path     string   `yaml:"path"`     // default /healthz
	Interval Duration `yaml:"interval"` // default 2s
	Fall     int      `yaml:"fall"`     // failed checks before a server is down; default 3
	Rise     int      `yaml:"rise"`     // passed checks before it is up again; default 2
}

// Fault is one nemesis action (Jepsen's nemesis): what happens to which part, and when.
type Fault struct {
	At      string   `yaml:"at"`      // "2s" after the users start, or "1500 requests" after that many answers
	Action  string   `yaml:"action"`  // see FaultActions
	Target  string   `yaml:"target"`  // replica-N, balancer, store; rolling-restart, scale-out and scale-in take none
	For     Duration `yaml:"for"`     // kill, stop: start the part again after this long (0: leave it down)
	Pause   Duration `yaml:"pause"`   // rolling-restart: wait between replicas; default 1s
	Count   int      `yaml:"count"`   // scale-out, scale-in: replicas to add or remove; default 1
	Persist bool     `yaml:"persist"` // restart-store: the store keeps its data across the restart
}

// FaultActions are the faults a scenario may list.
var FaultActions = []string{"kill", "stop", "start", "restart", "rolling-restart", "scale-out", "scale-in", "restart-store", "reload-balancer"}

// Duration is a scenario duration, written with a unit: 500ms, 2s, 1m30s.
type Duration = clients.Duration

func parseDuration(s string) (time.Duration, error) { return clients.ParseDuration(s) }

// MaxReplicas bounds app.replicas.
const MaxReplicas = 64

// choice is a scenario key with a closed set of values.
type choice struct {
	key     string
	allowed []string
}

var (
	sessionsChoice   = choice{"app.sessions", []string{"memory", "redis", "cookie"}}
	secretChoice     = choice{"app.secret", []string{"shared", "per-replica"}}
	cookieNameChoice = choice{"app.cookie_name", []string{"shared", "per-replica"}}
	loginChoice      = choice{"app.login", []string{"form", "form-csrf", "sso"}}
	kindChoice       = choice{"balancer.kind", BalancerKinds}
	strategyChoice   = choice{"balancer.strategy", Strategies}
	hashTypeChoice   = choice{"balancer.hash_type", []string{"map-based", "consistent"}}
	stickTableChoice = choice{"balancer.stick_table", []string{"ipv6", "ip"}}
)

// Strategies are the balancing strategies a scenario may name.
var Strategies = []string{"round-robin", "least-conn", "ip-hash", "hash-cookie", "cookie-insert", "client-ip-sticky"}

func (c choice) check(v string) error {
	if !slices.Contains(c.allowed, v) {
		return keyErr(c.key, "%q is not allowed (allowed: %s)", v, strings.Join(c.allowed, ", "))
	}
	return nil
}

// defaultScenario holds the value of every key a file may leave out.
func defaultScenario() Scenario {
	return Scenario{
		Seed:     1,
		App:      App{Replicas: 3, Sessions: "memory", Secret: "shared", CookieName: "shared", Login: "form"},
		Balancer: Balancer{Kind: "nginx", Strategy: "round-robin", Workers: 1},
		Clients:  clients.DefaultConfig(),
	}
}

var namePattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// Validate returns every problem with s, each naming its key.
func (s *Scenario) Validate() []error {
	var errs []error
	if !namePattern.MatchString(s.Name) {
		errs = append(errs, keyErr("name", "%q is not a name (required; allowed characters: a-z, 0-9 and -)", s.Name))
	}
	if s.App.Replicas < 1 || s.App.Replicas > MaxReplicas {
		errs = append(errs, keyErr("app.replicas", "%d is out of range (allowed 1..%d)", s.App.Replicas, MaxReplicas))
	}
	for _, c := range []struct {
		choice
		v string
	}{
		{sessionsChoice, s.App.Sessions}, {secretChoice, s.App.Secret}, {cookieNameChoice, s.App.CookieName},
		{loginChoice, s.App.Login}, {kindChoice, s.Balancer.Kind}, {strategyChoice, s.Balancer.Strategy},
	} {
		if err := c.check(c.v); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.validateBalancer()...)
	own, ownErrs := s.App.parseOwnApp(s.Balancer.Strategy)
	errs = append(errs, ownErrs...)
	if own != nil && s.where != nil {
		own.baseDir = filepath.Dir(s.where.file)
	}
	s.own = own
	errs = append(errs, s.Clients.Validate()...)
	errs = append(errs, s.Journey.Validate()...)
	errs = append(errs, s.validateFaults()...)
	return append(errs, s.validateExpect()...)
}

// validateExpect checks each bound parses and each key names a figure a report of this scenario will have.
func (s *Scenario) validateExpect() []error {
	var errs []error
	skeleton := reports.NewAccumulator(s.meta("")).Report()
	skeleton.Store = &reports.Store{} // Run always reads the app's side
	if s.Clients.WebSocket.Connections > 0 {
		skeleton.WebSocket = &reports.WebSocket{}
	}
	for key, want := range s.Expect {
		if _, err := reports.ParseBound(want); err != nil {
			errs = append(errs, keyErr("expect."+key, "%v", err))
		}
		if _, found := skeleton.Lookup(key); !found {
			errs = append(errs, keyErr("expect."+key, "%q is not a figure of the report (a totals field such as login_failure_rate, or a dotted path such as skew.max_over_mean)", key))
		}
	}
	return errs
}

// meta is what the report needs to know about this scenario's run.
func (s *Scenario) meta(runtime string) events.Meta {
	t := s.Topology()
	names := make([]string, s.replicasMade())
	for i := range names {
		names[i] = t.replicaSpec(i + 1).Name
	}
	return events.Meta{
		Scenario: s.Name, Seed: s.Seed, Runtime: runtime,
		Balancer: events.Balancer{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Config: s.Balancer.Config},
		App:      events.App{Sessions: s.App.Sessions, Login: s.App.Login, Secret: s.App.Secret, CookieName: s.App.CookieName},
		Replicas: names, Users: s.Clients.Users, Faults: s.faultPlans(),
	}
}

// KeyError is a problem with one scenario key.
type KeyError = clients.KeyError

func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
