package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// Compile validates s — loaded from a file or built in Go, alike — and turns it into the plan of one run: the
// topology with every default filled in, balancer.config read and checked, the user's app parsed, the faults
// resolved, the users drawn from the seed and their journey compiled. Nothing is started. Errors name the key and,
// for a loaded file, its line or --set.
func Compile(s *Scenario) (*plan.Plan, error) {
	c, errs := s.check()
	if len(errs) > 0 {
		return nil, s.located(errs)
	}
	t := s.topology()
	t.Own = c.own
	if s.Target.URL != "" {
		t.Target = &plan.TargetSpec{URL: s.Target.URL, Attribution: s.attribution()}
	}
	if t.Own != nil {
		t.Own.BaseDir = s.dir()
	}
	if s.Balancer.Config != "" {
		tmpl, err := s.balancerTemplate(t)
		if err != nil {
			return nil, s.located([]error{err})
		}
		t.Balancer.Template = tmpl
	}
	users, err := clients.Population(s.Seed, s.Clients)
	if err != nil {
		return nil, fmt.Errorf("%s: clients: %w", s.file(), err)
	}
	journey := c.journey
	journey.WebSocket, journey.Think = s.Clients.WebSocket, s.Clients.Think
	journey.KeepAlive = time.Duration(s.Clients.KeepAlive)
	t.Concurrency = min(s.Clients.Concurrency, s.Clients.Users)
	t.ClientConns = s.Clients.ConnectionsAtOnce()
	return &plan.Plan{
		Topology: t, Faults: s.faults(), Users: users, Journey: journey, Concurrency: s.Clients.Concurrency,
		Meta: s.meta(), Expect: s.Expect,
	}, nil
}

// located prefixes each error with where its key was written, when s came from a file, and joins them.
func (s *Scenario) located(errs []error) error {
	if s.where == nil {
		return errors.Join(errs...)
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = s.where.locate(e)
	}
	return errors.Join(out...)
}

// file names the scenario in messages: its file, or its name when it was built in Go.
func (s *Scenario) file() string {
	if s.where != nil {
		return s.where.file
	}
	return "scenario " + s.Name
}

// dir is where relative paths in the scenario start: the file's directory, or the working directory.
func (s *Scenario) dir() string {
	if s.where != nil {
		return filepath.Dir(s.where.file)
	}
	return "."
}

// topology is the topology the scenario asks for, without what Compile reads or parses.
func (s *Scenario) topology() plan.Topology {
	t := plan.Topology{
		Name: s.Name, Seed: s.Seed, Users: s.Clients.Users,
		App: plan.AppSpec{Sessions: s.App.Sessions, Login: s.App.Login, SessionTTL: time.Duration(s.App.SessionTTL),
			IdleTimeout: time.Duration(s.App.IdleTimeout), ClearBadCookie: s.App.ClearBadCookie},
		CookiePerReplica: s.App.CookieName == "per-replica", SecretPerReplica: s.App.Secret == "per-replica",
		SessionCookie: s.App.SessionCookie, Identity: s.Clients.Identity,
		Balancer: plan.BalancerSpec{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Workers: max(s.Balancer.Workers, 1),
			Settings: s.Balancer.settings()},
	}
	if s.App.Own() {
		t.App.IdP = s.App.IdP
	}
	if t.App.NeedsIdP() {
		t.App.IdPKey = plan.DerivedSecret(s.Seed, plan.PartIdP)
	}
	for i := range s.App.Replicas {
		t.Replicas = append(t.Replicas, t.Replica(i+1))
	}
	return t
}

// appCookies are the session cookie names the replicas use, which the balancer's own cookie must not take.
func (s *Scenario) appCookies() []string {
	t := s.topology()
	names := make([]string, len(t.Replicas))
	for i, r := range t.Replicas {
		names[i] = r.CookieName
	}
	return names
}

// balancerTemplate reads and parses balancer.config (relative to the scenario file; one given with --set to the
// working directory), and fills it once with a sample of t, so that a template that cannot be filled is refused
// before anything starts. Errors name the template's file and line.
func (s *Scenario) balancerTemplate(t plan.Topology) (*template.Template, error) {
	path := s.Balancer.Config
	if !filepath.IsAbs(path) && s.where != nil && !s.where.isSet(s.where.keys["balancer.config"]) {
		path = filepath.Join(s.dir(), path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, keyErr("balancer.config", "%v", err)
	}
	var ups []balancer.Upstream
	for i, r := range t.Replicas {
		ups = append(ups, balancer.NewUpstream(r.Name, r.Index, "127.0.0.1:"+strconv.Itoa(18080+i)))
	}
	sample := t.BalancerConfig(1, ups)
	sample.Listen, sample.Dir, sample.ErrorLog, sample.AccessLog, sample.TrustProxy = "127.0.0.1:18000", "/tmp", "/tmp/error.log", "/tmp/access.log", []string{"127.0.0.1"}
	tmpl, err := balancer.ParseTemplate(path, string(text), sample)
	if err != nil {
		return nil, keyErr("balancer.config", "%v", err)
	}
	return tmpl, nil
}

// faults resolves each fault's target to a part name and parses its trigger (both validated).
func (s *Scenario) faults() []plan.Fault {
	out := make([]plan.Fault, len(s.Faults))
	for i, f := range s.Faults {
		trig, _ := plan.ParseTrigger(f.At)
		out[i] = plan.Fault{Index: i, Action: f.Action, Target: s.faultTarget(f), At: f.At, Trigger: trig,
			For: time.Duration(f.For), Pause: time.Duration(f.Pause), Count: max(f.Count, 1), Persist: f.Persist}
		if out[i].Pause == 0 {
			out[i].Pause = time.Second
		}
	}
	return out
}

// faultTarget is the part a fault acts on, as the deployment names it: "balancer" becomes the balancer's kind, and
// the actions on all replicas have none.
func (s *Scenario) faultTarget(f Fault) string {
	switch f.Action {
	case plan.ActionReloadBalancer:
		return s.Balancer.Kind
	case plan.ActionRestartStore:
		return plan.PartStore
	case plan.ActionRollingRestart, plan.ActionScaleOut, plan.ActionScaleIn:
		return ""
	}
	if f.Target == plan.TargetBalancer {
		return s.Balancer.Kind
	}
	return f.Target
}

// attribution is how a live target's answers name their replica.
func (s *Scenario) attribution() clients.Attribution {
	return clients.Attribution{Header: s.Target.ReplicaHeader, Cookie: s.Target.AffinityCookie,
		None: s.Target.ReplicaHeader == "" && s.Target.AffinityCookie == ""}
}

// meta is what the report and the event log's header say of the run (the runtime is Run's to fill in). A live
// target's replicas are not known before its answers name them.
func (s *Scenario) meta() events.Meta {
	var names []string
	if s.Target.URL == "" {
		names = make([]string, s.replicasMade())
		for i := range names {
			names[i] = plan.ReplicaName(i + 1)
		}
	}
	plans := make([]events.FaultPlan, len(s.Faults))
	for i, f := range s.Faults {
		plans[i] = events.FaultPlan{Action: f.Action, Target: s.faultTarget(f), At: f.At, Persist: f.Persist}
	}
	return events.Meta{
		Scenario: s.Name, Seed: s.Seed,
		Balancer: events.Balancer{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Config: s.Balancer.Config},
		App: events.App{Sessions: s.App.Sessions, Login: s.App.Login, Secret: s.App.Secret, CookieName: s.App.CookieName,
			Own: s.App.Own() || s.Target.URL != ""},
		Replicas: names, Users: s.Clients.Users, Faults: plans, Target: s.Target.URL, Attribution: s.attributionText(),
	}
}

// settings fills the scenario's balancer settings with their defaults.
func (b Balancer) settings() balancer.Settings {
	st := balancer.Settings{
		HashType: or(b.HashType, "map-based"), CookieName: or(b.Cookie.Name, defaultCookie(b.Kind)),
		CookieMaxAge: int(time.Duration(b.Cookie.MaxAge) / time.Second), ChangeOnFailure: b.Cookie.ChangeOnFailure,
		MaxFails: 1, FailTimeout: seconds(b.FailTimeout, 10*time.Second), NextUpstream: "error timeout",
		Redispatch: b.Redispatch, Retries: 3,
		StickTable: or(b.StickTable, "ipv6"), StickExpire: seconds(b.StickExpire, 30*time.Minute),
	}
	if b.MaxFails != nil {
		st.MaxFails = *b.MaxFails
	}
	if len(b.NextUpstream) > 0 {
		st.NextUpstream = strings.Join(b.NextUpstream, " ")
	}
	if b.Retries != nil {
		st.Retries = *b.Retries
	}
	if hc := b.HealthCheck; hc != nil {
		st.HealthCheck = true
		st.CheckPath = or(hc.Path, "/healthz")
		inter := time.Duration(hc.Interval)
		if inter == 0 {
			inter = 2 * time.Second
		}
		st.CheckInter = strconv.FormatInt(inter.Milliseconds(), 10) + "ms"
		st.CheckFall, st.CheckRise = orInt(hc.Fall, 3), orInt(hc.Rise, 2)
	}
	return st
}

func defaultCookie(kind string) string {
	if k, err := balancer.Lookup(kind); err == nil {
		return k.DefaultCookie
	}
	return "route"
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// seconds writes d (or def when d is 0) in whole seconds, a unit both nginx and HAProxy read.
func seconds(d Duration, def time.Duration) string {
	v := time.Duration(d)
	if v == 0 {
		v = def
	}
	return strconv.FormatInt(int64((v+time.Second-1)/time.Second), 10) + "s"
}

// attributionText says in the log's header how answers were attributed to replicas, when not by the balancer the
// harness started: "header X", "cookie Y", or "none".
func (s *Scenario) attributionText() string {
	a := s.attribution()
	switch {
	case s.Target.URL == "":
		return ""
	case a.Header != "":
		return "header " + a.Header
	case a.Cookie != "":
		return "cookie " + a.Cookie
	}
	return "none"
}
