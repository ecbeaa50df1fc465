package scenario

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

var namePattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// Validate returns every problem with s, each naming its key. It reads no file and changes nothing: a balancer.config
// template is read and checked when the harness compiles the scenario, as is each expect key, against the figures
// of the report the run will have.
func (s *Scenario) Validate() []error {
	var errs []error
	if !namePattern.MatchString(s.Name) {
		errs = append(errs, keyErr("name", "%q is not a name (required; allowed characters: a-z, 0-9 and -)", s.Name))
	}
	if s.App.Replicas < 1 || s.App.Replicas > maxReplicas {
		errs = append(errs, keyErr("app.replicas", "%d is out of range (allowed 1..%d)", s.App.Replicas, maxReplicas))
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
	errs = append(errs, s.App.validateOwnApp(s.Balancer.Strategy)...)
	errs = append(errs, s.Clients.validate()...)
	errs = append(errs, s.Journey.validate()...)
	errs = append(errs, s.validateFaults()...)
	return append(errs, s.validateTarget()...)
}

var (
	cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`) // nginx reads it as $cookie_NAME, which ends at a -
	nextUpstreamTerms = []string{"error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504", "http_403", "http_404", "http_429", "non_idempotent", "off"}
)

// validateBalancer checks the balancer settings against the kind and strategy they must fit, as the table of what
// each kind supports (package balancer) says, and each setting's value.
func (s *Scenario) validateBalancer() []error {
	b := s.Balancer
	var errs []error
	if slices.Contains(balancer.Kinds, b.Kind) && slices.Contains(balancer.Strategies, b.Strategy) {
		if err := balancer.Supports(b.Kind, b.Strategy); err != nil {
			errs = append(errs, keyErr("balancer.strategy", "%s is %v", b.Strategy, err))
		}
		errs = append(errs, s.balancerMisfits()...)
	}
	errs = append(errs, b.validateValues()...)
	errs = append(errs, s.validateTier()...)
	return append(errs, s.validateBalancerCookie()...)
}

// validateTier checks the tier's keys: the count of instances, and that the keys that only mean something across
// several instances are given with several.
func (s *Scenario) validateTier() []error {
	b := s.Balancer
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, keyErr(key, format, args...)) }
	if b.Instances < 1 || b.Instances > maxInstances {
		add("balancer.instances", "%d is out of range (allowed 1..%d)", b.Instances, maxInstances)
	}
	if b.Instances == 1 {
		for _, k := range []struct {
			key   string
			given bool
		}{{"front", b.Front != ""}, {"stagger", b.Stagger != 0}, {"peers", b.Peers}, {"cookie_secret", b.CookieSecret == "per-instance"}} {
			if s.given("balancer."+k.key, k.given) && k.given {
				add("balancer."+k.key, "applies to a tier of several instances: set balancer.instances to 2 or more")
			}
		}
	}
	for _, c := range []struct {
		choice
		v string
	}{{frontChoice, b.Front}, {cookieSecretChoice, b.CookieSecret}} {
		if err := c.check(c.v); c.v != "" && err != nil {
			errs = append(errs, err)
		}
	}
	if st := time.Duration(b.Stagger); st < 0 || st > time.Minute {
		add("balancer.stagger", "%s is out of range (allowed 0..1m)", st)
	}
	if it := time.Duration(b.IdleTimeout); it != 0 && (it < 100*time.Millisecond || it > time.Hour) {
		add("balancer.idle_timeout", "%s is out of range (allowed 100ms..1h)", it)
	}
	if b.Instances > 1 && s.Target.URL != "" {
		add("balancer.instances", "a live target starts no balancer: its own tier serves it (remove balancer.instances, or run without a target)")
	}
	return errs
}

// balancerMisfits refuses each balancer setting given that the kind or the strategy does not read.
func (s *Scenario) balancerMisfits() []error {
	var errs []error
	v := reflect.ValueOf(s.Balancer)
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if !s.given("balancer."+key, nonZero(v.Field(i))) {
			continue
		}
		for _, why := range balancer.Misfits(s.Balancer.Kind, s.Balancer.Strategy, key) {
			errs = append(errs, keyErr("balancer."+key, "%v", why))
		}
	}
	return errs
}

// nonZero reports whether a setting holds a value (a list, at least one item).
func nonZero(v reflect.Value) bool {
	if v.Kind() == reflect.Slice {
		return v.Len() > 0
	}
	return !v.IsZero()
}

// validateValues checks the values of the balancer settings that have a range or a closed set.
func (b Balancer) validateValues() []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, keyErr(key, format, args...)) }
	if b.Workers < 1 || b.Workers > 64 {
		add("balancer.workers", "%d is out of range (allowed 1..64)", b.Workers)
	}
	if b.MaxFails != nil && *b.MaxFails < 0 {
		add("balancer.max_fails", "%d is out of range (allowed 0 and up; 0 never marks a server failed)", *b.MaxFails)
	}
	if b.Retries != nil && (*b.Retries < 0 || *b.Retries > 100) {
		add("balancer.retries", "%d is out of range (allowed 0..100)", *b.Retries)
	}
	errs = append(errs, b.HealthCheck.validate()...)
	return append(errs, b.validateTerms()...)
}

// validate checks the health checks' counts and path; nil has none to check.
func (hc *HealthCheck) validate() []error {
	var errs []error
	if hc != nil && (hc.Fall < 0 || hc.Rise < 0) {
		errs = append(errs, keyErr("balancer.health_check", "fall and rise count checks (allowed 1 and up)"))
	}
	if hc != nil && hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
		errs = append(errs, keyErr("balancer.health_check.path", "%q is not a path (it starts with /)", hc.Path))
	}
	return errs
}

// validateTerms checks the balancer settings whose values come from a closed set.
func (b Balancer) validateTerms() []error {
	var errs []error
	for _, term := range b.NextUpstream {
		if !slices.Contains(nextUpstreamTerms, term) {
			errs = append(errs, keyErr("balancer.next_upstream", "%q is not allowed (allowed: %s)", term, strings.Join(nextUpstreamTerms, ", ")))
		}
	}
	for _, c := range []struct {
		choice
		v string
	}{{hashTypeChoice, b.HashType}, {stickTableChoice, b.StickTable}} {
		if err := c.check(c.v); c.v != "" && err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// validateBalancerCookie checks the balancer's cookie name, and that a strategy keying on the app's session cookie
// has one cookie name to key on.
func (s *Scenario) validateBalancerCookie() []error {
	var errs []error
	b := s.Balancer
	if b.Cookie.Name != "" && !cookieNamePattern.MatchString(b.Cookie.Name) {
		errs = append(errs, keyErr("balancer.cookie.name", "%q is not a cookie name (allowed: 1 to 64 of A-Z, a-z, 0-9 and _)", b.Cookie.Name))
	}
	if b.Cookie.Name != "" && slices.Contains(s.appCookies(), b.Cookie.Name) {
		errs = append(errs, keyErr("balancer.cookie.name", "%q is the app's own session cookie; the balancer's cookie needs another name", b.Cookie.Name))
	}
	if (b.Strategy == "hash-cookie" || b.Strategy == "learn-cookie") && s.App.CookieName != "shared" {
		errs = append(errs, keyErr("balancer.strategy", "%s keys on the app's session cookie, so it needs app.cookie_name: shared (not %s)", b.Strategy, s.App.CookieName))
	}
	return errs
}

// given reports whether the scenario sets key: written in the file or a --set, or holding a value.
func (s *Scenario) given(key string, nonZero bool) bool {
	if nonZero {
		return true
	}
	if s.where == nil {
		return false
	}
	_, written := s.where.keys[key]
	return written
}

// validateFaults checks each fault's action, trigger, target and options, following the replica count through
// the scale-outs and scale-ins in the order they are listed.
func (s *Scenario) validateFaults() []error {
	var errs []error
	replicas, made := s.App.Replicas, s.App.Replicas
	for i, f := range s.Faults {
		key := fmt.Sprintf("faults[%d]", i)
		add := func(sub, format string, args ...any) { errs = append(errs, keyErr(key+"."+sub, format, args...)) }
		if !slices.Contains(vocab.FaultActions, f.Action) {
			add("action", "%q is not allowed (allowed: %s)", f.Action, strings.Join(vocab.FaultActions, ", "))
			continue
		}
		if f.At == "" {
			add("at", "is required (a duration since the users started, such as 2s, or a count such as \"1500 requests\")")
		} else if _, err := vocab.ParseTrigger(f.At); err != nil {
			add("at", "%v", err)
		}
		switch f.Action {
		case "kill", "stop", "start", "restart":
			others := []string{vocab.TargetBalancer}
			if s.App.Sessions == "redis" {
				others = append(others, vocab.PartStore)
			}
			if s.App.Login == "sso" {
				others = append(others, vocab.PartIdP)
			}
			allowed := fmt.Sprintf("replica-1..replica-%d, %s", made, strings.Join(others, ", "))
			switch {
			case f.Target == "":
				add("target", "is required for %s (allowed: %s)", f.Action, allowed)
			case s.Balancer.Instances > 1 && (f.Target == vocab.TargetBalancer || f.Target == s.Balancer.Kind):
				add("target", "the balancer is a tier of %d instances: kill one with action kill-balancer, target %s..%s",
					s.Balancer.Instances, vocab.InstanceTarget(1), vocab.InstanceTarget(s.Balancer.Instances))
			case !isReplicaName(f.Target, made) && !slices.Contains(others, f.Target) && f.Target != s.Balancer.Kind:
				add("target", "%q is not a part of this scenario (allowed: %s)", f.Target, allowed)
			}
		case "switch-balancer":
			if f.Target != "" {
				add("target", "switch-balancer moves the users to the balancer `to` names and takes no target (%q given)", f.Target)
			}
			errs = append(errs, s.validateSwitch(key, f)...)
		case "kill-balancer":
			allowed := fmt.Sprintf("%s..%s", vocab.InstanceTarget(1), vocab.InstanceTarget(max(s.Balancer.Instances, 1)))
			if !isInstanceTarget(f.Target, s.Balancer.Instances) {
				add("target", "%q is not an instance of this scenario's balancer (allowed: %s)", f.Target, allowed)
			}
		case "reload-balancer":
			if f.Target != "" && f.Target != vocab.TargetBalancer && f.Target != s.Balancer.Kind {
				add("target", "%q: reload-balancer acts on the balancer (allowed: %s, or none)", f.Target, vocab.TargetBalancer)
			}
		case "restart-store":
			if f.Target != "" && f.Target != vocab.PartStore {
				add("target", "%q: restart-store acts on the session store (allowed: %s, or none)", f.Target, vocab.PartStore)
			}
			if s.App.Sessions != "redis" {
				add("action", "restart-store restarts the shared session store, which needs app.sessions: redis (this scenario's sessions are %s)", s.App.Sessions)
			}
		default: // rolling-restart, scale-out, scale-in act on the replicas as a group
			if f.Target != "" {
				add("target", "%s acts on all replicas and takes no target (%q given)", f.Action, f.Target)
			}
		}
		if f.For != 0 && f.Action != "kill" && f.Action != "stop" && f.Action != "kill-balancer" {
			add("for", "applies to kill, stop and kill-balancer only (they start the part again after it)")
		}
		if f.Pause != 0 && f.Action != "rolling-restart" && f.Action != "switch-balancer" {
			add("pause", "applies to rolling-restart and switch-balancer only")
		}
		if f.Persist && f.Action != "restart-store" {
			add("persist", "applies to restart-store only")
		}
		if f.To != nil && f.Action != "switch-balancer" {
			add("to", "applies to switch-balancer only")
		}
		count := f.Count
		if count != 0 && f.Action != "scale-out" && f.Action != "scale-in" {
			add("count", "applies to scale-out and scale-in only")
		}
		if count == 0 {
			count = 1
		}
		switch {
		case count < 0:
			add("count", "%d is out of range (allowed 1 and up)", f.Count)
		case f.Action == "scale-out" && made+count > maxReplicas:
			add("count", "scale-out to %d replicas made in all is more than %d", made+count, maxReplicas)
		case f.Action == "scale-out":
			replicas, made = replicas+count, made+count
		case f.Action == "scale-in" && replicas-count < 1:
			add("count", "scale-in of %d from %d replicas would leave none (at least 1 stays)", count, replicas)
		case f.Action == "scale-in":
			replicas -= count
		}
	}
	if n := len(s.SwitchTargets()); n > maxSwitchTargets {
		errs = append(errs, keyErr("faults", "the switches move to %d balancers besides the first (allowed at most %d)", n, maxSwitchTargets))
	}
	return errs
}

// SwitchTargets are the balancers the scenario's switches move to besides the one it starts with, each once, in
// the order first named: a switch back to an earlier one (a rollback) starts nothing new.
func (s *Scenario) SwitchTargets() []Balancer {
	var out []Balancer
	for _, f := range s.Faults {
		if f.Action != "switch-balancer" || f.To == nil {
			continue
		}
		to := s.SwitchTarget(f)
		if !reflect.DeepEqual(to, s.Balancer) && !slices.ContainsFunc(out, func(b Balancer) bool { return reflect.DeepEqual(b, to) }) {
			out = append(out, to)
		}
	}
	return out
}

// maxSwitchTargets bounds how many balancers other than the first a scenario's switches start.
const maxSwitchTargets = 3

// validateSwitch checks the balancer a switch-balancer fault moves to, as the balancer section is checked, under
// the fault's key.
func (s *Scenario) validateSwitch(key string, f Fault) []error {
	if f.To == nil {
		return []error{keyErr(key+".to", "is required for switch-balancer: the balancer to move to, e.g. {kind: traefik, strategy: cookie-insert}")}
	}
	var errs []error
	add := func(sub, format string, args ...any) { errs = append(errs, keyErr(key+".to."+sub, format, args...)) }
	to := f.To
	switch {
	case to.Kind == "":
		add("kind", "is required (allowed: %s)", strings.Join(balancer.Kinds, ", "))
	case to.Instances != 0 && to.Instances != s.Balancer.Instances:
		add("instances", "%d: a switch keeps the tier's size (balancer.instances: %d)", to.Instances, s.Balancer.Instances)
	case to.Front != "" || to.Peers || to.Stagger != 0:
		add("front", "front, peers and stagger are the tier's: set them in the balancer section")
	case to.Config != "":
		add("config", "a template for the balancer switched to is not supported: it runs its built-in config")
	}
	if len(errs) > 0 {
		return errs
	}
	sub := Scenario{Name: s.Name, App: s.App, Balancer: s.SwitchTarget(f), Target: s.Target}
	var raw []error
	for _, c := range []struct {
		choice
		v string
	}{{kindChoice, sub.Balancer.Kind}, {strategyChoice, sub.Balancer.Strategy}} {
		if err := c.check(c.v); err != nil {
			raw = append(raw, err)
		}
	}
	for _, err := range append(raw, sub.validateBalancer()...) {
		if ke, ok := err.(*KeyError); ok {
			err = &KeyError{Key: key + ".to." + strings.TrimPrefix(ke.Key, "balancer."), Msg: ke.Msg}
		}
		errs = append(errs, err)
	}
	return errs
}

// SwitchTarget is the balancer switch-balancer fault f moves to, with the defaults a balancer section has and the
// scenario's count of instances.
func (s *Scenario) SwitchTarget(f Fault) Balancer {
	if f.To == nil {
		return s.Balancer
	}
	to := *f.To
	to.Strategy = or(to.Strategy, "round-robin")
	to.Workers = max(to.Workers, 1)
	to.Instances = s.Balancer.Instances
	to.Front, to.Peers, to.Stagger = s.Balancer.Front, s.Balancer.Peers, s.Balancer.Stagger
	return to
}

func isInstanceTarget(name string, instances int) bool {
	return isNumbered(name, instances, vocab.InstanceTarget)
}

func isReplicaName(name string, replicas int) bool {
	return isNumbered(name, replicas, vocab.ReplicaName)
}

// isNumbered reports whether name is nameOf(i) for some i in 1..n.
func isNumbered(name string, n int, nameOf func(int) string) bool {
	for i := 1; i <= n; i++ {
		if name == nameOf(i) {
			return true
		}
	}
	return false
}

// validateTarget checks the target section, and what a live target rules out: faults (nothing is started to
// fault), your own app (the target is the app), and the identity that only a balancer on this machine can read.
// The identities that only a live target can read (x-forwarded-for, none) are the harness's to refuse when it starts
// a balancer itself: the same file drives a staging deployment or a Kubernetes Job.
func (s *Scenario) validateTarget() []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, keyErr(key, format, args...)) }
	tg := s.Target
	if tg.URL == "" {
		if tg.ReplicaHeader != "" || tg.AffinityCookie != "" {
			add("target", "replica_header and affinity_cookie apply to a live target only: set target.url (or run with --target URL)")
		}
		return errs
	}
	if _, _, err := clients.ParseTarget(tg.URL); err != nil {
		add("target.url", "%v", err)
	}
	if tg.ReplicaHeader != "" && tg.AffinityCookie != "" {
		add("target.affinity_cookie", "give replica_header or affinity_cookie, not both: each is a way of naming the replica that answered")
	}
	if len(s.Faults) > 0 {
		add("faults", "a live target starts nothing the harness could fault (kill, stop, scale, reload): remove faults, or run without a target")
	}
	if s.App.Own() {
		add("app", "a live target is the app: app.command and app.image apply to a topology the harness starts")
	}
	if s.Clients.Identity == vocab.IdentityBind {
		add("clients.identity", "bind connects from loopback addresses, which a live target does not see as users' (allowed with a target: proxy-protocol, x-forwarded-for, none)")
	}
	return errs
}
