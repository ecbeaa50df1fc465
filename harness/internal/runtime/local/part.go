package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// localPart is a part that is an OS process.
type localPart struct {
	name    string
	bin     string
	args    []string
	logPath string
	logs    []string // other files it writes, shown with its output
	ready   runtime.Probe
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
	addr, err := runtime.FreeLoopbackAddr()
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

var _ runtime.Part = (*localPart)(nil)

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
		if t := runtime.TailFile(path, lines); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}

// LogsAfter reads what the part's output and log files gained since at, the newest runtime.MaxLogRead bytes of each
// at most.
func (p *localPart) LogsAfter(_ context.Context, at runtime.LogCursor) (string, runtime.LogCursor) {
	files := append([]string{p.logPath}, p.logs...)
	next := runtime.LogCursor{Offsets: make([]int64, len(files))}
	var b strings.Builder
	for i, path := range files {
		var from int64
		if i < len(at.Offsets) {
			from = at.Offsets[i]
		}
		next.Offsets[i] = from
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if st, err := f.Stat(); err == nil {
			size := st.Size()
			if size < from { // truncated or replaced: from its start
				from = 0
			}
			from = max(from, size-runtime.MaxLogRead)
			data := make([]byte, size-from)
			n, _ := f.ReadAt(data, from)
			// Whole lines only: a line still being written is read whole the next time.
			if end := bytes.LastIndexByte(data[:n], '\n'); end >= 0 {
				b.Write(data[:end+1])
				next.Offsets[i] = from + int64(end+1)
			}
		}
		f.Close()
	}
	return b.String(), next
}
