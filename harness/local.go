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
)

// Local is the default runtime: every part is a real OS process on loopback.
type Local struct {
	fakeApp      string
	nginx        string
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

// Start starts the replicas, waits until each answers /healthz, then starts nginx in front of them and waits until
// it answers through its PROXY-protocol listener.
func (l *Local) Start(ctx context.Context, t Topology) (*Deployment, error) {
	// Leftovers of runs that were killed outright would hold ports and CPU; clearing them is cheap.
	if _, err := SweepLocal(); err != nil {
		return nil, fmt.Errorf("sweep leftovers: %w", err)
	}
	dir, err := newWorkDir(t.Name)
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	d := &Deployment{Runtime: l.Name(), Dir: dir}
	d.onClose("run directory", func(context.Context) error { return os.RemoveAll(dir) })
	// nginx workers drop to an unprivileged user when the harness runs as root; they must reach their temp dirs.
	if err := os.Chmod(dir, 0o755); err != nil {
		return d, fmt.Errorf("run directory: %w", err)
	}
	nginxBin := l.nginx
	if nginxBin == "" {
		if nginxBin, err = findBinary("nginx", "nginx"); err != nil {
			return d, err
		}
	} else if !isExecutable(nginxBin) {
		return d, fmt.Errorf("nginx binary %s is not an executable file", nginxBin)
	}
	appBin, err := l.fakeAppBinary(ctx, dir)
	if err != nil {
		return d, err
	}
	if err := l.startReplicas(ctx, d, appBin, t); err != nil {
		return d, err
	}
	return d, l.startNginx(ctx, d, nginxBin, t)
}

func (l *Local) startReplicas(ctx context.Context, d *Deployment, bin string, t Topology) error {
	parts := make([]*localPart, len(t.Replicas))
	for i, r := range t.Replicas {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		parts[i] = &localPart{
			name: r.Name, bin: bin, logPath: filepath.Join(d.Dir, r.Name+".log"),
			args:  []string{"-listen", addr, "-name", r.Name, "-users", strconv.Itoa(t.Users), "-cookie-name", r.CookieName},
			ready: httpProbe("http://" + addr + "/healthz"), stopSig: syscall.SIGTERM, timeout: l.startTimeout,
		}
		d.Replicas = append(d.Replicas, Endpoint{Name: r.Name, Addr: addr})
	}
	// Start them all, then wait for each: replicas come up side by side.
	for _, p := range parts {
		d.addPart(p, p.Stop)
		if err := p.launch(); err != nil {
			return err
		}
	}
	for _, p := range parts {
		if err := p.awaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) startNginx(ctx context.Context, d *Deployment, bin string, t Topology) error {
	listen, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	errLog := filepath.Join(d.Dir, "nginx-error.log")
	cfg := nginxConfigFor(t, d.Replicas)
	cfg.Dir, cfg.ErrorLog, cfg.AccessLog, cfg.Listen = d.Dir, errLog, filepath.Join(d.Dir, "nginx-access.log"), listen
	cfg.TrustProxy = []string{"127.0.0.1", "::1"}
	text, err := renderNginx(cfg)
	if err != nil {
		return err
	}
	confPath := filepath.Join(d.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, text, 0o644); err != nil {
		return fmt.Errorf("write nginx config: %w", err)
	}
	p := &localPart{
		name: "nginx", bin: bin, logPath: filepath.Join(d.Dir, "nginx.out"), logs: []string{errLog},
		// -e sends start-up errors to the run directory instead of the package's /var/log/nginx.
		args:  []string{"-p", d.Dir + "/", "-c", confPath, "-e", errLog},
		ready: proxyProtocolProbe(listen), timeout: l.startTimeout,
		stopSig: syscall.SIGQUIT, // nginx's graceful shutdown: workers finish the requests they hold
	}
	d.addPart(p, p.Stop)
	if err := p.Start(ctx); err != nil {
		return err
	}
	d.Endpoint = listen
	return nil
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
