package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// process is one OS process the local runtime started, in a process group of its own so that stopping it also stops
// anything it forked (nginx's workers), and so that a Ctrl-C in the terminal reaches the harness, which then stops
// its processes in order, instead of killing them mid-request.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // set before done closes
}

// startProcess starts bin with args; stdout and stderr go to logPath. setup, when given, adjusts the command before
// it starts (its environment, its directory).
func startProcess(name, bin string, args []string, logPath string, setup ...func(*exec.Cmd)) (*process, error) {
	// Append: a part started again after a fault keeps the output of its earlier life.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	for _, f := range setup {
		f(cmd)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup sends sig to the whole process group; a group already gone is not an error.
func (p *process) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s: %w", sig, err)
	}
	return nil
}

// signalLeader sends sig to the process alone (a balancer's master), not to its workers.
func (p *process) signalLeader(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", sig, err)
	}
	return nil
}

// stop asks the process to exit with sig, waits up to grace (or ctx), then kills its whole group. The group is
// killed even after a clean exit, so no forked child outlives its parent.
func (p *process) stop(ctx context.Context, sig syscall.Signal, grace time.Duration) error {
	err := p.signalGroup(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	case <-ctx.Done():
	}
	return errors.Join(err, p.kill())
}

// kill ends the whole group at once and waits for the leader.
func (p *process) kill() error {
	err := p.signalGroup(syscall.SIGKILL)
	<-p.done
	return err
}

// exitError describes a process that ended when it should not have, with the last lines it wrote.
func (p *process) exitError(extraLogs ...string) error {
	return errors.New(fmt.Sprintf("%s exited: %v", p.name, p.err) + p.output(extraLogs...))
}

// output is the last lines the process wrote (and of its other logs), for an error message.
func (p *process) output(extraLogs ...string) string {
	var msg string
	for _, path := range append([]string{p.logPath}, extraLogs...) {
		if t := runtime.TailFile(path, 20); t != "" {
			msg += "\n--- last lines of " + path + " ---\n" + t
		}
	}
	if msg == "" {
		msg = "\n(it wrote no output to " + p.logPath + ")"
	}
	return msg
}

// waitReady polls probe until it passes, the process exits, or timeout passes.
func waitReady(ctx context.Context, p *process, timeout time.Duration, ready runtime.Probe, extraLogs ...string) error {
	exited := func() error {
		if p.exited() {
			return p.exitError(extraLogs...)
		}
		return nil
	}
	err := runtime.Poll(ctx, timeout, ready, exited)
	switch {
	case err == nil:
		return nil
	case exited() != nil:
		return exited()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s not ready: %w", p.name, ctx.Err())
	}
	return fmt.Errorf("%s not ready after %s: %w%s", p.name, timeout, err, p.output(extraLogs...))
}
