package plan

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
)

// Compile validates s — loaded from a file or built in Go, alike — and turns it into the plan of one run: the
// topology with every default filled in, balancer.config read and checked, the user's app parsed, the faults
// resolved, each expect key checked against the figures of the report the run will have, the users drawn from the
// seed and their journey compiled. Nothing is started. Errors name the key and, for a loaded file, its line or
// --set.
func Compile(s *scenario.Scenario) (*Plan, error) {
	errs := append(s.Validate(), checkExpect(s)...)
	if len(errs) > 0 {
		return nil, s.Located(errs...)
	}
	t := topology(s)
	t.Own = ownApp(s)
	if s.Target.URL != "" {
		t.Target = &TargetSpec{URL: s.Target.URL, Attribution: attribution(s)}
	}
	if s.Balancer.Config != "" {
		tmpl, err := balancerTemplate(s, t)
		if err != nil {
			return nil, s.Located(err)
		}
		t.Balancer.Template = tmpl
	}
	users, err := clients.Population(s.Seed, crowd(s.Clients))
	if err != nil {
		return nil, fmt.Errorf("%s: clients: %w", s.File(), err)
	}
	j, err := journey(s)
	if err != nil {
		return nil, s.Located(err)
	}
	t.Concurrency = min(s.Clients.Concurrency, s.Clients.Users)
	t.ClientConns = connectionsAtOnce(s.Clients)
	return &Plan{
		Topology: t, Faults: faults(s), Users: users, Journey: j, Concurrency: s.Clients.Concurrency,
		Meta: meta(s), Expect: s.Expect,
	}, nil
}

// checkExpect checks each bound parses and each key names a figure a report of this scenario will have.
func checkExpect(s *scenario.Scenario) []error {
	var errs []error
	skeleton := reports.NewAccumulator(meta(s)).Report()
	skeleton.Store = &reports.Store{} // Run always reads the app's side
	if s.Clients.WebSocket.Connections > 0 {
		skeleton.WebSocket = &reports.WebSocket{}
	}
	for key, want := range s.Expect {
		if err := reports.ParseBound(want); err != nil {
			errs = append(errs, keyErr("expect."+key, "%v", err))
		}
		if _, found := skeleton.Lookup(key); !found {
			errs = append(errs, keyErr("expect."+key, "%q is not a figure of the report (a totals field such as login_failure_rate, or a dotted path such as skew.max_over_mean)", key))
		}
	}
	return errs
}

func keyErr(key, format string, args ...any) error {
	return &scenario.KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// topology is the topology the scenario asks for, without what Compile reads or parses.
func topology(s *scenario.Scenario) Topology {
	t := Topology{
		Name: s.Name, Seed: s.Seed, Users: s.Clients.Users,
		App: AppSpec{Sessions: s.App.Sessions, Login: s.App.Login, SessionTTL: time.Duration(s.App.SessionTTL),
			IdleTimeout: time.Duration(s.App.IdleTimeout), ClearBadCookie: s.App.ClearBadCookie},
		CookiePerReplica: s.App.CookieName == "per-replica", SecretPerReplica: s.App.Secret == "per-replica",
		SessionCookie: s.App.SessionCookie, Identity: s.Clients.Identity,
		Balancer: balancerSpec(s.Balancer),
	}
	for _, to := range s.SwitchTargets() {
		t.Switches = append(t.Switches, balancerSpec(to))
	}
	if t.Fronted() {
		t.Balancer.Front = or(s.Balancer.Front, balancer.SpreadConnection)
	}
	if s.App.Own() {
		t.App.IdP = s.App.IdP
	}
	if t.App.NeedsIdP() {
		t.App.IdPKey = DerivedSecret(s.Seed, PartIdP)
	}
	for i := range s.App.Replicas {
		t.Replicas = append(t.Replicas, t.Replica(i+1))
	}
	return t
}

// balancerTemplate reads and parses balancer.config (relative to the scenario file; one given with --set to the
// working directory), and fills it once with a sample of t, so that a template that cannot be filled is refused
// before anything starts. Errors name the template's file and line.
func balancerTemplate(s *scenario.Scenario, t Topology) (*template.Template, error) {
	path := s.Path("balancer.config", s.Balancer.Config)
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, keyErr("balancer.config", "%v", err)
	}
	var ups []balancer.Upstream
	for i, r := range t.Replicas {
		ups = append(ups, balancer.NewUpstream(r.Name, r.Index, "127.0.0.1:"+strconv.Itoa(18080+i)))
	}
	sample := t.BalancerConfig(0, 1, 1, ups)
	sample.Listen, sample.Dir, sample.ErrorLog, sample.AccessLog, sample.TrustProxy = "127.0.0.1:18000", "/tmp", "/tmp/error.log", "/tmp/access.log", []string{"127.0.0.1"}
	tmpl, err := balancer.ParseTemplate(path, string(text), sample)
	if err != nil {
		return nil, keyErr("balancer.config", "%v", err)
	}
	return tmpl, nil
}

// faults resolves each fault's target to a part name and parses its trigger (both validated).
func faults(s *scenario.Scenario) []Fault {
	out := make([]Fault, len(s.Faults))
	for i, f := range s.Faults {
		trig, _ := vocab.ParseTrigger(f.At)
		out[i] = Fault{Index: i, Action: f.Action, Target: faultTarget(s, f), At: f.At, Trigger: trig,
			For: time.Duration(f.For), Pause: time.Duration(f.Pause), Count: max(f.Count, 1), Persist: f.Persist,
			Set: switchSet(s, f)}
		if out[i].Pause == 0 {
			out[i].Pause = time.Second
		}
	}
	return out
}

// switchSet is the balancer set a switch-balancer fault moves the users to: 0 for the scenario's own (a switch
// back), else its place among the scenario's SwitchTargets, from 1.
func switchSet(s *scenario.Scenario, f scenario.Fault) int {
	if f.Action != vocab.ActionSwitchBalancer {
		return 0
	}
	to := s.SwitchTarget(f)
	return 1 + slices.IndexFunc(s.SwitchTargets(), func(b scenario.Balancer) bool { return reflect.DeepEqual(b, to) })
}

// faultTarget is the part a fault acts on, as the deployment names it: "balancer" becomes the balancer's kind, and
// the actions on all replicas have none.
func faultTarget(s *scenario.Scenario, f scenario.Fault) string {
	switch f.Action {
	case vocab.ActionReloadBalancer:
		return s.Balancer.Kind
	case vocab.ActionRestartStore:
		return PartStore
	case vocab.ActionRollingRestart, vocab.ActionScaleOut, vocab.ActionScaleIn:
		return ""
	}
	if f.Target == vocab.TargetBalancer {
		return s.Balancer.Kind
	}
	if f.Action == vocab.ActionKillBalancer {
		for i := 1; i <= s.Balancer.Instances; i++ {
			if f.Target == vocab.InstanceTarget(i) && s.Balancer.Instances > 1 {
				return s.Balancer.Kind + "-" + strconv.Itoa(i)
			}
		}
		return s.Balancer.Kind
	}
	return f.Target
}

// replicasMade is how many replicas the scenario starts in all, counting those its scale-outs add.
func replicasMade(s *scenario.Scenario) int {
	n := s.App.Replicas
	for _, f := range s.Faults {
		if f.Action == vocab.ActionScaleOut {
			n += max(f.Count, 1)
		}
	}
	return n
}

// attribution is how a live target's answers name their replica.
func attribution(s *scenario.Scenario) clients.Attribution {
	return clients.Attribution{Header: s.Target.ReplicaHeader, Cookie: s.Target.AffinityCookie,
		None: s.Target.ReplicaHeader == "" && s.Target.AffinityCookie == ""}
}

// meta is what the report and the event log's header say of the run (the runtime is Run's to fill in). A live
// target's replicas are not known before its answers name them.
func meta(s *scenario.Scenario) events.Meta {
	var names []string
	if s.Target.URL == "" {
		names = make([]string, max(replicasMade(s), 0))
		for i := range names {
			names[i] = ReplicaName(i + 1)
		}
	}
	plans := make([]events.FaultPlan, len(s.Faults))
	for i, f := range s.Faults {
		plans[i] = events.FaultPlan{Action: f.Action, Target: faultTarget(s, f), At: f.At, Persist: f.Persist}
		if f.Action == vocab.ActionSwitchBalancer && f.To != nil {
			to := s.SwitchTarget(f)
			plans[i].To = &events.Balancer{Kind: to.Kind, Strategy: to.Strategy}
		}
	}
	b := events.Balancer{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Config: s.Balancer.Config}
	if t := topology(s); t.Fronted() {
		b.Instances, b.Front, b.Peers = t.AllInstanceNames(), t.Balancer.Front, t.Balancer.Peers
		b.StaggerMs = t.Balancer.Stagger.Milliseconds()
		if t.Balancer.CookieSecretPerInstance {
			b.CookieSecret = "per-instance"
		}
	}
	if s.Target.URL != "" {
		// Nothing of the scenario's balancer section ran: whatever serves the target balanced it, unseen.
		b = events.Balancer{Kind: "unknown", Strategy: "unknown"}
	}
	return events.Meta{
		Scenario: s.Name, Seed: s.Seed,
		Balancer: b,
		App: events.App{Sessions: s.App.Sessions, Login: s.App.Login, Secret: s.App.Secret, CookieName: s.App.CookieName,
			Own: s.App.Own() || s.Target.URL != ""},
		Replicas: names, Users: s.Clients.Users, Faults: plans, Target: s.Target.URL, Attribution: attributionText(s),
	}
}

// attributionText says in the log's header how answers were attributed to replicas, when not by the balancer the
// harness started: "header X", "cookie Y", or "none".
func attributionText(s *scenario.Scenario) string {
	a := attribution(s)
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

// balancerSpec is a balancer section (the scenario's, or one a switch moves to) with every default filled in.
func balancerSpec(b scenario.Balancer) BalancerSpec {
	spec := BalancerSpec{Kind: b.Kind, Strategy: b.Strategy, Workers: max(b.Workers, 1), Settings: settings(b)}
	if b.Instances > 1 {
		spec.Instances, spec.Front, spec.Peers = b.Instances, or(b.Front, balancer.SpreadConnection), b.Peers
		spec.Stagger, spec.CookieSecretPerInstance = time.Duration(b.Stagger), b.CookieSecret == "per-instance"
	}
	return spec
}

// settings fills a balancer section's settings with their defaults.
func settings(b scenario.Balancer) balancer.Settings {
	st := balancer.Settings{
		HashType: or(b.HashType, "map-based"), CookieName: or(b.Cookie.Name, defaultCookie(b.Kind)),
		CookieMaxAge: int(time.Duration(b.Cookie.MaxAge) / time.Second), ChangeOnFailure: b.Cookie.ChangeOnFailure,
		MaxFails: 1, FailTimeout: seconds(b.FailTimeout, 10*time.Second), NextUpstream: "error timeout",
		Redispatch: b.Redispatch, Retries: 3,
		StickTable: or(b.StickTable, "ipv6"), StickExpire: seconds(b.StickExpire, 30*time.Minute),
	}
	if b.MaxFails != nil {
		st.MaxFails, st.MaxFailsSet = *b.MaxFails, true
	}
	if b.IdleTimeout != 0 {
		st.IdleTimeout = strconv.FormatInt(time.Duration(b.IdleTimeout).Milliseconds(), 10) + "ms"
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
func seconds(d scenario.Duration, def time.Duration) string {
	v := time.Duration(d)
	if v == 0 {
		v = def
	}
	return strconv.FormatInt(int64((v+time.Second-1)/time.Second), 10) + "s"
}
