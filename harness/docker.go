package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images names the images the docker runtime runs. They are settings: a user with a registry can point them at
// official images (with configs that fit them).
type Images struct {
	FakeApp string
	Nginx   string
	HAProxy string
	Redis   string
}

// DefaultImages are the images `make images` builds, each overridable by an environment variable.
func DefaultImages() Images {
	return Images{
		FakeApp: envOr("SESSIONLAB_IMAGE_FAKEAPP", "sessionlab/fakeapp:dev"),
		Nginx:   envOr("SESSIONLAB_IMAGE_NGINX", "sessionlab/nginx:bookworm"),
		HAProxy: envOr("SESSIONLAB_IMAGE_HAPROXY", "sessionlab/haproxy:bookworm"),
		Redis:   envOr("SESSIONLAB_IMAGE_REDIS", "sessionlab/redis:bookworm"),
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Labels on every container and network the docker runtime creates, so that `sessionlab cleanup` finds the
// leftovers of a run that was killed.
const (
	labelRun      = "org.sessionlab.run"
	labelOwner    = "org.sessionlab.owner" // host and process identity of the run
	labelScenario = "org.sessionlab.scenario"
)

// Docker runs the topology as containers on one private network per run, through testcontainers-go. Nothing is
// pulled: the images must exist locally (`make images`), and Ryuk is disabled, so the runtime removes its own
// containers and networks.
type Docker struct {
	images       Images
	startTimeout time.Duration
}

var _ Runtime = (*Docker)(nil)

// DockerOption configures the docker runtime.
type DockerOption func(*Docker)

// WithImages replaces the default images; empty fields keep theirs.
func WithImages(im Images) DockerOption {
	return func(d *Docker) {
		for dst, src := range map[*string]string{&d.images.FakeApp: im.FakeApp, &d.images.Nginx: im.Nginx, &d.images.HAProxy: im.HAProxy, &d.images.Redis: im.Redis} {
			if src != "" {
				*dst = src
			}
		}
	}
}

// WithContainerStartTimeout bounds how long each container may take to become ready. Default: 60s.
func WithContainerStartTimeout(t time.Duration) DockerOption {
	return func(d *Docker) { d.startTimeout = t }
}

// NewDocker returns the docker runtime.
func NewDocker(opts ...DockerOption) *Docker {
	d := &Docker{images: DefaultImages(), startTimeout: 60 * time.Second}
	for _, o := range opts {
		o(d)
	}
	return d
}

func (rt *Docker) Name() string { return "docker" }

var configureTestcontainers sync.Once

// dockerClient returns a client of the engine testcontainers-go uses, after setting the environment it must see
// before its first call: no Ryuk (it would be pulled), and 127.0.0.1 rather than "localhost" for mapped ports.
func dockerClient(ctx context.Context) (client.APIClient, func(), error) {
	configureTestcontainers.Do(func() {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
		}
	})
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, func() {}, fmt.Errorf("no Docker engine reachable: %w", err)
	}
	if _, err := p.Client().Ping(ctx, client.PingOptions{}); err != nil {
		p.Close()
		return nil, func() {}, fmt.Errorf("no Docker engine reachable: %w", err)
	}
	return p.Client(), func() { p.Close() }, nil
}

// DockerAvailable reports why the docker runtime cannot run here, or nil.
func DockerAvailable(ctx context.Context) error {
	_, done, err := dockerClient(ctx)
	done()
	return err
}

// Start creates the network, starts the replicas side by side, then the balancer, and waits until each answers.
func (rt *Docker) Start(ctx context.Context, t Topology) (*Deployment, error) {
	cli, closeClient, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Runtime: rt.Name()}
	d.onClose("docker client", func(context.Context) error { closeClient(); return nil })
	if err := rt.checkImages(ctx, cli, rt.images.FakeApp, rt.images.Nginx); err != nil {
		return d, err
	}
	if _, err := SweepDocker(ctx, false); err != nil {
		return d, fmt.Errorf("sweep leftovers: %w", err)
	}
	labels := map[string]string{labelRun: newRunID(), labelOwner: RunOwner(os.Getpid()), labelScenario: t.Name}
	nw, err := network.New(ctx, network.WithLabels(labels))
	if nw != nil {
		d.onClose("network", func(ctx context.Context) error { return nw.Remove(ctx) })
	}
	if err != nil {
		return d, fmt.Errorf("create network: %w", err)
	}
	if err := rt.startReplicas(ctx, d, cli, nw, labels, t); err != nil {
		return d, fmt.Errorf("%w%s", err, d.logsOf(context.WithoutCancel(ctx), 20))
	}
	if err := rt.startNginx(ctx, d, cli, nw, labels, t); err != nil {
		return d, fmt.Errorf("%w%s", err, d.logsOf(context.WithoutCancel(ctx), 20))
	}
	return d, nil
}

func (rt *Docker) checkImages(ctx context.Context, cli client.APIClient, images ...string) error {
	var missing []string
	for _, im := range images {
		if _, err := cli.ImageInspect(ctx, im); err != nil {
			missing = append(missing, im)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images not found locally: %s (build them with `make images`, or point SESSIONLAB_IMAGE_* at images you have; nothing is pulled)", strings.Join(missing, ", "))
	}
	return nil
}

const fakeAppPort = "8080/tcp"

func (rt *Docker) startReplicas(ctx context.Context, d *Deployment, cli client.APIClient, nw *testcontainers.DockerNetwork, labels map[string]string, t Topology) error {
	parts := make([]*containerPart, len(t.Replicas))
	errs := make([]error, len(t.Replicas))
	var wg sync.WaitGroup
	for i, r := range t.Replicas {
		wg.Go(func() {
			c, err := testcontainers.Run(ctx, rt.images.FakeApp,
				testcontainers.WithCmd("-listen", "0.0.0.0:8080", "-name", r.Name, "-users", fmt.Sprint(t.Users), "-cookie-name", r.CookieName),
				network.WithNetwork([]string{r.Name}, nw),
				testcontainers.WithExposedPorts(fakeAppPort),
				testcontainers.WithLabels(labels),
				testcontainers.WithWaitStrategy(&probeStrategy{port: fakeAppPort, timeout: rt.startTimeout, probe: func(addr string) probe {
					return httpProbe("http://" + addr + "/healthz")
				}}),
			)
			if c != nil {
				parts[i] = &containerPart{name: r.Name, c: c, cli: cli}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, p := range parts {
		if p != nil {
			d.addPart(p, p.terminate)
			d.Replicas = append(d.Replicas, Endpoint{Name: t.Replicas[i].Name, Addr: t.Replicas[i].Name + ":8080"})
		}
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("start %s: %w", t.Replicas[i].Name, err)
		}
	}
	return nil
}

const balancerPort = "80/tcp"

func (rt *Docker) startNginx(ctx context.Context, d *Deployment, cli client.APIClient, nw *testcontainers.DockerNetwork, labels map[string]string, t Topology) error {
	cfg := nginxConfigFor(t, d.Replicas)
	cfg.Dir, cfg.ErrorLog, cfg.AccessLog, cfg.Listen = "/tmp", "stderr", "/dev/stdout", "80"
	// Clients reach the published port through the engine's proxy or NAT, from an address of the private network;
	// the network is the run's own, so any sender may announce a client address.
	cfg.TrustProxy = []string{"0.0.0.0/0", "::/0"}
	text, err := renderNginx(cfg)
	if err != nil {
		return err
	}
	const confPath = "/etc/sessionlab/nginx.conf"
	c, err := testcontainers.Run(ctx, rt.images.Nginx,
		testcontainers.WithCmd("nginx", "-c", confPath, "-e", "stderr"),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: strings.NewReader(string(text)), ContainerFilePath: confPath, FileMode: 0o644}),
		network.WithNetwork([]string{"nginx"}, nw),
		testcontainers.WithExposedPorts(balancerPort),
		testcontainers.WithLabels(labels),
		testcontainers.WithWaitStrategy(&probeStrategy{port: balancerPort, timeout: rt.startTimeout, probe: proxyProtocolProbe}),
	)
	if c != nil {
		p := &containerPart{name: "nginx", c: c, cli: cli}
		d.addPart(p, p.terminate)
	}
	if err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	endpoint, err := c.PortEndpoint(ctx, balancerPort, "")
	if err != nil {
		return fmt.Errorf("nginx endpoint: %w", err)
	}
	d.Endpoint = endpoint
	return nil
}

// probeStrategy is a testcontainers wait strategy that runs one of the harness's probes against a mapped port, so
// a container is ready by the same test as the process it replaces.
type probeStrategy struct {
	port    string
	timeout time.Duration
	probe   func(addr string) probe
}

// A pointer: testcontainers-go checks strategies for nil with reflection, which panics on a struct value.
var _ wait.Strategy = (*probeStrategy)(nil)

func (s *probeStrategy) String() string { return "sessionlab probe on " + s.port }

func (s *probeStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var last error
	for {
		state, err := target.State(ctx)
		if err == nil && !state.Running {
			return fmt.Errorf("container exited (code %d) before it was ready", state.ExitCode)
		}
		if host, err := target.Host(ctx); err == nil {
			if port, err := target.MappedPort(ctx, s.port); err == nil {
				attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
				last = s.probe(net.JoinHostPort(host, port.Port()))(attempt)
				cancelAttempt()
				if last == nil {
					return nil
				}
			} else {
				last = err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", s.timeout, errors.Join(last, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// containerPart is a part that is a container.
type containerPart struct {
	name string
	c    *testcontainers.DockerContainer
	cli  client.APIClient
}

var _ Part = (*containerPart)(nil)

func (p *containerPart) Name() string { return p.name }

func (p *containerPart) Kill(ctx context.Context) error {
	_, err := p.cli.ContainerKill(ctx, p.c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
	if err != nil && !strings.Contains(err.Error(), "is not running") {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	return nil
}

func (p *containerPart) Stop(ctx context.Context) error {
	grace := 5 * time.Second
	return p.c.Stop(ctx, &grace)
}

// Start starts the container again and waits for it with its wait strategy.
func (p *containerPart) Start(ctx context.Context) error {
	return p.c.Start(ctx)
}

func (p *containerPart) Running(ctx context.Context) bool {
	st, err := p.c.State(ctx)
	return err == nil && st.Running
}

func (p *containerPart) Logs(ctx context.Context, lines int) string {
	rc, err := p.c.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	return lastLines(data, lines)
}

// terminate stops and removes the container; a container already gone is not an error.
func (p *containerPart) terminate(ctx context.Context) error {
	err := testcontainers.TerminateContainer(p.c, testcontainers.StopContext(ctx), testcontainers.StopTimeout(2*time.Second))
	if err != nil && (strings.Contains(err.Error(), "No such container") || strings.Contains(err.Error(), "already in progress")) {
		return nil
	}
	return err
}

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunOwner is the value of the org.sessionlab.owner label on the containers and networks of runs made by process
// pid on this host: it tells a live run's resources from a dead run's.
func RunOwner(pid int) string {
	host, _ := os.Hostname()
	return host + " " + processIdentity(pid)
}
