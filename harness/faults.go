package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
)

// trigger is when a fault begins: after a time since the users started, or after a count of answered requests.
type trigger struct {
	after    time.Duration
	requests int64 // > 0: a request trigger
}

var requestTrigger = regexp.MustCompile(`^(\d+)\s*requests?$`)

func parseTrigger(s string) (trigger, error) {
	s = strings.TrimSpace(s)
	if m := requestTrigger.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && n > 0 {
			return trigger{requests: n}, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return trigger{after: d}, nil
	}
	return trigger{}, fmt.Errorf("%q is not a time or a request count (allowed: a duration since the users started, such as 2s or 1500ms, or a count such as \"1500 requests\")", s)
}

func (t trigger) String() string {
	if t.requests > 0 {
		return strconv.FormatInt(t.requests, 10) + " requests"
	}
	return t.after.String()
}

// The names a fault may give for the parts that are not replicas.
const (
	targetBalancer = "balancer"
	targetStore    = "store"
)

// validateFaults checks each fault's action, trigger, target and options, following the replica count through
// the scale-outs and scale-ins in the order they are listed.
func (s *Scenario) validateFaults() []error {
	var errs []error
	replicas, made := s.App.Replicas, s.App.Replicas
	for i, f := range s.Faults {
		key := fmt.Sprintf("faults[%d]", i)
		add := func(sub, format string, args ...any) { errs = append(errs, keyErr(key+"."+sub, format, args...)) }
		if !slices.Contains(FaultActions, f.Action) {
			add("action", "%q is not allowed (allowed: %s)", f.Action, strings.Join(FaultActions, ", "))
			continue
		}
		if f.At == "" {
			add("at", "is required (a duration since the users started, such as 2s, or a count such as \"1500 requests\")")
		} else if _, err := parseTrigger(f.At); err != nil {
			add("at", "%v", err)
		}
		switch f.Action {
		case "kill", "stop", "start", "restart":
			others := []string{targetBalancer}
			if s.App.Sessions == "redis" {
				others = append(others, targetStore)
			}
			if s.App.Login == "sso" {
				others = append(others, idpPartName)
			}
			allowed := fmt.Sprintf("replica-1..replica-%d, %s", made, strings.Join(others, ", "))
			if f.Target == "" {
				add("target", "is required for %s (allowed: %s)", f.Action, allowed)
			} else if !isReplicaName(f.Target, made) && !slices.Contains(others, f.Target) && f.Target != s.Balancer.Kind {
				add("target", "%q is not a part of this scenario (allowed: %s)", f.Target, allowed)
			}
		case "reload-balancer":
			if f.Target != "" && f.Target != targetBalancer && f.Target != s.Balancer.Kind {
				add("target", "%q: reload-balancer acts on the balancer (allowed: %s, or none)", f.Target, targetBalancer)
			}
		case "restart-store":
			if f.Target != "" && f.Target != targetStore {
				add("target", "%q: restart-store acts on the session store (allowed: %s, or none)", f.Target, targetStore)
			}
			if s.App.Sessions != "redis" {
				add("action", "restart-store restarts the shared session store, which needs app.sessions: redis (this scenario's sessions are %s)", s.App.Sessions)
			}
		default: // rolling-restart, scale-out, scale-in act on the replicas as a group
			if f.Target != "" {
				add("target", "%s acts on all replicas and takes no target (%q given)", f.Action, f.Target)
			}
		}
		if f.For != 0 && f.Action != "kill" && f.Action != "stop" {
			add("for", "applies to kill and stop only (they start the part again after it)")
		}
		if f.Pause != 0 && f.Action != "rolling-restart" {
			add("pause", "applies to rolling-restart only")
		}
		if f.Persist && f.Action != "restart-store" {
			add("persist", "applies to restart-store only")
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
		case f.Action == "scale-out" && made+count > MaxReplicas:
			add("count", "scale-out to %d replicas made in all is more than %d", made+count, MaxReplicas)
		case f.Action == "scale-out":
			replicas, made = replicas+count, made+count
		case f.Action == "scale-in" && replicas-count < 1:
			add("count", "scale-in of %d from %d replicas would leave none (at least 1 stays)", count, replicas)
		case f.Action == "scale-in":
			replicas -= count
		}
	}
	return errs
}

func isReplicaName(name string, replicas int) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "replica-"))
	return strings.HasPrefix(name, "replica-") && err == nil && n >= 1 && n <= replicas && "replica-"+strconv.Itoa(n) == name
}

// replicasMade is how many replicas the scenario starts in all, counting those its scale-outs add.
func (s *Scenario) replicasMade() int {
	n := s.App.Replicas
	for _, f := range s.Faults {
		if f.Action == "scale-out" {
			n += max(f.Count, 1)
		}
	}
	return n
}

// faultTarget is the part a fault names, as the deployment names it: "balancer" becomes the balancer's kind.
func (s *Scenario) faultTarget(f Fault) string {
	switch {
	case f.Target == targetBalancer || f.Action == "reload-balancer":
		return s.Balancer.Kind
	case f.Action == "restart-store":
		return targetStore
	}
	return f.Target
}

// faultPlans describe the faults for the report.
func (s *Scenario) faultPlans() []events.FaultPlan {
	plans := make([]events.FaultPlan, len(s.Faults))
	for i, f := range s.Faults {
		plans[i] = events.FaultPlan{Action: f.Action, Target: s.faultTarget(f), At: f.At, Persist: f.Persist}
	}
	return plans
}

// nemesis runs a scenario's faults against a deployment while the users run (Jepsen's nemesis). Faults run one
// after another in the order listed, each once its trigger has passed and the one before it has finished (its
// duration included), since they change the same deployment. Marks of each fault's start and end go into the
// event stream, where the checker splits the run into phases.
type nemesis struct {
	d        *Deployment
	scenario *Scenario
	marks    events.Sink
	clock    func() time.Duration
	log      *slog.Logger
	answered atomic.Int64
	done     chan struct{}
	errs     []error
}

func newNemesis(d *Deployment, s *Scenario, marks events.Sink, clock func() time.Duration, log *slog.Logger) *nemesis {
	return &nemesis{d: d, scenario: s, marks: marks, clock: clock, log: log, done: make(chan struct{})}
}

// Record counts an answered request; the nemesis sits beside the report as a sink of the users' exchanges.
func (n *nemesis) Record(events.Event) { n.answered.Add(1) }

// start runs the faults in the background. Triggers and waits end with users (when the users are done, faults not
// reached yet never run); the actions themselves run under ctx, so a started action finishes.
func (n *nemesis) start(ctx, users context.Context) {
	go func() {
		defer close(n.done)
		for i, f := range n.scenario.Faults {
			trig, _ := parseTrigger(f.At) // validated
			if !n.await(users, trig) {
				n.log.Warn("fault not reached: the users finished first", "fault", i+1, "action", f.Action, "at", f.At)
				continue
			}
			n.run(ctx, users, i, f)
		}
	}()
}

// wait returns when every fault has finished or given up, with the errors of those that failed.
func (n *nemesis) wait() error {
	<-n.done
	return errors.Join(n.errs...)
}

func (n *nemesis) run(ctx, users context.Context, i int, f Fault) {
	target := n.scenario.faultTarget(f)
	n.log.Info("fault", "fault", i+1, "action", f.Action, "target", target, "t", n.clock().Round(time.Millisecond))
	n.mark(i, f, target, events.FaultStart, nil)
	err := n.apply(ctx, users, f, target)
	n.mark(i, f, target, events.FaultEnd, err)
	if err != nil {
		err = fmt.Errorf("fault %d (%s %s at %s): %w", i+1, f.Action, target, f.At, err)
		n.log.Error("fault failed", "err", err)
		n.errs = append(n.errs, err)
	}
}

// await blocks until the trigger fires (true) or the users are done (false).
func (n *nemesis) await(users context.Context, trig trigger) bool {
	if trig.requests == 0 {
		return clients.Sleep(users, trig.after-n.clock())
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.answered.Load() < trig.requests {
		select {
		case <-users.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func (n *nemesis) mark(i int, f Fault, target, phase string, err error) {
	m := &events.FaultMark{Index: i, Action: f.Action, Target: target, Phase: phase}
	if err != nil {
		m.Error = err.Error()
	}
	if f.Action == "rolling-restart" || f.Action == "scale-out" || f.Action == "scale-in" {
		m.Target = ""
	}
	n.marks.Record(events.Event{TMs: n.clock().Milliseconds(), User: -1, Step: events.StepFault, Fault: m})
}

// apply performs one fault. Waits inside it (a kill's duration, a rolling restart's pause) end early with users.
func (n *nemesis) apply(ctx, users context.Context, f Fault, target string) error {
	d := n.d
	switch f.Action {
	case "kill", "stop", "start", "restart":
		p, err := d.Part(target)
		if err != nil {
			return err
		}
		switch f.Action {
		case "kill":
			err = p.Kill(ctx)
		case "stop":
			err = p.Stop(ctx)
		case "start":
			err = p.Start(ctx)
		case "restart":
			if err = p.Stop(ctx); err == nil {
				err = p.Start(ctx)
			}
		}
		if err != nil || f.For == 0 || !clients.Sleep(users, time.Duration(f.For)) {
			return err
		}
		return p.Start(ctx)
	case "rolling-restart":
		pause := time.Duration(f.Pause)
		if pause == 0 {
			pause = time.Second
		}
		for i, r := range d.activeReplicas() {
			if i > 0 && !clients.Sleep(users, pause) {
				return nil
			}
			p, err := d.Part(r.Name)
			if err != nil {
				return err
			}
			if err = p.Stop(ctx); err == nil {
				err = p.Start(ctx)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case "scale-out":
		for range max(f.Count, 1) {
			if err := d.addReplica(ctx, d.topology.replicaSpec(d.replicasMade()+1)); err != nil {
				return err
			}
		}
		return d.ReloadBalancer(ctx)
	case "scale-in":
		removed := d.removeReplicas(max(f.Count, 1))
		if err := d.ReloadBalancer(ctx); err != nil {
			return err
		}
		// Stopped only once the balancer no longer sends to them, as an orchestrator drains before it deletes.
		var errs []error
		for _, r := range removed {
			p, err := d.Part(r.Name)
			if err == nil {
				err = p.Stop(ctx)
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	case "reload-balancer":
		return d.ReloadBalancer(ctx)
	case "restart-store":
		return d.restartStore(ctx, f.Persist)
	}
	return fmt.Errorf("unknown action %q", f.Action)
}
