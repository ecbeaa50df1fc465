package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
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
	kind, ok := balancerKinds[t.Balancer.Kind]
	if !ok {
		return nil, fmt.Errorf("balancer kind %q is not known", t.Balancer.Kind)
	}
	if t.BindIdentity {
		// Connections to a published port reach the container from the engine's proxy or NAT: the source address
		// the clients bound is not what the balancer sees.
		return nil, errors.New("clients.identity: bind works on the local runtime only (the docker runtime needs proxy-protocol)")
	}
	cli, closeClient, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Runtime: rt.Name(), topology: t, kind: kind}
	d.onClose("docker client", func(context.Context) error { closeClient(); return nil })
	balancerImage := rt.images.Nginx
	if kind.name == "haproxy" {
		balancerImage = rt.images.HAProxy
	}
	images := []string{rt.images.FakeApp, balancerImage}
	if t.App.NeedsStore() {
		images = append(images, rt.images.Redis)
	}
	if err := rt.checkImages(ctx, cli, images...); err != nil {
		return d, err
	}
	if _, err := SweepDocker(ctx, false); err != nil {
		return d, fmt.Errorf("sweep leftovers: %w", err)
	}
	labels := map[string]string{labelRun: newRunID(), labelOwner: RunOwner(os.Getpid()), labelScenario: t.Name}
	nw, subnet, err := newRunNetwork(ctx, labels)
	if nw != nil {
		d.onClose("network", func(ctx context.Context) error { return nw.Remove(ctx) })
	}
	if err != nil {
		return d, err
	}
	run := &dockerRun{rt: rt, d: d, cli: cli, nw: nw, subnet: subnet, labels: labels}
	d.addReplica = func(ctx context.Context, r ReplicaSpec) error { return run.startReplicas(ctx, []ReplicaSpec{r}) }
	d.hostAddr = func(ctx context.Context, name string) (string, error) {
		p, err := d.Part(name)
		if err != nil {
			return "", err
		}
		cp, ok := p.(*containerPart)
		if !ok {
			return "", fmt.Errorf("%s has no app port", name)
		}
		return cp.c.PortEndpoint(ctx, fakeAppPort, "")
	}
	if t.App.NeedsStore() {
		if err := run.startStore(ctx); err != nil {
			return d, fmt.Errorf("%w%s", err, d.logsOf(context.WithoutCancel(ctx), 20))
		}
	}
	if t.App.NeedsIdP() {
		if err := run.startIdP(ctx); err != nil {
			return d, fmt.Errorf("%w%s", err, d.logsOf(context.WithoutCancel(ctx), 20))
		}
	}
	if err := run.startReplicas(ctx, t.Replicas); err != nil {
		return d, fmt.Errorf("%w%s", err, d.logsOf(context.WithoutCancel(ctx), 20))
	}
	if err := run.startBalancer(ctx, kind, balancerImage); err != nil {
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

// dockerRun is one deployment's containers and network.
type dockerRun struct {
	rt     *Docker
	d      *Deployment
	cli    client.APIClient
	nw     *testcontainers.DockerNetwork
	subnet netip.Prefix
	labels map[string]string
}

// newRunNetwork creates the run's own network with a subnet the harness picks, so that every container keeps its
// address across a stop and start: the balancer's config names replicas by address (nginx resolves names only
// when it loads a config, and cookie-insert maps the answering address back to a replica).
func newRunNetwork(ctx context.Context, labels map[string]string) (*testcontainers.DockerNetwork, netip.Prefix, error) {
	var last error
	for range 16 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, b[0], 0}), 24)
		nw, err := network.New(ctx, network.WithLabels(labels), network.WithIPAM(&dockernetwork.IPAM{
			Driver: "default",
			Config: []dockernetwork.IPAMConfig{{Subnet: subnet, Gateway: hostIn(subnet, 1)}},
		}))
		if err == nil {
			return nw, subnet, nil
		}
		if nw != nil {
			_ = nw.Remove(ctx)
		}
		last = err
		if !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	return nil, netip.Prefix{}, fmt.Errorf("create network: %w", last)
}

// hostIn is the address with last octet n in a /24.
func hostIn(subnet netip.Prefix, n int) netip.Addr {
	a := subnet.Addr().As4()
	a[3] = byte(n)
	return netip.AddrFrom4(a)
}

// Fixed addresses in the run's subnet: .1 is the gateway, replica-N is .(10+N).
const (
	balancerHost = 2
	storeHost    = 3
	idpHost      = 4
	replicaHost0 = 10
)

const redisPort = "6379/tcp"

// startStore starts the Redis container at its fixed address, where every replica reaches it.
func (r *dockerRun) startStore(ctx context.Context) error {
	ip := hostIn(r.subnet, storeHost)
	c, err := testcontainers.Run(ctx, r.rt.images.Redis,
		testcontainers.WithCmd(append([]string{"redis-server"}, redisArgs(6379, "0.0.0.0", "/var/lib/redis")...)...),
		network.WithNetwork([]string{targetStore}, r.nw),
		withAddress(r.nw, ip),
		testcontainers.WithExposedPorts(redisPort),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(&probeStrategy{port: redisPort, timeout: r.rt.startTimeout, probe: redisProbe}),
	)
	if c != nil {
		st := &containerStore{containerPart{name: targetStore, c: c, cli: r.cli}}
		r.d.store, r.d.storeAddr = st, net.JoinHostPort(ip.String(), "6379")
		r.d.addPart(st, st.terminate)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", targetStore, err)
	}
	return nil
}

// containerStore is Redis as a container.
type containerStore struct{ containerPart }

func (s *containerStore) HostAddr(ctx context.Context) (string, error) {
	return s.c.PortEndpoint(ctx, redisPort, "")
}

func (s *containerStore) ForgetSaved(ctx context.Context) error {
	code, out, err := s.c.Exec(ctx, []string{"rm", "-f", "/var/lib/redis/" + redisDump})
	if err == nil && code != 0 {
		msg, _ := io.ReadAll(out)
		err = fmt.Errorf("exit code %d: %s", code, msg)
	}
	if err != nil {
		return fmt.Errorf("forget the store's saved data: %w", err)
	}
	return nil
}

// startIdP starts the identity provider at its fixed address, published on a host port chosen here so that the
// URL browsers were sent to stays valid when a fault restarts it.
func (r *dockerRun) startIdP(ctx context.Context) error {
	hostAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	c, err := testcontainers.Run(ctx, r.rt.images.FakeApp,
		testcontainers.WithCmd(r.d.topology.idpArgs("0.0.0.0:8080")...),
		network.WithNetwork([]string{idpPartName}, r.nw),
		withAddress(r.nw, hostIn(r.subnet, idpHost)),
		testcontainers.WithExposedPorts(fakeAppPort),
		withHostPort(fakeAppPort, hostAddr),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(&probeStrategy{port: fakeAppPort, timeout: r.rt.startTimeout, probe: func(addr string) probe {
			return httpProbe("http://" + addr + "/healthz")
		}}),
	)
	if c != nil {
		p := &containerPart{name: idpPartName, c: c, cli: r.cli}
		r.d.addPart(p, p.terminate)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", idpPartName, err)
	}
	r.d.idpURL = "http://" + hostAddr
	return nil
}

// withHostPort publishes the container's port on hostAddr (127.0.0.1:PORT) rather than on a port the engine
// picks, which a restart of the container would change.
func withHostPort(port, hostAddr string) testcontainers.CustomizeRequestOption {
	_, hostPort, _ := net.SplitHostPort(hostAddr)
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.PortBindings = dockernetwork.PortMap{
			dockernetwork.MustParsePort(port): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hostPort}},
		}
	})
}

func withAddress(nw *testcontainers.DockerNetwork, ip netip.Addr) testcontainers.CustomizeRequestOption {
	return testcontainers.WithEndpointSettingsModifier(func(settings map[string]*dockernetwork.EndpointSettings) {
		if es := settings[nw.Name]; es != nil {
			es.IPAMConfig = &dockernetwork.EndpointIPAMConfig{IPv4Address: ip}
		}
	})
}

// startReplicas starts the given replicas side by side and records each.
func (r *dockerRun) startReplicas(ctx context.Context, specs []ReplicaSpec) error {
	parts := make([]*containerPart, len(specs))
	errs := make([]error, len(specs))
	addrs := make([]string, len(specs))
	if r.d.topology.Own != nil {
		return r.startOwnReplicas(ctx, specs)
	}
	var wg sync.WaitGroup
	for i, spec := range specs {
		n, _ := strconv.Atoi(strings.TrimPrefix(spec.Name, "replica-"))
		ip := hostIn(r.subnet, replicaHost0+n)
		addrs[i] = net.JoinHostPort(ip.String(), "8080")
		wg.Go(func() {
			c, err := testcontainers.Run(ctx, r.rt.images.FakeApp,
				testcontainers.WithCmd(r.d.topology.replicaArgs(spec, "0.0.0.0:8080", r.d.storeAddr, r.d.idpURL)...),
				network.WithNetwork([]string{spec.Name}, r.nw),
				withAddress(r.nw, ip),
				testcontainers.WithExposedPorts(fakeAppPort),
				testcontainers.WithLabels(r.labels),
				testcontainers.WithWaitStrategy(&probeStrategy{port: fakeAppPort, timeout: r.rt.startTimeout, probe: func(addr string) probe {
					return httpProbe("http://" + addr + "/healthz")
				}}),
			)
			if c != nil {
				parts[i] = &containerPart{name: spec.Name, c: c, cli: r.cli}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, p := range parts {
		if p != nil {
			r.d.addPart(p, p.terminate)
			r.d.setEndpoint(Endpoint{Name: specs[i].Name, Addr: addrs[i]})
		}
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("start %s: %w", specs[i].Name, err)
		}
	}
	return nil
}

const balancerPort = "80/tcp"

// startBalancer starts the balancer container. Its port is published on a host port chosen here rather than by
// the engine, so that the clients' address stays valid when a fault restarts the container.
func (r *dockerRun) startBalancer(ctx context.Context, kind *balancerKind, image string) error {
	hostAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	d := r.d
	d.fillConfig = func(c *BalancerConfig) {
		c.Dir, c.ErrorLog, c.AccessLog, c.Listen = "/tmp", "stderr", "/dev/stdout", "0.0.0.0:80"
		// Clients reach the published port through the engine's proxy or NAT, from an address of the private
		// network; the network is the run's own, so any sender may announce a client address.
		c.TrustProxy = []string{"0.0.0.0/0", "::/0"}
	}
	text, gen, err := d.renderBalancer()
	if err != nil {
		return err
	}
	confPath := "/etc/sessionlab/" + kind.confFile
	b := &containerBalancer{confPath: confPath, reloadSig: kind.reloadSig, endpoint: hostAddr, timeout: r.rt.startTimeout}
	b.set(gen, d.topology.Balancer.Template != nil)
	c, err := testcontainers.Run(ctx, image,
		testcontainers.WithCmd(kind.containerArgs(confPath)...),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(text), ContainerFilePath: confPath, FileMode: 0o644}),
		network.WithNetwork([]string{kind.name}, r.nw),
		withAddress(r.nw, hostIn(r.subnet, balancerHost)),
		testcontainers.WithExposedPorts(balancerPort),
		withHostPort(balancerPort, hostAddr),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(&probeStrategy{port: balancerPort, timeout: r.rt.startTimeout, probe: func(addr string) probe {
			return balancerProbe(addr, b.want(), true)
		}}),
	)
	if c != nil {
		b.containerPart = &containerPart{name: kind.name, c: c, cli: r.cli}
		d.balancer = b
		d.addPart(b, b.terminate)
	}
	if err != nil {
		return withConfigLine(fmt.Errorf("start %s: %w", kind.name, err), confPath, text)
	}
	d.Endpoint = hostAddr
	return nil
}

// containerBalancer is the balancer container; it can load a new config without a restart.
type containerBalancer struct {
	*containerPart
	loadedConfig
	confPath  string
	reloadSig syscall.Signal
	endpoint  string
	timeout   time.Duration
}

func (b *containerBalancer) Reload(ctx context.Context, text []byte, gen int, user bool) error {
	if err := b.c.CopyToContainer(ctx, text, b.confPath, 0o644); err != nil {
		return fmt.Errorf("reload %s: copy config: %w", b.name, err)
	}
	b.set(gen, user)
	old, err := b.workers(ctx)
	if err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if _, err := b.cli.ContainerKill(ctx, b.c.GetContainerID(), client.ContainerKillOptions{Signal: signalName(b.reloadSig)}); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if err := awaitReload(ctx, func(ctx context.Context) error { return balancerProbe(b.endpoint, b.want(), true)(ctx) }, user, b.timeout); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	return awaitExit(ctx, b.workers, old, b.timeout)
}

// workers lists the container's processes but its first, the balancer's master (host PIDs, from the engine).
func (b *containerBalancer) workers(ctx context.Context) ([]int, error) {
	top, err := b.cli.ContainerTop(ctx, b.c.GetContainerID(), client.ContainerTopOptions{})
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	pidCol, ppidCol := slices.Index(top.Titles, "PID"), slices.Index(top.Titles, "PPID")
	if pidCol < 0 || ppidCol < 0 {
		return nil, fmt.Errorf("list processes: no PID and PPID columns in %v", top.Titles)
	}
	var pids []int
	parents := map[int]int{}
	for _, row := range top.Processes {
		pid, _ := strconv.Atoi(row[pidCol])
		ppid, _ := strconv.Atoi(row[ppidCol])
		pids = append(pids, pid)
		parents[pid] = ppid
	}
	var workers []int
	for _, pid := range pids {
		if _, childOfOne := parents[parents[pid]]; childOfOne {
			workers = append(workers, pid)
		}
	}
	return workers, nil
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

// signalName is how the engine API names a signal.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGTERM:
		return "TERM"
	}
	return "KILL"
}
