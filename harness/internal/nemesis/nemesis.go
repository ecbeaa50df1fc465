// Package nemesis runs a plan's faults against a started deployment while the users run (Jepsen's nemesis): each
// fault once its trigger has passed — a time since the users started, or a count of answered requests — and the
// one before it has finished, since they change the same deployment. It marks each fault's start and end in the
// event stream, where the checker splits the run into phases.
package nemesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"
	"github.com/sessionlab/sessionlab/internal/pause"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// Nemesis runs faults. It is also a sink of the users' exchanges, which it counts for request triggers.
type Nemesis struct {
	d        *runtime.Deployment
	faults   []plan.Fault
	marks    func(events.Event)
	clock    func() time.Duration
	log      *slog.Logger
	answered atomic.Int64
	done     chan struct{}
	errs     []error
}

// New is the nemesis of faults on d. It writes its marks to marks, timed by clock (the users' clock).
func New(d *runtime.Deployment, faults []plan.Fault, marks func(events.Event), clock func() time.Duration, log *slog.Logger) *Nemesis {
	return &Nemesis{d: d, faults: faults, marks: marks, clock: clock, log: log, done: make(chan struct{})}
}

// Record counts an answered request.
func (n *Nemesis) Record(events.Event) { n.answered.Add(1) }

// Start runs the faults in the background. Triggers and waits end with users (when the users are done, faults not
// reached yet never run); the actions themselves run under ctx, so a started action finishes.
func (n *Nemesis) Start(ctx, users context.Context) {
	go func() {
		defer close(n.done)
		for _, f := range n.faults {
			if !n.await(users, f.Trigger) {
				n.log.Warn("fault not reached: the users finished first", "fault", f.Index+1, "action", f.Action, "at", f.At)
				continue
			}
			n.run(ctx, users, f)
		}
	}()
}

// Wait returns when every fault has finished or given up, with the errors of those that failed.
func (n *Nemesis) Wait() error {
	<-n.done
	return errors.Join(n.errs...)
}

func (n *Nemesis) run(ctx, users context.Context, f plan.Fault) {
	n.log.Info("fault", "fault", f.Index+1, "action", f.Action, "target", f.Target, "t", n.clock().Round(time.Millisecond))
	n.mark(f, events.FaultStart, nil)
	err := n.apply(ctx, users, f)
	n.mark(f, events.FaultEnd, err)
	if err != nil {
		err = fmt.Errorf("fault %d (%s %s at %s): %w", f.Index+1, f.Action, f.Target, f.At, err)
		n.log.Error("fault failed", "err", err)
		n.errs = append(n.errs, err)
	}
}

// await blocks until the trigger fires (true) or the users are done (false).
func (n *Nemesis) await(users context.Context, trig vocab.Trigger) bool {
	if trig.Requests == 0 {
		return pause.Sleep(users, trig.After-n.clock())
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.answered.Load() < trig.Requests {
		select {
		case <-users.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func (n *Nemesis) mark(f plan.Fault, phase string, err error) {
	m := &events.FaultMark{Index: f.Index, Action: f.Action, Target: f.Target, Phase: phase}
	if err != nil {
		m.Error = err.Error()
	}
	n.marks(events.Event{TMs: n.clock().Milliseconds(), User: -1, Step: events.StepFault, Fault: m})
}

// withdraws reports whether killing target also takes it out of the balancer's config: a replica, in a tier whose
// instances see changes at different times (balancer.stagger), as Kubernetes takes a dead pod out of the
// endpoints and each ingress pod picks that up in its own time.
func (n *Nemesis) withdraws(target string) bool {
	t := n.d.Topology()
	return t.Balancer.Tier() && t.Balancer.Stagger > 0 && slices.ContainsFunc(n.d.Replicas(), func(e runtime.Endpoint) bool { return e.Name == target })
}

// killWithdrawn kills a replica and withdraws it from each instance in turn; after f.For it starts it again and
// each instance, in turn, sends to it again.
func (n *Nemesis) killWithdrawn(ctx, users context.Context, p runtime.Part, f plan.Fault) error {
	if err := p.Kill(ctx); err != nil {
		return err
	}
	if err := n.d.Withdraw(ctx, f.Target); err != nil {
		return err
	}
	if f.For == 0 || !pause.Sleep(users, f.For) {
		return nil
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	return n.d.Restore(ctx, f.Target)
}

// apply performs one fault. Waits inside it (a kill's duration, a rolling restart's pause) end early with users.
func (n *Nemesis) apply(ctx, users context.Context, f plan.Fault) error {
	d := n.d
	switch f.Action {
	case vocab.ActionKill, vocab.ActionStop, vocab.ActionStart, vocab.ActionRestart, vocab.ActionKillBalancer:
		p, err := d.Part(f.Target)
		if err != nil {
			return err
		}
		if f.Action == vocab.ActionKill && n.withdraws(f.Target) {
			return n.killWithdrawn(ctx, users, p, f)
		}
		switch f.Action {
		case vocab.ActionKill, vocab.ActionKillBalancer:
			err = p.Kill(ctx)
		case vocab.ActionStop:
			err = p.Stop(ctx)
		case vocab.ActionStart:
			err = p.Start(ctx)
		case vocab.ActionRestart:
			if err = p.Stop(ctx); err == nil {
				err = p.Start(ctx)
			}
		}
		if err != nil || f.For == 0 || !pause.Sleep(users, f.For) {
			return err
		}
		return p.Start(ctx)
	case vocab.ActionRollingRestart:
		for i, r := range d.Replicas() {
			if i > 0 && !pause.Sleep(users, f.Pause) {
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
	case vocab.ActionScaleOut:
		return d.ScaleOut(ctx, f.Count)
	case vocab.ActionScaleIn:
		return d.ScaleIn(ctx, f.Count)
	case vocab.ActionReloadBalancer:
		return d.ReloadBalancer(ctx)
	case vocab.ActionSwitchBalancer:
		return d.Switch(ctx, f.Set, f.Pause)
	case vocab.ActionRestartStore:
		return d.RestartStore(ctx, f.Persist)
	}
	return fmt.Errorf("unknown action %q", f.Action)
}
