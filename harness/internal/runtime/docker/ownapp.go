package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/internal/pause"
)

// Where the user's app finds its directories in a container: bind mounts of the run directory's "shared" (one for
// every replica) and of the replica's own data directory, made new for the run and removed with it.
const (
	containerSharedDir = "/sessionlab/shared"
	containerDataDir   = "/sessionlab/data"
)

// startOwnReplicas starts the user's image as the given replicas: side by side, or one after another, each ready
// before the stagger starts, when app.stagger is set.
func (r *dockerRun) startOwnReplicas(ctx context.Context, specs []plan.ReplicaSpec) error {
	own := r.d.Topology().Own
	if own.Stagger > 0 {
		for i, spec := range specs {
			if i > 0 && !pause.Sleep(ctx, own.Stagger) {
				return ctx.Err()
			}
			if err := r.startOwnReplica(ctx, spec); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(specs))
	eps := make([]*runtime.Endpoint, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() { eps[i], errs[i] = r.launchOwnReplica(ctx, spec) })
	}
	wg.Wait()
	// In the order of the specs, not of who was ready first: the balancer lists its servers in this order, and
	// ip-hash picks by position.
	for _, ep := range eps {
		if ep != nil {
			r.d.SetReplica(*ep)
		}
	}
	return errors.Join(errs...)
}

func (r *dockerRun) startOwnReplica(ctx context.Context, spec plan.ReplicaSpec) error {
	ep, err := r.launchOwnReplica(ctx, spec)
	if ep != nil {
		r.d.SetReplica(*ep)
	}
	return err
}

// launchOwnReplica starts one replica's container and waits until it is ready; the caller records its endpoint.
func (r *dockerRun) launchOwnReplica(ctx context.Context, spec plan.ReplicaSpec) (*runtime.Endpoint, error) {
	own := r.d.Topology().Own
	ip := r.replicaIP(spec.Index)
	port := strconv.Itoa(own.Image.Port)
	v, err := r.d.Topology().AppVars(spec, net.JoinHostPort("0.0.0.0", port), r.d.Dir(), r.d.StoreAddr(), r.d.IdPURL())
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	hostData, hostShared := v.DataDir, v.SharedDir
	v.DataDir, v.SharedDir = containerDataDir, containerSharedDir
	cmd, env, err := own.ContainerCommand(v)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	exposed := port + "/tcp"
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		network.WithNetwork([]string{spec.Name}, r.nw),
		withAddress(r.nw, ip),
		testcontainers.WithExposedPorts(exposed),
		testcontainers.WithLabels(r.labels),
		// Absolute host paths: a bare name would be a Docker named volume, shared by every run and never removed.
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Binds = append(hc.Binds, hostShared+":"+containerSharedDir, hostData+":"+containerDataDir)
		}),
		testcontainers.WithWaitStrategy(r.waitFor(exposed, own.Health.Timeout, httpPath(own.Health.Path))),
	}
	if len(cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(cmd...))
	}
	c, err := testcontainers.Run(ctx, own.Image.Name, opts...)
	if c != nil {
		p := &containerPart{name: spec.Name, c: c, cli: r.cli, port: exposed}
		r.d.AddPart(p, p.terminate)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	return &runtime.Endpoint{Name: spec.Name, Index: spec.Index, Addr: net.JoinHostPort(ip.String(), port)}, nil
}
