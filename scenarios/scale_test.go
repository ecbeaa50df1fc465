package scenarios_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter counts the event log's lines and the exchanges among them without keeping them: the scale run
// must stream, not hold, its events. A line a write cut in two is put together first.
type countingWriter struct {
	lines, exchanges int
	partial          []byte
}

func (c *countingWriter) Write(p []byte) (int, error) {
	data := append(c.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		c.lines++
		// The header (run), the store and balancer records, fault marks and the end record are not exchanges.
		if !bytes.Contains(line, []byte(`"step":"store"`)) && !bytes.Contains(line, []byte(`"step":"balancer"`)) &&
			!bytes.Contains(line, []byte(`"step":"fault"`)) && !bytes.Contains(line, []byte(`"step":"run"`)) &&
			!bytes.Contains(line, []byte(`"step":"end"`)) {
			c.exchanges++
		}
	}
	c.partial = append(c.partial[:0], data...)
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
	assert.Equal(t, log.exchanges+4, log.lines, "and the header, the store and balancer records and the end record")
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

// TestFiftyThousandAtOnce is issue 18's scale run: 50,000 users at once behind real nginx and three fakeapp
// replicas (round-robin, sessions in sealed cookies so that every replica accepts them), arriving over 50 s, each
// logging in and opening four pages twenty seconds apart, so that all of them are there between 50 s and 80 s. A
// user thinking holds no connection (keep_alive 5s): the balancer holds the exchanges in flight, not one idle
// connection per user, which no process here could (the hard open-file limit is 20,000). With ten seconds between
// pages the two cores, shared by the client, nginx and the replicas, fall behind: the users would measure the
// machine, not the balancer. `make scale` runs it (about two minutes).
func TestFiftyThousandAtOnce(t *testing.T) {
	if os.Getenv("SESSIONLAB_SCALE") == "" {
		t.Skip("the 50,000-users-at-once run takes minutes: set SESSIONLAB_SCALE=1 or run `make scale`")
	}
	const users = 50000
	s, err := scenario.Load("rr-memory.yaml", "app.sessions=cookie", "clients.users=50000", "clients.concurrency=50000",
		"clients.pages=4", "clients.relogin=0", "clients.think.kind=constant", "clients.think.mean=20s",
		"clients.keep_alive=5s", "clients.arrival.kind=fixed", "clients.arrival.rate=1000")
	require.NoError(t, err)
	var log countingWriter
	start := time.Now()
	rep, err := harness.Run(context.Background(), s, harness.WithEvents(&log))
	require.NoError(t, err)
	assert.Equal(t, users, rep.Totals.Users)
	assert.GreaterOrEqual(t, rep.Totals.PeakUsersAtOnce, users, "every user was there at once")
	assert.Zero(t, rep.Totals.Errors, "no request failed: %v", rep.FailureCauses)
	assert.Zero(t, rep.Totals.LoginFailures, "no login failed: %v", rep.FailureCauses)
	assert.Equal(t, users*(3+4), rep.Totals.Requests, "every user's login (3 exchanges) and 4 pages")
	assert.Equal(t, rep.Totals.Requests, log.exchanges, "one event per request")
	assert.Equal(t, log.exchanges+4, log.lines, "and the header, the store and balancer records and the end record")
	t.Logf("%d users, %d at once at the peak, %d requests in %s, peak resident memory of the test process %s",
		rep.Totals.Users, rep.Totals.PeakUsersAtOnce, rep.Totals.Requests, time.Since(start).Round(time.Second), peakRSS())
}
