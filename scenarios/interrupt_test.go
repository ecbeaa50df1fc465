package scenarios_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cancelAfter is a harness.Watcher that cancels the run's context once after users have finished: an
// interruption half-way, as a Ctrl-C would be.
type cancelAfter struct {
	users  int64
	done   atomic.Int64
	cancel context.CancelCauseFunc
}

func (c *cancelAfter) Start(int)           {}
func (c *cancelAfter) Record(events.Event) {}
func (c *cancelAfter) UserDone() {
	if c.done.Add(1) == c.users {
		c.cancel(errors.New("the test interrupted it"))
	}
}

// interruptedLog reads an event log back with the events reader: its exchanges and its end record.
func interruptedLog(t *testing.T, log []byte) ([]events.Event, events.End) {
	t.Helper()
	r, err := events.NewReader(bytes.NewReader(log))
	require.NoError(t, err)
	var exchanges []events.Event
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if e.IsExchange() {
			exchanges = append(exchanges, e)
		}
	}
	return exchanges, r.End()
}

// A run whose context is cancelled after some users finished is reported, not lost: the report is marked
// interrupted with the users done, every request sent is in the event log once and in the report, no exchange the
// interruption cut counts as an error or a failed login, no expectation is judged met, the log's end record says
// so (and `sessionlab report` reads it back the same), and nothing the run started is left running. With no grace
// the requests in flight are cut; with a grace the users in flight finish and none is.
func TestInterruptedRunIsReported(t *testing.T) {
	eachRuntime(t, testInterruptedRunIsReported)
}

func testInterruptedRunIsReported(t *testing.T, rt harness.Runtime) {
	const planned = 3000
	for _, tt := range []struct {
		name  string
		grace time.Duration
		think string
	}{
		{"no grace: the requests in flight are cut", 0, "{kind: none}"},
		{"a grace: the users in flight finish", 5 * time.Second, "{kind: constant, mean: 5ms}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "interrupted"
			s, err := scenario.Load("rr-memory.yaml", "name="+name, "balancer.strategy=ip-hash", "clients.users=3000",
				"clients.concurrency=30", "clients.pages=8", "clients.think="+tt.think, "expect.login_failure_rate=< 0.01")
			require.NoError(t, err)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			w := &cancelAfter{users: 200, cancel: cancel}
			var log bytes.Buffer
			began := time.Now()
			rep, err := harness.Run(ctx, s, harness.WithRuntime(rt), harness.WithEvents(&log), harness.WithWatcher(w),
				harness.WithGrace(tt.grace))
			require.NoError(t, err, "an interrupted run is no failed run")
			require.NotNil(t, rep)
			assert.Less(t, time.Since(began), 2*time.Minute, "the run stopped well before its 3000 users")

			assert.True(t, rep.Interrupted, "the report is marked interrupted")
			assert.Equal(t, "the test interrupted it", rep.InterruptedBy)
			assert.Equal(t, planned, rep.Totals.Users, "the users planned")
			require.NotNil(t, rep.Totals.UsersDone)
			done := *rep.Totals.UsersDone
			assert.GreaterOrEqual(t, done, 200, "the users done before the cancel are counted")
			assert.Less(t, done, planned, "not every user ran")

			exchanges, end := interruptedLog(t, log.Bytes())
			assert.Len(t, exchanges, rep.Totals.Requests, "every request sent is in the log once, and in the report")
			assert.True(t, end.Interrupted, "the end record is marked interrupted")
			assert.Equal(t, "the test interrupted it", end.Cause)
			require.NotNil(t, end.UsersDone)
			assert.Equal(t, done, *end.UsersDone)

			cut, errs, users := 0, 0, map[int]bool{}
			cutUsers := map[int]bool{}
			for _, e := range exchanges {
				users[e.User] = true
				assert.False(t, cutUsers[e.User], "user %d sent nothing after the cut", e.User)
				switch e.Outcome {
				case events.OutcomeInterrupted:
					cut++
					cutUsers[e.User] = true
					assert.NotEmpty(t, e.Error, "a cut exchange says how it was cut")
				case events.OutcomeError:
					errs++
				}
			}
			t.Logf("%d of %d users done, %d started, %d requests, %d cut", done, planned, len(users), len(exchanges), cut)
			assert.Equal(t, cut, rep.Totals.Interrupted, "the cut exchanges have their own count")
			assert.Zero(t, errs, "no exchange is an error: ip-hash keeps every user on one replica")
			assert.Zero(t, rep.Totals.Errors, "no exchange the interruption cut counts as an error")
			assert.Zero(t, rep.Totals.LoginFailures, "a login the interruption cut is no failed login")
			assert.Zero(t, rep.FailureCauses["error"])
			assert.Zero(t, rep.Totals.AffectedUsers, "a user the interruption cut is not affected by the app")
			assert.Zero(t, rep.Totals.SessionLosses)
			if tt.grace == 0 {
				assert.Positive(t, cut, "with no grace, the 30 users in flight had requests cut")
				assert.Less(t, done, len(users), "the users cut are not done")
			} else {
				assert.Zero(t, cut, "within the grace every user in flight finished")
				assert.Equal(t, len(users), done, "every user that started is done")
			}

			require.Len(t, rep.Expectations, 1)
			assert.False(t, rep.Expectations[0].OK, "an interrupted run's expectations are not judged met")
			require.NotNil(t, rep.Expectations[0].Got, "the figure so far is shown")

			again, err := reports.ReadLog(bytes.NewReader(log.Bytes()))
			require.NoError(t, err)
			assert.True(t, again.Interrupted, "the log rendered again says it was interrupted")
			assert.Equal(t, rep.Totals, again.Totals, "and gives the same figures")
			assertNothingLeft(t, rt, name)
		})
	}
}
