package runtime

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logPart is a balancer part whose log the test writes.
type logPart struct {
	name string
	mu   sync.Mutex
	log  strings.Builder
}

func (p *logPart) write(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.WriteString(line + "\n")
}

func (p *logPart) Name() string                                    { return p.name }
func (p *logPart) Kill(context.Context) error                      { return nil }
func (p *logPart) Stop(context.Context) error                      { return nil }
func (p *logPart) Start(context.Context) error                     { return nil }
func (p *logPart) Running(context.Context) bool                    { return true }
func (p *logPart) Reload(context.Context, []byte, int, bool) error { return nil }
func (p *logPart) Logs(context.Context, int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// LogsAfter follows the log by offset, as a process's files are followed.
func (p *logPart) LogsAfter(_ context.Context, at LogCursor) (string, LogCursor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var from int64
	if len(at.Offsets) > 0 {
		from = at.Offsets[0]
	}
	text := p.log.String()
	return text[from:], LogCursor{Offsets: []int64{int64(len(text))}}
}

// A manual clock: the run's time since its start, moved by the test.
type testClock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *testClock) set(d time.Duration) { c.mu.Lock(); c.now = d; c.mu.Unlock() }
func (c *testClock) get() time.Duration  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func TestLimitWatchBlamesOnlyWhatItsPartsSaid(t *testing.T) {
	d, err := New("test", plan.Topology{Balancer: plan.BalancerSpec{Kind: "nginx"}})
	require.NoError(t, err)
	nginx := &logPart{name: "balancer"}
	nginx.write("2026/12/01 14:00:00 [warn] 1#1: *3 upstream server temporarily disabled while connecting to upstream")
	d.AddBalancer(0, nginx)
	clock := &testClock{}
	w := d.WatchLimits(clock.get)
	ctx := context.Background()

	clock.set(2 * time.Second)
	assert.False(t, w.Broke(ctx, 1500*time.Millisecond), "no limit line: an error is the system's")

	// The line is written before the exchange that it broke fails: the read Broke makes sees it.
	nginx.write("2026/12/01 14:00:03 [alert] 1#1: 64 worker_connections are not enough")
	clock.set(3 * time.Second)
	assert.True(t, w.Broke(ctx, 2900*time.Millisecond))
	// An exchange that began long after the line was read is not explained by it.
	clock.set(10 * time.Second)
	assert.False(t, w.Broke(ctx, 9*time.Second))

	nginx.write("2026/12/01 14:00:10 [alert] 1#1: 64 worker_connections are not enough")
	nginx.write("2026/12/01 14:00:10 [crit] 1#1: accept4() failed (24: Too many open files)")
	clock.set(11 * time.Second)
	hits := w.Stop(ctx)
	require.Len(t, hits, 2)
	assert.Equal(t, "balancer", hits[0].Part)
	assert.Equal(t, "worker_connections", hits[0].Limit)
	assert.Equal(t, 2, hits[0].Lines)
	assert.Equal(t, int64(3000), hits[0].FirstMs)
	assert.Equal(t, int64(11000), hits[0].LastMs)
	assert.Contains(t, hits[0].Sample, "14:00:10")
	assert.Equal(t, "open_files", hits[1].Limit)
	assert.Equal(t, 1, hits[1].Lines)
}

func TestLimitWatchWithoutPartsSeesNothing(t *testing.T) {
	d, err := New("target", plan.Topology{Balancer: plan.BalancerSpec{Kind: "nginx"}})
	require.NoError(t, err)
	w := d.WatchLimits(func() time.Duration { return time.Second })
	assert.False(t, w.Broke(context.Background(), 0))
	assert.Empty(t, w.Stop(context.Background()))
}
