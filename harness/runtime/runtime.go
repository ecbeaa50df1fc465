// Package runtime owns what every runtime shares: the Runtime interface, the Deployment a runtime returns (its
// parts, replicas, store and balancer, the actions faults take on them, reading the app's side back, and stopping
// it all), readiness probes, the run's working directory, and the sweep of what a killed run left behind. The
// runtimes themselves are its sub-packages: local (OS processes) and docker (containers).
package runtime

import (
	"context"

	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/plan"
)

// Runtime starts a topology for real.
type Runtime interface {
	Name() string
	// Start brings every part up and waits until each is ready. On error it still returns the partial deployment
	// (or nil), which the caller must Close.
	Start(ctx context.Context, t plan.Topology) (*Deployment, error)
}

// Checker is a Runtime that can tell, without starting anything, why it cannot start t on this machine: a
// missing binary, no Docker engine, a missing image. Test helpers skip on it.
type Checker interface {
	Check(ctx context.Context, t plan.Topology) error
}

// Backend is the runtime's side of a started deployment: what only the runtime knows how to do.
type Backend interface {
	// StartReplica starts one more replica and records it (scale-out).
	StartReplica(ctx context.Context, r plan.ReplicaSpec) error
	// FillConfig adds where the balancer listens and writes to its config.
	FillConfig(c *balancer.Config)
	// HostAddr is where the harness reaches a part's HTTP port: a replica, the identity provider.
	HostAddr(ctx context.Context, name string) (string, error)
}

// Endpoint is a replica's address.
type Endpoint struct {
	Name  string // replica-2
	Index int    // 2
	Addr  string // host:port, as the balancer reaches it
}
