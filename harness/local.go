package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/clients"
)

// Local is the default runtime: every part is a real OS process on loopback.
type Local struct {
	fakeApp      string
	nginx        string
	haproxy      string
	startTimeout time.Duration
}

var _ Runtime = (*Local)(nil)

// LocalOption configures the local runtime.
type LocalOption func(*Local)

// WithFakeAppBinary runs this fakeapp binary. Without it: $SESSIONLAB_FAKEAPP, else a "fakeapp" beside the running
// executable, else one built with the go tool into the run's directory (inside the sessionlab module).
func WithFakeAppBinary(path string) LocalOption { return func(l *Local) { l.fakeApp = path } }

// WithNginxBinary runs this nginx instead of the one found in PATH or /usr/sbin.
func WithNginxBinary(path string) LocalOption { return func(l *Local) { l.nginx = path } }

// WithHAProxyBinary runs this haproxy instead of the one found in PATH or /usr/sbin.
func WithHAProxyBinary(path string) LocalOption { return func(l *Local) { l.haproxy = path } }

// WithStartTimeout bounds how long each part may take to become ready. Default: 15s.
func WithStartTimeout(d time.Duration) LocalOption { return func(l *Local) { l.startTimeout = d } }

// NewLocal returns the local runtime.
func NewLocal(opts ...LocalOption) *Local {
	l := &Local{startTimeout: 15 * time.Second}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Local) Name() string { return "local" }

// Start starts the replicas, waits until each answers /healthz, then starts the balancer in front of them and waits
// until it answers through its PROXY-protocol listener.
func (l *Local) Start(ctx context.Context, t Topology) (*Deployment, error) {
	kind, ok := balancerKinds[t.Balancer.Kind]
	if !ok {
		return nil, fmt.Errorf("balancer kind %q is not known", t.Balancer.Kind)
	}
	// Leftovers of runs that were killed outright would hold ports and CPU; clearing them is cheap.
	if _, err := SweepLocal(); err != nil {
		return nil, fmt.Errorf("sweep leftovers: %w", err)
	}
	dir, err := newWorkDir(t.Name)
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	d := &Deployment{Runtime: l.Name(), Dir: dir, topology: t, kind: kind}
	d.onClose("run directory", func(context.Context) error { return os.RemoveAll(dir) })
	// nginx workers drop to an unprivileged user when the harness runs as root; they must reach their temp dirs.
	if err := os.Chmod(dir, 0o755); err != nil {
		return d, fmt.Errorf("run directory: %w", err)
	}
	balancerBin := l.balancerBinary(kind.name)
	if balancerBin == "" {
		if balancerBin, err = findBinary(kind.name, kind.pkg); err != nil {
			return d, err
		}
	} else if !isExecutable(balancerBin) {
		return d, fmt.Errorf("%s binary %s is not an executable file", kind.name, balancerBin)
	}
	var appBin string
	switch {
	case t.Own != nil && len(t.Own.command) == 0:
		return d, fmt.Errorf("app.command is not set: the local runtime runs your app from its command line (app.image is for --runtime docker)")
	case t.Own == nil || t.App.NeedsIdP():
		if appBin, err = l.fakeAppBinary(ctx, dir); err != nil {
			return d, err
		}
	}
	hostAddrs := map[string]string{}
	d.hostAddr = func(_ context.Context, name string) (string, error) {
		for _, e := range d.activeReplicas() {
			if e.Name == name {
				return e.Addr, nil
			}
		}
		if a, ok := hostAddrs[name]; ok {
			return a, nil
		}
		return "", fmt.Errorf("no part named %q", name)
	}
	if t.App.NeedsStore() {
		if err := l.startStore(ctx, d); err != nil {
			return d, err
		}
	}
	if t.App.NeedsIdP() {
		addr, err := l.startIdP(ctx, d, appBin)
		if err != nil {
			return d, err
		}
		hostAddrs[idpPartName] = addr
	}
	d.addReplica = func(ctx context.Context, r ReplicaSpec) error {
		p, err := l.newReplica(d, appBin, r)
		if err != nil {
			return err
		}
		return p.startRebinding(ctx)
	}
	if err := l.startReplicas(ctx, d, appBin, t); err != nil {
		return d, err
	}
	return d, l.startBalancer(ctx, d, kind, balancerBin)
}

func (l *Local) balancerBinary(kind string) string {
	if kind == "nginx" {
		return l.nginx
	}
	return l.haproxy
}

// newReplica prepares a replica's process on a free loopback port and records it in the deployment.
func (l *Local) newReplica(d *Deployment, bin string, r ReplicaSpec) (*localPart, error) {
	p := &localPart{name: r.Name, bin: bin, logPath: filepath.Join(d.Dir, r.Name+".log"), stopSig: syscall.SIGTERM, timeout: l.startTimeout}
	p.bindTo = func(addr string) {
		p.args = d.topology.replicaArgs(r, addr, d.storeAddr, d.idpURL)
		p.ready = httpProbe("http://" + addr + "/healthz")
		d.setEndpoint(Endpoint{Name: r.Name, Addr: addr})
	}
	if own := d.topology.Own; own != nil {
		p.timeout = time.Duration(own.health.Timeout)
		p.bindTo = func(addr string) {
			p.ready = httpProbe("http://" + addr + own.health.Path)
			d.setEndpoint(Endpoint{Name: r.Name, Addr: addr})
			v, err := d.topology.appVars(r, addr, d.Dir, d.storeAddr)
			if err != nil {
				p.bindErr = err
				return
			}
			c, err := own.localCommand(v)
			p.bin, p.args, p.env, p.dir, p.bindErr = c.bin, c.args, c.env, c.dir, err
		}
	}
	if err := p.bindFree(); err != nil {
		return nil, err
	}
	d.addPart(p, p.Stop)
	return p, nil
}

func (l *Local) startReplicas(ctx context.Context, d *Deployment, bin string, t Topology) error {
	parts := make([]*localPart, len(t.Replicas))
	for i, r := range t.Replicas {
		p, err := l.newReplica(d, bin, r)
		if err != nil {
			return err
		}
		parts[i] = p
	}
	if own := t.Own; own != nil && own.stagger > 0 {
		// One after another, each ready before the stagger starts: an app that migrates a shared database on start
		// must be done before the next one looks at it.
		for i, p := range parts {
			if i > 0 && !clients.Sleep(ctx, own.stagger) {
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
func (l *Local) startStore(ctx context.Context, d *Deployment) error {
	bin, err := findBinary("redis-server", "redis-server")
	if err != nil {
		return err
	}
	dataDir := filepath.Join(d.Dir, "redis")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("store directory: %w", err)
	}
	p := &localStore{dataDir: dataDir, localPart: &localPart{
		name: targetStore, bin: bin, logPath: filepath.Join(d.Dir, "redis.log"), stopSig: syscall.SIGTERM, timeout: l.startTimeout,
	}}
	p.bindTo = func(addr string) {
		_, portText, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		p.args, p.ready = redisArgs(port, "127.0.0.1", dataDir), redisProbe(addr)
		p.addr, d.storeAddr = addr, addr
	}
	if err := p.bindFree(); err != nil {
		return err
	}
	d.store = p
	d.addPart(p, p.Stop)
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
	if err := os.Remove(filepath.Join(s.dataDir, redisDump)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("forget the store's saved data: %w", err)
	}
	return nil
}

// startIdP starts the identity provider (fakeapp idp) on a free loopback port and returns where it listens.
func (l *Local) startIdP(ctx context.Context, d *Deployment, appBin string) (string, error) {
	p := &localPart{name: idpPartName, bin: appBin, logPath: filepath.Join(d.Dir, "idp.log"), stopSig: syscall.SIGTERM, timeout: l.startTimeout}
	var addr string
	p.bindTo = func(a string) {
		addr, p.args, p.ready = a, d.topology.idpArgs(a), httpProbe("http://"+a+"/healthz")
		d.idpURL = "http://" + a
	}
	if err := p.bindFree(); err != nil {
		return "", err
	}
	d.addPart(p, p.Stop)
	err := p.startRebinding(ctx)
	return addr, err
}

func (l *Local) startBalancer(ctx context.Context, d *Deployment, kind *balancerKind, bin string) error {
	listen, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	errLog := filepath.Join(d.Dir, kind.name+"-error.log")
	confPath := filepath.Join(d.Dir, kind.confFile)
	d.fillConfig = func(c *BalancerConfig) {
		c.Dir, c.ErrorLog, c.AccessLog, c.Listen = d.Dir, errLog, filepath.Join(d.Dir, kind.name+"-access.log"), listen
		c.TrustProxy = []string{"127.0.0.1", "::1"}
	}
	b := &localBalancer{confPath: confPath, reloadSig: kind.reloadSig}
	b.localPart = &localPart{
		name: kind.name, bin: bin, logPath: filepath.Join(d.Dir, kind.name+".out"), logs: []string{errLog},
		args:    kind.localArgs(d.Dir, confPath, errLog),
		ready:   func(ctx context.Context) error { return balancerProbe(listen, b.want(), !d.topology.BindIdentity)(ctx) },
		timeout: l.startTimeout, stopSig: kind.stopSig,
	}
	text, gen, err := d.renderBalancer()
	if err != nil {
		return err
	}
	if err := b.write(text, gen, d.topology.Balancer.Template != nil); err != nil {
		return err
	}
	d.balancer = b
	d.addPart(b, b.Stop)
	if err := b.Start(ctx); err != nil {
		return withConfigLine(err, confPath, text)
	}
	d.Endpoint = listen
	return nil
}

// localBalancer is the balancer process; it can load a new config without a restart.
type localBalancer struct {
	*localPart
	loadedConfig
	confPath  string
	reloadSig syscall.Signal
}

func (b *localBalancer) write(text []byte, gen int, user bool) error {
	if err := os.WriteFile(b.confPath, text, 0o644); err != nil {
		return fmt.Errorf("write %s config: %w", b.name, err)
	}
	b.set(gen, user)
	return nil
}

func (b *localBalancer) Reload(ctx context.Context, text []byte, gen int, user bool) error {
	if err := b.write(text, gen, user); err != nil {
		return err
	}
	if b.proc == nil || b.proc.exited() {
		return fmt.Errorf("reload %s: it is not running", b.name)
	}
	workers := func(context.Context) ([]int, error) { return ChildPIDs(b.pid()), nil }
	old, _ := workers(ctx)
	if err := b.proc.signalLeader(b.reloadSig); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	if err := awaitReload(ctx, b.localPart.ready, user, b.timeout); err != nil {
		return fmt.Errorf("reload %s: %w", b.name, err)
	}
	return awaitExit(ctx, workers, old, b.timeout)
}

func (l *Local) fakeAppBinary(ctx context.Context, dir string) (string, error) {
	if l.fakeApp != "" {
		return l.fakeApp, nil
	}
	if p := LocateFakeApp(); p != "" {
		return p, nil
	}
	return BuildFakeApp(ctx, dir)
}

// LocateFakeApp finds a fakeapp binary without building one: $SESSIONLAB_FAKEAPP, else a "fakeapp" beside the
// running executable. It returns "" when there is none.
func LocateFakeApp() string {
	if p := os.Getenv("SESSIONLAB_FAKEAPP"); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "fakeapp"); isExecutable(p) {
			return p
		}
	}
	return ""
}

// BuildFakeApp builds cmd/fakeapp into dir (a new working directory when dir is "") with the go tool and returns
// the binary's path. It works inside the sessionlab module (a checkout, `go run`, `go test`).
func BuildFakeApp(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = newWorkDir("build"); err != nil {
			return "", fmt.Errorf("build fakeapp: %w", err)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no fakeapp binary: build one (`make build`) and pass --fakeapp bin/fakeapp or set SESSIONLAB_FAKEAPP, or install the go tool")
	}
	out := filepath.Join(dir, "fakeapp")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, "github.com/sessionlab/sessionlab/cmd/fakeapp")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build fakeapp: %w\n%s", err, msg)
	}
	return out, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// freeLoopbackAddr returns 127.0.0.1:PORT for a port nothing listened on a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
