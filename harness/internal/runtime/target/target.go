// Package target is the runtime of a live deployment: it starts nothing. The users drive the scenario's target URL
// (a staging deployment, an ingress) as they would a balancer the harness started; there are no parts, so no
// faults, and nothing of the app's side is read back.
package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// Name is the runtime's name in reports.
const Name = "target"

// Target is the runtime; the zero value is ready to use.
type Target struct {
	// DialTimeout bounds the check that the target answers at all; default 5s.
	DialTimeout time.Duration
}

var (
	_ runtime.Runtime = Target{}
	_ runtime.Checker = Target{}
)

// New returns the target runtime.
func New() Target { return Target{} }

func (Target) Name() string { return Name }

// Check says why t cannot be driven: it names no target.
func (Target) Check(_ context.Context, t plan.Topology) error {
	if t.Target == nil {
		return errors.New("the target runtime drives a live URL: the scenario has no target.url (sessionlab run --target URL)")
	}
	return nil
}

// Start starts nothing: it checks that the target accepts a connection and records it as the deployment's endpoint.
func (rt Target) Start(ctx context.Context, d runtime.Recorder) error {
	t := d.Topology()
	if err := rt.Check(ctx, t); err != nil {
		return err
	}
	_, dialAddr, err := clients.ParseTarget(t.Target.URL)
	if err != nil {
		return err
	}
	timeout := rt.DialTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", dialAddr)
	if err != nil {
		return fmt.Errorf("target %s does not answer: %w", t.Target.URL, err)
	}
	conn.Close()
	d.SetBackend(nothing{})
	d.SetEndpoint(t.Target.URL)
	return nil
}

// nothing is the backend of a deployment with no parts.
type nothing struct{}

var errNoParts = errors.New("a live target has no parts the harness started")

func (nothing) StartReplica(context.Context, plan.ReplicaSpec) error { return errNoParts }
func (nothing) FillConfig(int, int, *balancer.Config)                {}
func (nothing) InstanceAddr(int, int) string                         { return "" }
func (nothing) FrontListen() string                                  { return "" }
func (nothing) HostAddr(context.Context, string) (string, error)     { return "", errNoParts }
