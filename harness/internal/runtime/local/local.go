// Package local is the local runtime: every part of a topology — the replicas (the built-in fake app or the user's
// app.command), Debian's nginx or haproxy or the caddy `sessionlab install` builds, redis-server, the identity
// provider — a real OS process on a free loopback port, in a process group of its own, stopped when the deployment
// closes. It links no container library.
package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/internal/pause"
)

// Local is the default runtime.
type Local struct {
	fakeApp      []string          // the command line before the fake app's own arguments
	binaries     map[string]string // a part's binary, by part (nginx, haproxy, caddy, redis-server)
	startTimeout time.Duration
}

var (
	_ runtime.Runtime = (*Local)(nil)
	_ runtime.Checker = (*Local)(nil)
)

// Option configures the local runtime.
type Option func(*Local)

// WithFakeApp runs the fake app as command followed by its own arguments: the sessionlab binary and "fakeapp", or
// a fakeapp binary alone. Without it, FakeApp says.
func WithFakeApp(command ...string) Option { return func(l *Local) { l.fakeApp = command } }

// WithBinary runs path as part (nginx, haproxy, caddy, redis-server) instead of the one Find finds.
func WithBinary(part, path string) Option { return func(l *Local) { l.binaries[part] = path } }

// WithStartTimeout bounds how long each part may take to become ready. Default: 15s.
func WithStartTimeout(d time.Duration) Option { return func(l *Local) { l.startTimeout = d } }

// New returns the local runtime.
func New(opts ...Option) *Local {
	l := &Local{startTimeout: 15 * time.Second, binaries: map[string]string{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Local) Name() string { return "local" }

// Check says which program t needs that this machine lacks: the balancer's binary, redis-server, or the user's
// app.command (the fakeapp is built when it is not found, so only the go tool is needed for it).
func (l *Local) Check(_ context.Context, t plan.Topology) error {
	if err := l.checkBalancers(t); err != nil {
		return err
	}
	if t.App.NeedsStore() {
		if _, err := l.binary("redis-server", "redis-server"); err != nil {
			return err
		}
	}
	if t.Own != nil && len(t.Own.Command) == 0 {
		return errNoCommand
	}
	return nil
}

var errNoCommand = fmt.Errorf("app.command is not set: the local runtime runs your app from its command line (app.image is for --runtime docker)")

// Start starts the replicas, waits until each answers its health path, then starts the balancer in front of them
// and waits until it answers through its PROXY-protocol listener.
func (l *Local) Start(ctx context.Context, d runtime.Recorder) error {
	t := d.Topology()
	// Leftovers of runs that were killed outright would hold ports and CPU; clearing them is cheap.
	if _, err := runtime.SweepLocal(); err != nil {
		return fmt.Errorf("sweep leftovers: %w", err)
	}
	dir, err := runtime.NewWorkDir(t.Name)
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	d.SetDir(dir)
	d.OnClose("run directory", func(context.Context) error { return os.RemoveAll(dir) })
	// nginx workers drop to an unprivileged user when the harness runs as root; they must reach their temp dirs.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if err := l.checkBalancers(t); err != nil {
		return err
	}
	r := &localRun{l: l, d: d, hostAddrs: map[string]string{}}
	d.SetBackend(r)
	switch {
	case t.Own != nil && len(t.Own.Command) == 0:
		return errNoCommand
	case t.NeedsFakeApp():
		if r.appCmd, err = l.fakeAppCommand(ctx); err != nil {
			return err
		}
	}
	if t.App.NeedsStore() {
		if err := r.startStore(ctx); err != nil {
			return err
		}
	}
	if t.App.NeedsIdP() {
		if err := r.startIdP(ctx); err != nil {
			return err
		}
	}
	if err := r.startReplicas(ctx, t.Replicas); err != nil {
		return err
	}
	return r.startBalancer(ctx)
}

// checkBalancers says which balancer binary t needs that is missing: a set's, or the front's HAProxy.
func (l *Local) checkBalancers(t plan.Topology) error {
	for _, b := range t.Sets() {
		kind, err := balancer.Lookup(b.Kind)
		if err != nil {
			return err
		}
		if _, err := l.balancerBinary(kind); err != nil {
			return err
		}
	}
	if t.Fronted() {
		if _, err := l.frontBinary(); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) balancerBinary(kind *balancer.Kind) (string, error) {
	if bin := l.binaries[kind.Name]; bin != "" {
		return given(kind.Name, bin)
	}
	return FindBalancer(kind)
}

// frontBinary is the HAProxy a tier's front runs.
func (l *Local) frontBinary() (string, error) {
	kind, err := balancer.Lookup("haproxy")
	if err != nil {
		return "", err
	}
	return l.balancerBinary(kind)
}

// localRun is one deployment's processes: the runtime's side of it (runtime.Backend).
type localRun struct {
	l         *Local
	d         runtime.Recorder
	appCmd    []string          // the fake app's command line, when the replicas or the identity provider are it
	hostAddrs map[string]string // parts other than replicas -> where they listen (written before the users start)
	instances [][]instanceFiles // per balancer set, each instance's address and files, in order
}

// instanceFiles is where one balancer instance listens and writes.
type instanceFiles struct {
	name, listen, dir, peer string // peer: where it listens for its peers (balancer.peers), else ""
}

// fakeApp is the fake app's program and arguments for its own arguments args.
func (r *localRun) fakeApp(args []string) (string, []string) {
	return r.appCmd[0], append(slices.Clone(r.appCmd[1:]), args...)
}

func (r *localRun) HostAddr(_ context.Context, name string) (string, error) {
	for _, e := range r.d.Replicas() {
		if e.Name == name {
			return e.Addr, nil
		}
	}
	if a, ok := r.hostAddrs[name]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no part named %q", name)
}

func (r *localRun) StartReplica(ctx context.Context, spec plan.ReplicaSpec) error {
	p, err := r.newReplica(spec)
	if err != nil {
		return err
	}
	return p.startRebinding(ctx)
}

// newReplica prepares a replica's process on a free loopback port and records it in the deployment.
func (r *localRun) newReplica(spec plan.ReplicaSpec) (*localPart, error) {
	d, t := r.d, r.d.Topology()
	p := &localPart{name: spec.Name, logPath: filepath.Join(d.Dir(), spec.Name+".log"), stopSig: syscall.SIGTERM, timeout: r.l.startTimeout}
	p.bindTo = func(addr string) {
		p.bin, p.args = r.fakeApp(t.FakeAppArgs(spec, addr, d.StoreAddr(), d.IdPURL()))
		p.ready = runtime.HTTPProbe("http://" + addr + "/healthz")
		d.SetReplica(runtime.Endpoint{Name: spec.Name, Index: spec.Index, Addr: addr})
	}
	if own := t.Own; own != nil {
		p.timeout = own.Health.Timeout
		p.bindTo = func(addr string) {
			p.ready = runtime.HTTPProbe("http://" + addr + own.Health.Path)
			d.SetReplica(runtime.Endpoint{Name: spec.Name, Index: spec.Index, Addr: addr})
			v, err := t.AppVars(spec, addr, d.Dir(), d.StoreAddr(), d.IdPURL())
			if err != nil {
				p.bindErr = err
				return
			}
			c, err := own.LocalCommand(v)
			p.bin, p.args, p.env, p.dir, p.bindErr = c.Bin, c.Args, c.Env, c.Dir, err
		}
	}
	if err := p.bindFree(); err != nil {
		return nil, err
	}
	d.AddPart(p, p.Stop)
	return p, nil
}

func (r *localRun) startReplicas(ctx context.Context, specs []plan.ReplicaSpec) error {
	parts := make([]*localPart, len(specs))
	for i, spec := range specs {
		p, err := r.newReplica(spec)
		if err != nil {
			return err
		}
		parts[i] = p
	}
	if own := r.d.Topology().Own; own != nil && own.Stagger > 0 {
		// One after another, each ready before the stagger starts: an app that migrates a shared database on start
		// must be done before the next one looks at it.
		for i, p := range parts {
			if i > 0 && !pause.Sleep(ctx, own.Stagger) {
				return ctx.Err()
			}
			if err := p.startRebinding(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	// Start them all, then wait for each: replicas come up side by side.
	for _, p := range parts {
		if err := p.launch(); err != nil {
			return err
		}
	}
	for _, p := range parts {
		err := p.awaitReady(ctx)
		if isPortTaken(err) {
			err = p.startRebinding(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// startStore starts redis-server on a free loopback port, its data directory in the run's directory.
func (r *localRun) startStore(ctx context.Context) error {
	bin, err := r.l.binary("redis-server", "redis-server")
	if err != nil {
		return err
	}
	d := r.d
	dataDir := filepath.Join(d.Dir(), "redis")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("store directory: %w", err)
	}
	p := &localStore{dataDir: dataDir, localPart: &localPart{
		name: plan.PartStore, bin: bin, logPath: filepath.Join(d.Dir(), "redis.log"), stopSig: syscall.SIGTERM, timeout: r.l.startTimeout,
	}}
	p.bindTo = func(addr string) {
		_, portText, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		p.args, p.ready = runtime.RedisArgs(port, "127.0.0.1", dataDir), runtime.RedisProbe(addr)
		p.addr = addr
		d.SetStore(p, addr)
	}
	if err := p.bindFree(); err != nil {
		return err
	}
	d.AddPart(p, p.Stop)
	return p.startRebinding(ctx)
}

// localStore is redis-server as a process.
type localStore struct {
	*localPart
	dataDir string
	addr    string
}

func (s *localStore) HostAddr(context.Context) (string, error) { return s.addr, nil }

func (s *localStore) ForgetSaved(context.Context) error {
	if err := os.Remove(filepath.Join(s.dataDir, runtime.RedisDump)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("forget the store's saved data: %w", err)
	}
	return nil
}

// startIdP starts the identity provider (fakeapp idp) on a free loopback port.
func (r *localRun) startIdP(ctx context.Context) error {
	d := r.d
	p := &localPart{name: plan.PartIdP, logPath: filepath.Join(d.Dir(), "idp.log"), stopSig: syscall.SIGTERM, timeout: r.l.startTimeout}
	p.bindTo = func(a string) {
		p.bin, p.args = r.fakeApp(d.Topology().IdPArgs(a))
		p.ready = runtime.HTTPProbe("http://" + a + d.Topology().IdPReadyPath())
		r.hostAddrs[plan.PartIdP] = a
		d.SetIdPURL("http://" + a)
	}
	if err := p.bindFree(); err != nil {
		return err
	}
	d.AddPart(p, p.Stop)
	return p.startRebinding(ctx)
}

func (r *localRun) FillConfig(set, instance int, c *balancer.Config) {
	f := r.instances[set][instance-1]
	name := r.d.KindOf(set).Name
	c.Dir, c.ErrorLog, c.AccessLog, c.Listen = f.dir, r.errLog(set, f), filepath.Join(f.dir, name+"-access.log"), f.listen
	c.TrustProxy = []string{"127.0.0.1", "::1"}
	if name == "caddy" {
		c.AdminSocket = adminSocket(f)
	}
	if r.d.Topology().Set(set).Peers {
		for _, p := range r.instances[set] {
			c.Peers = append(c.Peers, balancer.Peer{Name: p.name, Addr: p.peer})
		}
	}
}

// adminSocket is where a Caddy instance's admin API listens: a Unix socket in its directory, whose path has room
// for about 100 bytes; a run directory deeper than that goes without ("").
func adminSocket(f instanceFiles) string {
	if sock := filepath.Join(f.dir, "caddy-admin.sock"); len(sock) < 100 {
		return sock
	}
	return ""
}

func (r *localRun) InstanceAddr(set, instance int) string { return r.instances[set][instance-1].listen }

func (r *localRun) FrontListen() string { return r.hostAddrs[plan.PartFront] }

func (r *localRun) errLog(set int, f instanceFiles) string {
	return filepath.Join(f.dir, r.d.KindOf(set).Name+"-error.log")
}

// startBalancer starts the balancer: one instance, or a tier's instances (and the balancers a switch moves to)
// side by side, and the front before them.
func (r *localRun) startBalancer(ctx context.Context) error {
	d, t := r.d, r.d.Topology()
	for set, spec := range t.Sets() {
		r.instances = append(r.instances, nil)
		for i := range t.Instances() {
			f := instanceFiles{name: t.SetInstanceName(set, i+1), dir: d.Dir()}
			var err error
			if f.listen, err = runtime.FreeLoopbackAddr(); err != nil {
				return err
			}
			if t.Fronted() {
				// Each instance its own directory: nginx's pid file and temp directories, Caddy's storage and socket.
				f.dir = filepath.Join(d.Dir(), f.name)
				if err := os.MkdirAll(f.dir, 0o755); err != nil {
					return fmt.Errorf("%s directory: %w", f.name, err)
				}
			}
			if spec.Peers {
				if f.peer, err = runtime.FreeLoopbackAddr(); err != nil {
					return err
				}
			}
			r.instances[set] = append(r.instances[set], f)
			r.hostAddrs[f.name] = f.listen
		}
	}
	for set := range t.Sets() {
		bin, err := r.l.balancerBinary(d.KindOf(set))
		if err != nil {
			return err
		}
		for i := range r.instances[set] {
			if err := r.startInstance(ctx, bin, set, i+1); err != nil {
				return err
			}
		}
	}
	if !t.Fronted() {
		d.SetEndpoint(r.instances[0][0].listen)
		return nil
	}
	return r.startFront(ctx)
}

// startInstance starts instance number instance (from 1) of balancer set number set and waits until it answers.
func (r *localRun) startInstance(ctx context.Context, bin string, set, instance int) error {
	d, kind, f := r.d, r.d.KindOf(set), r.instances[set][instance-1]
	t := d.Topology()
	confPath := filepath.Join(f.dir, kind.ConfFile)
	b := &localBalancer{confPath: confPath, reloadSig: kind.ReloadSignal}
	b.localPart = &localPart{
		name: f.name, bin: bin, logPath: filepath.Join(f.dir, kind.Name+".out"), logs: []string{r.errLog(set, f)},
		args: kind.LocalArgs(f.dir, confPath, r.errLog(set, f), f.listen),
		ready: func(ctx context.Context) error {
			return runtime.BalancerProbe(f.listen, b.Want(), !t.Bind() || t.Fronted())(ctx)
		},
		timeout: r.l.startTimeout, stopSig: kind.StopSignal,
	}
	text, gen, err := d.RenderBalancer(set, instance)
	if err != nil {
		return err
	}
	if err := b.write(text, gen, t.Set(set).Template != nil); err != nil {
		return err
	}
	d.AddPart(b, b.Stop)
	d.AddBalancer(set, b)
	if sock := adminSocket(f); kind.Name == "caddy" && set == 0 && sock != "" {
		d.SetAdminSocket(sock) // the scenario's own Caddy instances are watched for their failure counts
	}
	if err := b.Start(ctx); err != nil {
		return balancer.WithConfigLine(err, confPath, text)
	}
	return nil
}

// startFront starts the L4 front (HAProxy in TCP mode) before the instances, and waits until an instance answers
// through it.
func (r *localRun) startFront(ctx context.Context) error {
	d, t := r.d, r.d.Topology()
	bin, err := r.l.frontBinary()
	if err != nil {
		return err
	}
	haproxy, err := balancer.Lookup("haproxy")
	if err != nil {
		return err
	}
	listen, err := runtime.FreeLoopbackAddr()
	if err != nil {
		return err
	}
	r.hostAddrs[plan.PartFront] = listen
	text, err := d.RenderFront()
	if err != nil {
		return err
	}
	confPath := filepath.Join(d.Dir(), balancer.FrontConfFile)
	errLog := filepath.Join(d.Dir(), "front-error.log")
	// The front drains: a switch leaves the connections the old worker holds with it until they close.
	p := &localBalancer{confPath: confPath, reloadSig: haproxy.ReloadSignal, drain: true}
	p.localPart = &localPart{
		name: plan.PartFront, bin: bin, logPath: filepath.Join(d.Dir(), "front.out"), logs: []string{errLog},
		args:    haproxy.LocalArgs(d.Dir(), confPath, errLog, listen),
		ready:   runtime.BalancerProbe(listen, 0, !t.Bind()),
		timeout: r.l.startTimeout, stopSig: haproxy.StopSignal,
	}
	if err := p.write(text, 0, true); err != nil {
		return err
	}
	d.AddPart(p, p.Stop)
	d.SetFront(p)
	if err := p.Start(ctx); err != nil {
		return balancer.WithConfigLine(err, confPath, text)
	}
	d.SetEndpoint(listen)
	return nil
}

// localBalancer is the balancer process; it can load a new config without a restart.
type localBalancer struct {
	*localPart
	runtime.LoadedConfig
	confPath  string
	reloadSig syscall.Signal
	drain     bool // a reload does not wait for the old workers: they keep the connections they hold until those close
}

func (b *localBalancer) write(text []byte, gen int, user bool) error {
	if err := os.WriteFile(b.confPath, text, 0o644); err != nil {
		return fmt.Errorf("write %s config: %w", b.name, err)
	}
	b.Set(gen, user)
	return nil
}

func (b *localBalancer) Reload(ctx context.Context, text []byte, gen int, user bool) error {
	if err := b.write(text, gen, user); err != nil {
		return err
	}
	if b.proc == nil || b.proc.exited() {
		return fmt.Errorf("reload %s: it is not running", b.name)
	}
	workers := func(context.Context) ([]int, error) { return runtime.ChildPIDs(b.pid()), nil }
	old, _ := workers(ctx)
	if err := b.proc.signalLeader(b.reloadSig); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if err := runtime.AwaitReload(ctx, b.localPart.ready, user, b.timeout); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if b.drain {
		return nil
	}
	return runtime.AwaitExit(ctx, workers, old, b.timeout)
}
