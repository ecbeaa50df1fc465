// Package docker is the docker runtime: the same topology as the local runtime, as containers on a private Docker
// network made for the run, through testcontainers-go. Nothing is pulled: the images are built locally (`make
// images`) or named by the user. It is the only package that imports testcontainers-go, so a program that never
// runs containers does not link it.
package docker

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
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Labels on every container and network the docker runtime creates, so that `sessionlab cleanup` finds the
// leftovers of a run that was killed.
const (
	labelRun      = "org.sessionlab.run"
	labelOwner    = "org.sessionlab.owner" // host and process identity of the run
	labelScenario = "org.sessionlab.scenario"
)

// Docker runs the topology as containers on one private network per run, through testcontainers-go. Nothing is
// pulled: the images must exist locally (`make images`). The runtime removes its own containers, network and
// directories; testcontainers' own configuration (its reaper, Ryuk) is left as the user set it.
type Docker struct {
	images       runtime.Images
	startTimeout time.Duration
}

var (
	_ runtime.Runtime = (*Docker)(nil)
	_ runtime.Checker = (*Docker)(nil)
)

// Option configures the docker runtime.
type Option func(*Docker)

// WithImages replaces the default images; empty fields keep theirs.
func WithImages(im runtime.Images) Option {
	return func(d *Docker) {
		for dst, src := range map[*string]string{&d.images.FakeApp: im.FakeApp, &d.images.Nginx: im.Nginx, &d.images.HAProxy: im.HAProxy, &d.images.Caddy: im.Caddy, &d.images.Traefik: im.Traefik, &d.images.Redis: im.Redis} {
			if src != "" {
				*dst = src
			}
		}
	}
}

// WithStartTimeout bounds how long each container may take to become ready. Default: 60s.
func WithStartTimeout(t time.Duration) Option {
	return func(d *Docker) { d.startTimeout = t }
}

// New returns the docker runtime.
func New(opts ...Option) *Docker {
	d := &Docker{images: runtime.DefaultImages(), startTimeout: 60 * time.Second}
	for _, o := range opts {
		o(d)
	}
	return d
}

func (rt *Docker) Name() string { return "docker" }

// dockerClient returns a client of the engine testcontainers-go uses, once it answers.
func dockerClient(ctx context.Context) (client.APIClient, func(), error) {
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

// Available reports why the docker runtime cannot run here (no engine, or testcontainers' reaper enabled without its
// image), or nil.
func Available(ctx context.Context) error {
	cli, done, err := dockerClient(ctx)
	defer done()
	if err != nil {
		return err
	}
	return checkReaper(ctx, cli)
}

// checkReaper refuses a run that testcontainers would begin by starting its reaper, Ryuk, when the reaper's image is
// not here: it would be pulled, and nothing can be. sessionlab removes its own containers, so the reaper is not
// needed; it is the user's setting all the same, and left alone.
func checkReaper(ctx context.Context, cli client.APIClient) error {
	cfg := testcontainers.ReadConfig()
	if cfg.RyukDisabled {
		return nil
	}
	// Which ryuk tag the library starts is its own (internal) choice: any ryuk image here may be it; none cannot.
	images, err := cli.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return fmt.Errorf("list the images: %w", err)
	}
	found := false
	for _, im := range images.Items {
		for _, tag := range im.RepoTags {
			found = found || strings.Contains(tag, "testcontainers/ryuk:")
		}
	}
	if !found {
		return fmt.Errorf("testcontainers would start its reaper from a testcontainers/ryuk image, which is not here, and nothing is pulled: " +
			"set TESTCONTAINERS_RYUK_DISABLED=true (or ryuk.disabled=true in ~/.testcontainers.properties); sessionlab removes its own containers")
	}
	return nil
}

// Check says why t cannot start here: no engine, the reaper, or an image that is not here.
func (rt *Docker) Check(ctx context.Context, t plan.Topology) error {
	if t.Bind() {
		return errBind
	}
	cli, done, err := dockerClient(ctx)
	defer done()
	if err != nil {
		return err
	}
	if err := checkReaper(ctx, cli); err != nil {
		return err
	}
	return rt.checkImages(ctx, cli, rt.imagesFor(t)...)
}

// Connections to a published port reach the container from the engine's proxy or NAT: the source address the
// clients bound is not what the balancer sees.
var errBind = errors.New("clients.identity: bind works on the local runtime only (the docker runtime needs proxy-protocol)")

// imagesFor lists the images t runs.
func (rt *Docker) imagesFor(t plan.Topology) []string {
	var images []string
	for _, b := range t.Sets() {
		if img := rt.balancerImage(b.Kind); !slices.Contains(images, img) {
			images = append(images, img)
		}
	}
	if img := rt.balancerImage("haproxy"); t.Fronted() && !slices.Contains(images, img) {
		images = append(images, img) // the front
	}
	if t.NeedsFakeApp() {
		images = append(images, rt.images.FakeApp)
	}
	if t.Own != nil && t.Own.Image != nil {
		images = append(images, t.Own.Image.Name)
	}
	if t.App.NeedsStore() {
		images = append(images, rt.images.Redis)
	}
	return images
}

func (rt *Docker) balancerImage(kind string) string { return rt.images.Balancer(kind) }

// Start creates the network, starts the replicas side by side, then the balancer, and waits until each answers.
func (rt *Docker) Start(ctx context.Context, d runtime.Recorder) error {
	t := d.Topology()
	if t.Bind() {
		return errBind
	}
	if t.Own != nil && t.Own.Image == nil {
		return errNoImage
	}
	cli, closeClient, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	d.OnClose("docker client", func(context.Context) error { closeClient(); return nil })
	if err := checkReaper(ctx, cli); err != nil {
		return err
	}
	if err := rt.checkImages(ctx, cli, rt.imagesFor(t)...); err != nil {
		return err
	}
	if _, err := Sweep(ctx, false); err != nil {
		return fmt.Errorf("sweep leftovers: %w", err)
	}
	// The run's own directories: the app's data and shared directories are bind-mounted from here, so that nothing
	// of one run is seen by the next, and nothing is left once the run ends.
	dir, err := runtime.NewWorkDir(t.Name)
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	d.SetDir(dir)
	d.OnClose("run directory", func(context.Context) error { return os.RemoveAll(dir) })
	labels := map[string]string{labelRun: newRunID(), labelOwner: runtime.RunOwner(os.Getpid()), labelScenario: t.Name}
	nw, subnet, err := newRunNetwork(ctx, labels)
	if nw != nil {
		d.OnClose("network", func(ctx context.Context) error { return nw.Remove(ctx) })
	}
	if err != nil {
		return err
	}
	run := &dockerRun{rt: rt, d: d, cli: cli, nw: nw, subnet: subnet, labels: labels, host: reachHost(cli)}
	d.SetBackend(run)
	withLogs := func(err error) error { return fmt.Errorf("%w%s", err, d.Logs(context.WithoutCancel(ctx), 20)) }
	if t.App.NeedsStore() {
		if err := run.startStore(ctx); err != nil {
			return withLogs(err)
		}
	}
	if t.App.NeedsIdP() {
		if err := run.startIdP(ctx); err != nil {
			return withLogs(err)
		}
	}
	if err := run.startReplicas(ctx, t.Replicas); err != nil {
		return withLogs(err)
	}
	if err := run.startBalancer(ctx); err != nil {
		return withLogs(err)
	}
	return nil
}

var errNoImage = errors.New("app.image is not set: the docker runtime runs your app from its image (app.command is for --runtime local)")

// reachHost is where the harness reaches ports the engine publishes: the engine's host for a TCP engine, else
// this machine's loopback (an address, not "localhost", which may resolve to ::1 first).
func reachHost(cli client.APIClient) string {
	if u, err := url.Parse(cli.DaemonHost()); err == nil && (u.Scheme == "tcp" || u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
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

// dockerRun is one deployment's containers and network: the runtime's side of it (runtime.Backend).
type dockerRun struct {
	rt     *Docker
	d      runtime.Recorder
	cli    client.APIClient
	nw     *testcontainers.DockerNetwork
	subnet netip.Prefix
	labels map[string]string
	host   string // where published ports are reached
	// instances are each balancer set's instances, by number from 1 (a slot is nil until its container started).
	instances [][]*containerBalancer
}

func (r *dockerRun) StartReplica(ctx context.Context, spec plan.ReplicaSpec) error {
	return r.startReplicas(ctx, []plan.ReplicaSpec{spec})
}

func (r *dockerRun) HostAddr(ctx context.Context, name string) (string, error) {
	for _, set := range r.instances {
		for _, b := range set {
			if b != nil && b.name == name {
				return b.endpoint, nil
			}
		}
	}
	p, err := r.d.Part(name)
	if err != nil {
		return "", err
	}
	cp, ok := p.(*containerPart)
	if !ok || cp.port == "" {
		return "", fmt.Errorf("%s has no app port", name)
	}
	return r.published(ctx, cp.c, cp.port)
}

// published is where the harness reaches a container's port.
func (r *dockerRun) published(ctx context.Context, c *testcontainers.DockerContainer, port string) (string, error) {
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(r.host, p.Port()), nil
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
	// A tier's instance N is .(100+N); the front takes the lone balancer's address.
	instanceHost0   = 100
	instancesPerSet = 16 // balancer set S's instances are .(100+16S+N)
	peersPort       = "10000"
)

const redisPort = "6379/tcp"

// runPublishing runs a container whose port the engine publishes on a host port of its own choosing. When that
// port was taken between the engine choosing and binding it — by a connection of this machine, whose ports come
// from the same range — the start fails with "address already in use"; the container is removed and run again,
// a few times, as the local runtime chooses another port for a process.
func runPublishing(ctx context.Context, run func() (*testcontainers.DockerContainer, error)) (*testcontainers.DockerContainer, error) {
	for try := 1; ; try++ {
		c, err := run()
		if err == nil || try == 3 || !strings.Contains(err.Error(), "address already in use") {
			return c, err
		}
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
	}
}

// startStore starts the Redis container at its fixed address, where every replica reaches it.
func (r *dockerRun) startStore(ctx context.Context) error {
	ip := hostIn(r.subnet, storeHost)
	c, err := runPublishing(ctx, func() (*testcontainers.DockerContainer, error) {
		return testcontainers.Run(ctx, r.rt.images.Redis,
			testcontainers.WithCmd(append([]string{"redis-server"}, runtime.RedisArgs(6379, "0.0.0.0", "/var/lib/redis")...)...),
			network.WithNetwork([]string{plan.PartStore}, r.nw),
			withAddress(r.nw, ip),
			testcontainers.WithExposedPorts(redisPort),
			testcontainers.WithLabels(r.labels),
			testcontainers.WithWaitStrategy(r.waitFor(redisPort, r.rt.startTimeout, runtime.RedisProbe)),
		)
	})
	if c != nil {
		st := &containerStore{containerPart{name: plan.PartStore, c: c, cli: r.cli}, r}
		r.d.SetStore(st, net.JoinHostPort(ip.String(), "6379"))
		r.d.AddPart(st, st.terminate)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", plan.PartStore, err)
	}
	return nil
}

// containerStore is Redis as a container.
type containerStore struct {
	containerPart
	run *dockerRun
}

func (s *containerStore) HostAddr(ctx context.Context) (string, error) {
	return s.run.published(ctx, s.c, redisPort)
}

func (s *containerStore) ForgetSaved(ctx context.Context) error {
	code, out, err := s.c.Exec(ctx, []string{"rm", "-f", "/var/lib/redis/" + runtime.RedisDump})
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
	hostAddr, err := runtime.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	c, err := testcontainers.Run(ctx, r.rt.images.FakeApp,
		testcontainers.WithCmd(r.d.Topology().IdPArgs("0.0.0.0:8080")...),
		network.WithNetwork([]string{plan.PartIdP}, r.nw),
		withAddress(r.nw, hostIn(r.subnet, idpHost)),
		testcontainers.WithExposedPorts(fakeAppPort),
		withHostPort(fakeAppPort, hostAddr),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(r.waitFor(fakeAppPort, r.rt.startTimeout, httpPath("/healthz"))),
	)
	if c != nil {
		p := &containerPart{name: plan.PartIdP, c: c, cli: r.cli, port: fakeAppPort}
		r.d.AddPart(p, p.terminate)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", plan.PartIdP, err)
	}
	r.d.SetIdPURL("http://" + hostAddr)
	return nil
}

// httpPath is a probe of GET path on an address.
func httpPath(path string) func(addr string) runtime.Probe {
	return func(addr string) runtime.Probe { return runtime.HTTPProbe("http://" + addr + path) }
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

// replicaIP is the fixed address of the replica numbered index.
func (r *dockerRun) replicaIP(index int) netip.Addr { return hostIn(r.subnet, replicaHost0+index) }

// startReplicas starts the given replicas side by side and records each, in the order given (ip-hash picks by
// position in the balancer's list, whatever the order they became ready in).
func (r *dockerRun) startReplicas(ctx context.Context, specs []plan.ReplicaSpec) error {
	if r.d.Topology().Own != nil {
		return r.startOwnReplicas(ctx, specs)
	}
	parts := make([]*containerPart, len(specs))
	errs := make([]error, len(specs))
	t := r.d.Topology()
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() {
			c, err := runPublishing(ctx, func() (*testcontainers.DockerContainer, error) {
				return testcontainers.Run(ctx, r.rt.images.FakeApp,
					testcontainers.WithCmd(t.FakeAppArgs(spec, "0.0.0.0:8080", r.d.StoreAddr(), r.d.IdPURL())...),
					network.WithNetwork([]string{spec.Name}, r.nw),
					withAddress(r.nw, r.replicaIP(spec.Index)),
					testcontainers.WithExposedPorts(fakeAppPort),
					testcontainers.WithLabels(r.labels),
					testcontainers.WithWaitStrategy(r.waitFor(fakeAppPort, r.rt.startTimeout, httpPath("/healthz"))),
				)
			})
			if c != nil {
				parts[i] = &containerPart{name: spec.Name, c: c, cli: r.cli, port: fakeAppPort}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, p := range parts {
		if p != nil {
			r.d.AddPart(p, p.terminate)
			r.d.SetReplica(runtime.Endpoint{Name: specs[i].Name, Index: specs[i].Index, Addr: net.JoinHostPort(r.replicaIP(specs[i].Index).String(), "8080")})
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

func (r *dockerRun) FillConfig(set, instance int, c *balancer.Config) {
	// The container's log is the error log alone: the harness reads it during the run for the lines that say the
	// balancer ran out of connections or files (runtime.LimitWatch), and an access log there would make every read
	// as long as the run.
	c.Dir, c.ErrorLog, c.AccessLog, c.Listen = "/tmp", "stderr", "/dev/null", "0.0.0.0:80"
	// Clients reach the published port through the engine's proxy or NAT, from an address of the private
	// network; the network is the run's own, so any sender may announce a client address.
	c.TrustProxy = []string{"0.0.0.0/0", "::/0"}
	c.UpstreamByName = true
	t := r.d.Topology()
	if t.Set(set).Peers {
		for i := range t.Instances() {
			c.Peers = append(c.Peers, balancer.Peer{Name: t.SetInstanceName(set, i+1), Addr: net.JoinHostPort(r.instanceIP(set, i+1).String(), peersPort)})
		}
	}
}

func (r *dockerRun) InstanceAddr(set, instance int) string {
	return net.JoinHostPort(r.instanceIP(set, instance).String(), "80")
}

func (r *dockerRun) FrontListen() string { return "0.0.0.0:80" }

// instanceIP is where instance number instance (from 1) of balancer set number set listens on the run's network:
// the lone balancer's address, or behind a front its own.
func (r *dockerRun) instanceIP(set, instance int) netip.Addr {
	if !r.d.Topology().Fronted() {
		return hostIn(r.subnet, balancerHost)
	}
	return hostIn(r.subnet, instanceHost0+set*instancesPerSet+instance)
}

// startBalancer starts the balancer: one container, or a tier's instances (and the balancers a switch moves to)
// side by side, and the front before them.
func (r *dockerRun) startBalancer(ctx context.Context) error {
	t := r.d.Topology()
	n := t.Instances()
	r.instances = make([][]*containerBalancer, len(t.Sets()))
	for set, spec := range t.Sets() {
		errs := make([]error, n)
		r.instances[set] = make([]*containerBalancer, n)
		image := r.rt.balancerImage(spec.Kind)
		if spec.Peers {
			// One after another: an instance connects to its peers as it starts, and each next one finds the
			// earlier ones up (AwaitPeers checks they share the table before the users come).
			for i := range n {
				if errs[i] = r.startInstance(ctx, image, set, i+1); errs[i] != nil {
					break
				}
			}
		} else {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = r.startInstance(ctx, image, set, i+1) })
			}
			wg.Wait()
		}
		for _, b := range r.instances[set] {
			if b != nil {
				r.d.AddPart(b, b.terminate)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for _, b := range r.instances[set] {
			r.d.AddBalancer(set, b)
		}
	}
	if !t.Fronted() {
		r.d.SetEndpoint(r.instances[0][0].endpoint)
		return nil
	}
	return r.startFront(ctx)
}

// startInstance starts the container of instance number instance (from 1) of balancer set number set. Its port is
// published on a host port chosen here rather than by the engine, so that the clients' address stays valid when a
// fault restarts the container.
func (r *dockerRun) startInstance(ctx context.Context, image string, set, instance int) error {
	hostAddr, err := runtime.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	d, kind := r.d, r.d.KindOf(set)
	name := d.Topology().SetInstanceName(set, instance)
	text, gen, err := d.RenderBalancer(set, instance)
	if err != nil {
		return err
	}
	confPath := "/etc/sessionlab/" + kind.ConfFile
	b := &containerBalancer{confPath: confPath, reloadSig: kind.ReloadSignal, endpoint: hostAddr, timeout: r.rt.startTimeout}
	b.Set(gen, d.Topology().Set(set).Template != nil)
	c, err := testcontainers.Run(ctx, image,
		testcontainers.WithCmd(kind.ContainerArgs(confPath)...),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(text), ContainerFilePath: confPath, FileMode: 0o644}),
		network.WithNetwork([]string{name}, r.nw),
		withAddress(r.nw, r.instanceIP(set, instance)),
		testcontainers.WithExposedPorts(balancerPort),
		withHostPort(balancerPort, hostAddr),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(r.waitFor(balancerPort, r.rt.startTimeout, func(addr string) runtime.Probe {
			return runtime.BalancerProbe(addr, b.Want(), true)
		})),
	)
	if c != nil {
		b.containerPart = &containerPart{name: name, c: c, cli: r.cli}
		r.instances[set][instance-1] = b // recorded as a part, in order, once all are started
	}
	if err != nil {
		return balancer.WithConfigLine(fmt.Errorf("start %s: %w", name, err), confPath, text)
	}
	return nil
}

// startFront starts the L4 front (HAProxy in TCP mode) at the lone balancer's address and port, once every
// instance is ready.
func (r *dockerRun) startFront(ctx context.Context) error {
	d := r.d
	text, err := d.RenderFront()
	if err != nil {
		return err
	}
	haproxy, err := balancer.Lookup("haproxy")
	if err != nil {
		return err
	}
	hostAddr, err := runtime.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	confPath := "/etc/sessionlab/" + balancer.FrontConfFile
	// The front drains: a switch leaves the connections the old worker holds with it until they close.
	p := &containerBalancer{confPath: confPath, reloadSig: haproxy.ReloadSignal, endpoint: hostAddr, timeout: r.rt.startTimeout, drain: true}
	p.Set(0, true)
	c, err := testcontainers.Run(ctx, r.rt.balancerImage("haproxy"),
		testcontainers.WithCmd(haproxy.ContainerArgs(confPath)...),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(text), ContainerFilePath: confPath, FileMode: 0o644}),
		network.WithNetwork([]string{plan.PartFront}, r.nw),
		withAddress(r.nw, hostIn(r.subnet, balancerHost)),
		testcontainers.WithExposedPorts(balancerPort),
		withHostPort(balancerPort, hostAddr),
		testcontainers.WithLabels(r.labels),
		testcontainers.WithWaitStrategy(r.waitFor(balancerPort, r.rt.startTimeout, func(addr string) runtime.Probe {
			return runtime.BalancerProbe(addr, 0, true)
		})),
	)
	if c != nil {
		p.containerPart = &containerPart{name: plan.PartFront, c: c, cli: r.cli}
		d.AddPart(p, p.terminate)
		d.SetFront(p)
	}
	if err != nil {
		return balancer.WithConfigLine(fmt.Errorf("start the front: %w", err), confPath, text)
	}
	d.SetEndpoint(hostAddr)
	return nil
}

// containerBalancer is the balancer container; it can load a new config without a restart.
type containerBalancer struct {
	*containerPart
	runtime.LoadedConfig
	confPath  string
	reloadSig syscall.Signal
	endpoint  string
	timeout   time.Duration
	drain     bool // a reload does not wait for the old workers: they keep the connections they hold until those close
}

func (b *containerBalancer) Reload(ctx context.Context, text []byte, gen int, user bool) error {
	if err := b.c.CopyToContainer(ctx, text, b.confPath, 0o644); err != nil {
		return fmt.Errorf("reload %s: copy config: %w", b.name, err)
	}
	b.Set(gen, user)
	old, err := b.workers(ctx)
	if err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if _, err := b.cli.ContainerKill(ctx, b.c.GetContainerID(), client.ContainerKillOptions{Signal: signalName(b.reloadSig)}); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if err := runtime.AwaitReload(ctx, func(ctx context.Context) error { return runtime.BalancerProbe(b.endpoint, b.Want(), true)(ctx) }, user, b.timeout); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if b.drain {
		return nil
	}
	return runtime.AwaitExit(ctx, b.workers, old, b.timeout)
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

// probeStrategy is a testcontainers wait strategy that runs one of the harness's probes against a published port,
// so a container is ready by the same test as the process it replaces.
type probeStrategy struct {
	host    string
	port    string
	timeout time.Duration
	probe   func(addr string) runtime.Probe
}

func (r *dockerRun) waitFor(port string, timeout time.Duration, probe func(addr string) runtime.Probe) *probeStrategy {
	return &probeStrategy{host: r.host, port: port, timeout: timeout, probe: probe}
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
		if port, err := target.MappedPort(ctx, s.port); err == nil {
			attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
			last = s.probe(net.JoinHostPort(s.host, port.Port()))(attempt)
			cancelAttempt()
			if last == nil {
				return nil
			}
		} else {
			last = err
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
	port string // the app's HTTP port in the container ("8080/tcp"), for parts the harness reads
}

var _ runtime.Part = (*containerPart)(nil)

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
	return runtime.LastLines(data, lines)
}

// LogsAfter reads the container's log after the last line at.Since names (its timestamp, as the engine stamps
// it), the newest lines at most, so that a long log is not read again on every poll.
func (p *containerPart) LogsAfter(ctx context.Context, at runtime.LogCursor) (string, runtime.LogCursor) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Since: at.Since,
		Tail: strconv.Itoa(runtime.MaxLogRead / 256)}
	rc, err := p.cli.ContainerLogs(ctx, p.c.GetContainerID(), opts)
	if err != nil {
		return "", at
	}
	defer rc.Close()
	var raw bytes.Buffer
	if _, err := stdcopy.StdCopy(&raw, &raw, io.LimitReader(rc, 2*runtime.MaxLogRead)); err != nil && raw.Len() == 0 {
		return "", at
	}
	var b strings.Builder
	next := at
	for line := range strings.SplitSeq(raw.String(), "\n") {
		stamp, text, ok := strings.Cut(line, " ")
		// Since is inclusive to the second: a line at or before the last one read is not read again.
		if !ok || stamp <= at.Since {
			continue
		}
		b.WriteString(text)
		b.WriteByte('\n')
		next.Since = stamp
	}
	return b.String(), next
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
