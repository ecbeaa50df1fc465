package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/sessionlab/sessionlab/clients"
)

// Where the user's app finds its directories in a container: the shared one is the run directory's "shared",
// mounted into every replica; the data directory is the container's own.
const (
	containerSharedDir = "/sessionlab/shared"
	containerDataDir   = "/sessionlab/data"
)

// startOwnReplicas starts the user's image as the given replicas: side by side, or one after another, each ready
// before the stagger starts, when app.stagger is set.
func (r *dockerRun) startOwnReplicas(ctx context.Context, specs []ReplicaSpec) error {
	own := r.d.topology.Own
	if own.image == nil {
		return fmt.Errorf("app.image is not set: the docker runtime runs your app from its image (app.command is for --runtime local)")
	}
	if own.stagger > 0 {
		for i, spec := range specs {
			if i > 0 && !clients.Sleep(ctx, own.stagger) {
				return ctx.Err()
			}
			if err := r.startOwnReplica(ctx, spec); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(specs))
	eps := make([]*Endpoint, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() { eps[i], errs[i] = r.launchOwnReplica(ctx, spec) })
	}
	wg.Wait()
	// In the order of the specs, not of who was ready first: the balancer lists its servers in this order, and
	// ip-hash picks by position.
	for _, ep := range eps {
		if ep != nil {
			r.d.setEndpoint(*ep)
		}
	}
	return errors.Join(errs...)
}

func (r *dockerRun) startOwnReplica(ctx context.Context, spec ReplicaSpec) error {
	ep, err := r.launchOwnReplica(ctx, spec)
	if ep != nil {
		r.d.setEndpoint(*ep)
	}
	return err
}

// launchOwnReplica starts one replica's container and waits until it is ready; the caller records its endpoint.
func (r *dockerRun) launchOwnReplica(ctx context.Context, spec ReplicaSpec) (*Endpoint, error) {
	own := r.d.topology.Own
	n, _ := strconv.Atoi(strings.TrimPrefix(spec.Name, "replica-"))
	ip := hostIn(r.subnet, replicaHost0+n)
	port := strconv.Itoa(own.image.Port)
	v, err := r.d.topology.appVars(spec, net.JoinHostPort("0.0.0.0", port), r.d.Dir, r.d.storeAddr)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	hostShared := v.SharedDir
	v.DataDir, v.SharedDir = containerDataDir, containerSharedDir
	cmd, err := renderAll(own.imageCmd, v)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	envLines, err := renderEnv(own.imageEnv, v)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	env := map[string]string{}
	for _, line := range envLines {
		k, val, _ := strings.Cut(line, "=")
		env[k] = val
	}
	exposed := port + "/tcp"
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		network.WithNetwork([]string{spec.Name}, r.nw),
		withAddress(r.nw, ip),
		testcontainers.WithExposedPorts(exposed),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Binds = append(hc.Binds, filepath.Clean(hostShared)+":"+containerSharedDir)
		}),
		testcontainers.WithWaitStrategy(&probeStrategy{port: exposed, timeout: time.Duration(own.health.Timeout), probe: func(addr string) probe {
			return httpProbe("http://" + addr + own.health.Path)
		}}),
	}
	if len(cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(cmd...))
	}
	c, err := testcontainers.Run(ctx, own.image.Name, opts...)
	if c != nil {
		p := &containerPart{name: spec.Name, c: c, cli: r.cli}
		r.d.addPart(p, p.terminate)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	return &Endpoint{Name: spec.Name, Addr: net.JoinHostPort(ip.String(), port)}, nil
}
