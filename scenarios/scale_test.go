package scenarios_test

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter counts the event log's lines and the exchanges among them without keeping them: the scale run
// must stream, not hold, its events.
type countingWriter struct{ lines, exchanges int }

func (c *countingWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if strings.HasSuffix(line, "\n") {
			c.lines++
			// The header (run), the store record and the end record are not exchanges.
			if !strings.Contains(line, `"step":"store"`) && !strings.Contains(line, `"step":"fault"`) &&
				!strings.Contains(line, `"step":"run"`) && !strings.Contains(line, `"step":"end"`) {
				c.exchanges++
			}
		}
	}
	return len(p), nil
}

// TestHundredThousandUsers is the scale run of issue 6: 100,000 users, 3 replicas, round-robin, 2 pages each. It
// takes about two minutes, so it runs only with SESSIONLAB_SCALE=1 (`make scale`).
func TestHundredThousandUsers(t *testing.T) {
	if os.Getenv("SESSIONLAB_SCALE") == "" {
		t.Skip("the 100,000-user run takes minutes: set SESSIONLAB_SCALE=1 or run `make scale`")
	}
	s, err := scenario.Load("rr-memory.yaml", "clients.users=100000", "clients.pages=2", "clients.concurrency=200")
	require.NoError(t, err)
	var log countingWriter
	rep, err := harness.Run(context.Background(), s, harness.WithEvents(&log))
	require.NoError(t, err)
	assert.Equal(t, 100000, rep.Totals.Users)
	assert.Equal(t, rep.Totals.Requests, log.exchanges, "one event per request")
	assert.Equal(t, log.exchanges+3, log.lines, "and the header, the store record and the end record")
	t.Logf("requests %d, peak resident memory of the test process %s", rep.Totals.Requests, peakRSS())
}

// peakRSS is this process's peak resident set (VmHWM).
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
