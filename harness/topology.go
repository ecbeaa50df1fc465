package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// Topology is what a runtime starts: the replicas, how each is configured, and the balancer in front.
type Topology struct {
	Name     string // the scenario's name, used in directory names and labels
	Users    int    // accounts the app must accept (user1..userN)
	Sessions string // where replicas keep sessions
	Replicas []ReplicaSpec
	Balancer BalancerSpec
}

// ReplicaSpec is one replica's configuration.
type ReplicaSpec struct {
	Name       string // replica-1, replica-2, …
	CookieName string // the session cookie's name on this replica
}

// BalancerSpec is the balancer's configuration.
type BalancerSpec struct {
	Kind     string
	Strategy string
	Workers  int // nginx worker processes
}

// Topology derives the topology the scenario asks for.
func (s *Scenario) Topology() Topology {
	t := Topology{
		Name: s.Name, Users: s.Clients.Users, Sessions: s.App.Sessions,
		Balancer: BalancerSpec{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Workers: 1},
	}
	for i := range s.App.Replicas {
		r := ReplicaSpec{Name: "replica-" + strconv.Itoa(i+1), CookieName: "sid"}
		if s.App.CookieName == "per-replica" {
			r.CookieName = "sid-" + r.Name
		}
		t.Replicas = append(t.Replicas, r)
	}
	return t
}

// ReplicaNames lists the replicas in order.
func (t Topology) ReplicaNames() []string {
	names := make([]string, len(t.Replicas))
	for i, r := range t.Replicas {
		names[i] = r.Name
	}
	return names
}

// Runtime starts a topology for real.
type Runtime interface {
	Name() string
	// Start brings every part up and waits until each is ready. On error it still returns the partial deployment,
	// which the caller must Close.
	Start(ctx context.Context, t Topology) (*Deployment, error)
}

// Deployment is a started topology.
type Deployment struct {
	Runtime  string
	Endpoint string     // host:port the clients connect to (the balancer)
	Replicas []Endpoint // where each replica listens
	Dir      string     // the run's working directory: rendered configs and logs

	parts    []Part // what the runtime started, in start order
	mu       sync.Mutex
	closers  []closer
	closed   bool
	closeErr error
}

// Endpoint is a named address.
type Endpoint struct {
	Name string
	Addr string
}

type closer struct {
	name string
	fn   func(context.Context) error
}

// onClose registers fn to run at Close, after every fn registered later (last started, first stopped).
func (d *Deployment) onClose(name string, fn func(context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, closer{name, fn})
}

// Close stops everything the deployment started, in reverse order. It is safe on a nil or partial deployment and
// idempotent; every part is stopped even when another fails to, and the errors are joined.
func (d *Deployment) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.closeErr
	}
	d.closed = true
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		c := d.closers[i]
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
	}
	d.closeErr = errors.Join(errs...)
	return d.closeErr
}
