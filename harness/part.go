package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Part is one started component of a deployment — a replica or the balancer — in either runtime. Faults act on
// parts, so that a fault means the same thing for a process and for a container.
type Part interface {
	Name() string
	// Kill ends the part at once (SIGKILL, container kill): in-flight requests are cut.
	Kill(ctx context.Context) error
	// Stop ends the part gracefully: it finishes what it holds first.
	Stop(ctx context.Context) error
	// Start starts a stopped or killed part again, on the same address, and waits until it is ready.
	Start(ctx context.Context) error
	// Running reports whether the part is up (it may not be ready yet).
	Running(ctx context.Context) bool
	// Logs returns the last lines of its output.
	Logs(ctx context.Context, lines int) string
}

// Part finds a started part by name ("replica-2", "nginx").
func (d *Deployment) Part(name string) (Part, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for _, p := range d.parts {
		if p.Name() == name {
			return p, nil
		}
		names = append(names, p.Name())
	}
	return nil, fmt.Errorf("no part named %q (parts: %s)", name, strings.Join(names, ", "))
}

// Parts lists the started parts in start order.
func (d *Deployment) Parts() []Part {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Part(nil), d.parts...)
}

// addPart records a started part and registers what Close does to it (a process is stopped, a container removed).
func (d *Deployment) addPart(p Part, release func(context.Context) error) {
	d.mu.Lock()
	d.parts = append(d.parts, p)
	d.mu.Unlock()
	d.onClose(p.Name(), release)
}

// logsOf is the last lines of every part's output, for an error message.
func (d *Deployment) logsOf(ctx context.Context, lines int) string {
	var b strings.Builder
	for _, p := range d.Parts() {
		if l := p.Logs(ctx, lines); l != "" {
			fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", p.Name(), l)
		}
	}
	return b.String()
}

// localPart is a part that is an OS process.
type localPart struct {
	name    string
	bin     string
	args    []string
	logPath string
	logs    []string // other files it writes, shown with its output
	ready   probe
	stopSig syscall.Signal // its graceful-stop signal
	timeout time.Duration
	proc    *process
	// bindTo points the part at a listen address (its args, its probe, what the deployment records), for parts
	// started on a port chosen by the harness; nil for the others.
	bindTo func(addr string)
	// env and dir, when set, are the process's whole environment and its working directory (the user's app).
	env []string
	dir string
	// bindErr is why bindTo could not prepare the part (a template that failed to render); Start returns it.
	bindErr error
}

// bindFree points the part at a loopback port that was free a moment ago.
func (p *localPart) bindFree() error {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	p.bindTo(addr)
	return nil
}

// startRebinding starts the part; when its port was taken between the harness choosing it and the part binding it
// (processes of other runs, test packages side by side, connect from ports of the same range), it chooses another
// port and starts again, a few times.
func (p *localPart) startRebinding(ctx context.Context) error {
	for try := 1; ; try++ {
		err := p.Start(ctx)
		if !isPortTaken(err) || try == 3 {
			return err
		}
		if err := p.bindFree(); err != nil {
			return err
		}
	}
}

// isPortTaken reports a start that failed because the listen port was in use (the part's output says so).
func isPortTaken(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

var _ Part = (*localPart)(nil)

func (p *localPart) Name() string { return p.name }

func (p *localPart) Start(ctx context.Context) error {
	if err := p.launch(); err != nil {
		return err
	}
	return p.awaitReady(ctx)
}

// launch starts the process without waiting for it, so that several parts can come up side by side.
func (p *localPart) launch() error {
	if p.proc != nil && !p.proc.exited() {
		return fmt.Errorf("start %s: already running", p.name)
	}
	if p.bindErr != nil {
		return fmt.Errorf("start %s: %w", p.name, p.bindErr)
	}
	proc, err := startProcess(p.name, p.bin, p.args, p.logPath, func(c *exec.Cmd) {
		if p.env != nil {
			c.Env = p.env
		}
		c.Dir = p.dir
	})
	if err != nil {
		return err
	}
	p.proc = proc
	return nil
}

func (p *localPart) awaitReady(ctx context.Context) error {
	return waitReady(ctx, p.proc, p.timeout, p.ready, p.logs...)
}

func (p *localPart) Running(context.Context) bool { return p.proc != nil && !p.proc.exited() }

func (p *localPart) pid() int { return p.proc.cmd.Process.Pid }

func (p *localPart) Kill(context.Context) error {
	if p.proc == nil {
		return nil
	}
	return p.proc.kill()
}

func (p *localPart) Stop(ctx context.Context) error {
	if p.proc == nil {
		return nil
	}
	return p.proc.stop(ctx, p.stopSig, 5*time.Second)
}

func (p *localPart) Logs(_ context.Context, lines int) string {
	var parts []string
	for _, path := range append([]string{p.logPath}, p.logs...) {
		if t := tailFile(path, lines); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}
