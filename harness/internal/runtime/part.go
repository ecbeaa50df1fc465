package runtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Part is one started component of a deployment — a replica, the balancer, the store, the identity provider — in
// either runtime. Faults act on parts, so that a fault means the same thing for a process and for a container.
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

// StorePart is the shared session store: a part the harness also reads, and whose saved data it can forget before
// a restart.
type StorePart interface {
	Part
	// HostAddr is where the harness reaches it (host:port).
	HostAddr(ctx context.Context) (string, error)
	// ForgetSaved removes what an earlier save left on disk, so that the next start comes up empty.
	ForgetSaved(ctx context.Context) error
}

// BalancerPart is the balancer: a part that can also load a new config while it runs.
type BalancerPart interface {
	Part
	// Reload makes text the config (nginx: SIGHUP; HAProxy: SIGUSR2 to the master) and waits until connections
	// are served by it. user says the config is the user's template, which may not report its generation.
	Reload(ctx context.Context, text []byte, gen int, user bool) error
}

// LoadedConfig is the config generation a balancer was last given, which its readiness probe must see.
type LoadedConfig struct {
	mu   sync.Mutex
	gen  int
	user bool // a user's template, which may not answer its generation
}

// Set records the generation just given to the balancer.
func (c *LoadedConfig) Set(gen int, user bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen, c.user = gen, user
}

// Want is the generation the probe must see, or 0 for any answer.
func (c *LoadedConfig) Want() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user {
		return 0
	}
	return c.gen
}

// AwaitReload polls ready until the new config answers. A user's template may not report its generation, so
// after a fixed settling time any answer counts.
func AwaitReload(ctx context.Context, ready Probe, user bool, timeout time.Duration) error {
	if user {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := Poll(ctx, timeout, ready, nil); err != nil {
		return fmt.Errorf("the new config was not answering after %s: %w", timeout, err)
	}
	return nil
}

// AwaitExit waits until none of old is among the processes running lists. A reload is only complete when the old
// workers are gone: nginx's master signals them 100 ms after starting the new ones, and until they exit they keep
// serving the keep-alive connections they hold, with the old config.
func AwaitExit(ctx context.Context, running func(context.Context) ([]int, error), old []int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		now, err := running(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(old, func(pid int) bool { return slices.Contains(now, pid) }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the old workers were still running after %s", timeout)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// LogFollower is a part whose log can be read on from where the last read stopped, so that a watch during the run
// reads each line once, however long the log grows (a balancer that runs out of files may log an error per
// refused accept, millions of lines). At most maxLogRead bytes come back per read: the newest, when more are new.
type LogFollower interface {
	LogsAfter(ctx context.Context, at LogCursor) (text string, next LogCursor)
}

// LogCursor is where a LogFollower's last read stopped: per log file, its offset (a process); or the timestamp of
// the last line read (a container). The zero value is the log's start.
type LogCursor struct {
	Offsets []int64
	Since   string
}

// MaxLogRead bounds one LogsAfter read.
const MaxLogRead = 4 << 20
