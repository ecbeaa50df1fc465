// Package harness owns a run: the scenario file and its validation, the topology it asks for, the runtimes that
// start that topology for real (local processes; containers later) with rendered balancer configs, and Run, which
// starts a deployment, drives the simulated users against it, computes the report and stops everything it started.
package harness

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/clients"
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

	where *positions // where each key was written, for messages
}

// App describes the replicas.
type App struct {
	Replicas   int    `yaml:"replicas"`
	Sessions   string `yaml:"sessions"`    // memory | redis | cookie
	Secret     string `yaml:"secret"`      // shared | per-replica
	CookieName string `yaml:"cookie_name"` // shared | per-replica
	Login      string `yaml:"login"`       // form | form-csrf | sso
}

// Balancer describes what sits in front of the replicas.
type Balancer struct {
	Kind     string `yaml:"kind"`     // nginx | haproxy
	Strategy string `yaml:"strategy"` // see Strategies
}

// Fault is one nemesis action (design.md); faults are not run yet and a scenario that lists one is refused.
type Fault struct {
	At     string `yaml:"at"`
	Action string `yaml:"action"`
	Target string `yaml:"target"`
}

// MaxReplicas bounds app.replicas.
const MaxReplicas = 64

// choice is a scenario key with a closed set of values, of which this version runs only some.
type choice struct {
	key       string
	allowed   []string
	supported []string
}

var (
	sessionsChoice   = choice{"app.sessions", []string{"memory", "redis", "cookie"}, []string{"memory"}}
	secretChoice     = choice{"app.secret", []string{"shared", "per-replica"}, []string{"shared", "per-replica"}}
	cookieNameChoice = choice{"app.cookie_name", []string{"shared", "per-replica"}, []string{"shared", "per-replica"}}
	loginChoice      = choice{"app.login", []string{"form", "form-csrf", "sso"}, []string{"form"}}
	kindChoice       = choice{"balancer.kind", []string{"nginx", "haproxy"}, []string{"nginx"}}
	strategyChoice   = choice{"balancer.strategy", Strategies, []string{"round-robin", "ip-hash"}}
)

// Strategies are the balancing strategies a scenario may name.
var Strategies = []string{"round-robin", "least-conn", "ip-hash", "hash-cookie", "cookie-insert", "client-ip-sticky"}

func (c choice) check(v string) error {
	switch {
	case !slices.Contains(c.allowed, v):
		return keyErr(c.key, "%q is not allowed (allowed: %s)", v, strings.Join(c.allowed, ", "))
	case !slices.Contains(c.supported, v):
		return keyErr(c.key, "%q is not supported by this version yet (supported: %s)", v, strings.Join(c.supported, ", "))
	}
	return nil
}

// defaultScenario holds the value of every key a file may leave out.
func defaultScenario() Scenario {
	return Scenario{
		Seed:     1,
		App:      App{Replicas: 3, Sessions: "memory", Secret: "shared", CookieName: "shared", Login: "form"},
		Balancer: Balancer{Kind: "nginx", Strategy: "round-robin"},
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
	errs = append(errs, s.Clients.Validate()...)
	if len(s.Faults) > 0 {
		errs = append(errs, keyErr("faults", "faults are not supported by this version yet (allowed: [])"))
	}
	return append(errs, s.validateExpect()...)
}

// validateExpect checks each bound parses and each key names a figure a report of this scenario will have.
func (s *Scenario) validateExpect() []error {
	var errs []error
	skeleton := reports.NewAccumulator(s.meta("")).Report()
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
func (s *Scenario) meta(runtime string) reports.Meta {
	return reports.Meta{
		Scenario: s.Name, Seed: s.Seed, Runtime: runtime,
		Balancer: reports.Balancer{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy},
		Sessions: s.App.Sessions, Replicas: s.Topology().ReplicaNames(), Users: s.Clients.Users,
	}
}

// KeyError is a problem with one scenario key.
type KeyError struct {
	Key string
	Msg string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
