// Package runtime owns what every runtime shares: the Runtime interface, the Deployment a runtime returns (its
// parts, replicas, store and balancer, the actions faults take on them, reading the app's side back, and stopping
// it all), readiness probes, the run's working directory, and the sweep of what a killed run left behind. The
// runtimes themselves are its sub-packages: local (OS processes) and docker (containers).
package runtime

import (
	"context"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// Runtime starts a topology for real.
type Runtime interface {
	Name() string
	// Start brings up every part of d's topology, recording each in d (with its release) as it starts it, and
	// waits until each is ready. The caller made the deployment (New) and registered its Close before calling
	// Start, and closes it also when Start fails: a part started before the failure is stopped with the rest.
	Start(ctx context.Context, d Recorder) error
}

// Recorder is a Deployment as a runtime sees it: what the runtime records of the parts it starts (each with its
// release, registered before the part is used), and what it reads back. The harness holds the Deployment itself and
// acts on it: faults, the app's side, the balancer's record, Stop.
type Recorder interface {
	Topology() plan.Topology
	Kind() *balancer.Kind
	Dir() string
	SetDir(dir string)
	SetBackend(b Backend)
	AddPart(p Part, release func(context.Context) error)
	OnClose(name string, fn func(context.Context) error)
	Part(name string) (Part, error)
	SetReplica(e Endpoint)
	Replicas() []Endpoint
	SetStore(st StorePart, addr string)
	StoreAddr() string
	SetIdPURL(u string)
	IdPURL() string
	KindOf(set int) *balancer.Kind
	AddBalancer(set int, b BalancerPart)
	SetFront(p BalancerPart)
	SetEndpoint(endpoint string)
	SetAdminSocket(path string)
	RenderBalancer(set, instance int) (text []byte, gen int, err error)
	RenderFront() ([]byte, error)
	Logs(ctx context.Context, lines int) string
}

// Start makes the deployment of t on rt and starts it. On error it still returns the partial deployment, which the
// caller must Close; a caller that must register the Close before anything starts uses New and rt.Start itself.
func Start(ctx context.Context, rt Runtime, t plan.Topology) (*Deployment, error) {
	d, err := New(rt.Name(), t)
	if err != nil {
		return nil, err
	}
	return d, rt.Start(ctx, d)
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
	// FillConfig adds where instance number instance (from 1) of balancer set number set listens and writes to
	// its config, and where its peers listen.
	FillConfig(set, instance int, c *balancer.Config)
	// InstanceAddr is where the front reaches instance number instance of balancer set number set; FrontListen
	// where the front listens.
	InstanceAddr(set, instance int) string
	FrontListen() string
	// HostAddr is where the harness reaches a part's HTTP port: a replica, the identity provider.
	HostAddr(ctx context.Context, name string) (string, error)
}

// Endpoint is a replica's address.
type Endpoint struct {
	Name  string // replica-2
	Index int    // 2
	Addr  string // host:port, as the balancer reaches it
}
