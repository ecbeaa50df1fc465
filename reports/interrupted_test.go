package reports_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// endRecord is the end record of a run, interrupted or not, with its users done.
func endRecord(interrupted bool, cause string, done int) events.Event {
	return events.Event{User: -1, Step: events.StepEnd, End: &events.End{Interrupted: interrupted, Cause: cause, UsersDone: &done}}
}

// Exchanges the interruption cut count apart: in no error, no failed login, no affected user; a login attempt it
// cut is no attempt, one that had failed before the cut stays failed; the end record marks the report.
func TestInterruptedExchangesCountInNoFailure(t *testing.T) {
	const get, post = http.MethodGet, http.MethodPost
	cut := events.OutcomeInterrupted
	tests := []struct {
		name                             string
		log                              []events.Event
		attempts, failures, errors, cutN int
		affected, losses, pages          int
		interrupted                      bool
		usersDone                        *int
		causes                           map[string]int
		bucketInterrupted, bucketError   int
	}{
		{
			name: "a login cut before its answer is no attempt",
			log: []events.Event{
				login(1, 1, get, "/login", "replica-1", "ok"), login(1, 1, post, "/login", "replica-1", "ok"),
				login(1, 1, get, "/", "replica-1", "ok"), page(1, "/page/1", "replica-1", "ok"),
				login(2, 1, get, "/login", "replica-1", "ok"), login(2, 1, post, "/login", "", cut),
				login(3, 1, get, "/login", "", cut),
				endRecord(true, "SIGINT", 1),
			},
			attempts: 1, cutN: 2, pages: 1, interrupted: true, usersDone: new(1), bucketInterrupted: 2,
		},
		{
			name: "a login that failed before the cut stays failed",
			log: []events.Event{
				login(1, 1, get, "/login", "replica-1", "ok"), login(1, 1, post, "/login", "replica-1", "ok"),
				login(1, 1, get, "/", "replica-2", "loop"), login(1, 1, get, "/login", "", cut),
				endRecord(true, "SIGTERM", 0),
			},
			attempts: 1, failures: 1, cutN: 1, affected: 1, interrupted: true, usersDone: new(0),
			causes: map[string]int{"loop": 1}, bucketInterrupted: 1,
		},
		{
			name: "a page cut is no loss and no error; a real error still is",
			log: []events.Event{
				login(1, 1, get, "/login", "replica-1", "ok"), login(1, 1, post, "/login", "replica-1", "ok"),
				login(1, 1, get, "/", "replica-1", "ok"), page(1, "/page/1", "replica-1", "error"),
				page(1, "/page/2", "", cut),
				endRecord(true, "SIGINT", 0),
			},
			attempts: 1, errors: 1, cutN: 1, affected: 1, pages: 2, interrupted: true, usersDone: new(0),
			bucketInterrupted: 1, bucketError: 1,
		},
		{
			name: "a run that finished",
			log: []events.Event{
				login(1, 1, get, "/login", "replica-1", "ok"), login(1, 1, post, "/login", "replica-1", "ok"),
				login(1, 1, get, "/", "replica-1", "ok"), endRecord(false, "", 3),
			},
			attempts: 1, usersDone: new(3),
		},
		{
			name: "an end record that does not count users done (an older log)",
			log: []events.Event{
				login(1, 1, get, "/login", "replica-1", "ok"),
				{User: -1, Step: events.StepEnd, End: &events.End{}},
			},
			attempts: 1,
		},
		{
			name:     "no end record (a report computed from exchanges alone)",
			log:      []events.Event{login(1, 1, get, "/login", "replica-1", "ok")},
			attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := reports.Compute(meta("replica-1", "replica-2"), tt.log)
			tot := rep.Totals
			assert.Equal(t, tt.interrupted, rep.Interrupted)
			assert.Equal(t, tt.usersDone, tot.UsersDone)
			assert.Equal(t, tt.attempts, tot.LoginAttempts, "login attempts")
			assert.Equal(t, tt.failures, tot.LoginFailures, "login failures")
			assert.Equal(t, tt.errors, tot.Errors, "errors")
			assert.Equal(t, tt.cutN, tot.Interrupted, "interrupted")
			assert.Equal(t, tt.affected, tot.AffectedUsers, "affected users")
			assert.Equal(t, tt.losses, tot.SessionLosses)
			assert.Equal(t, tt.pages, tot.PageRequests)
			assert.Equal(t, len(tt.log)-countEnds(tt.log), tot.Requests, "every exchange is a request; the end record is none")
			for c, n := range rep.FailureCauses {
				assert.Equal(t, tt.causes[c], n, "cause %s", c)
			}
			assert.NotContains(t, rep.FailureCauses, events.OutcomeInterrupted, "an interruption is no failure cause")
			var bi, be int
			for _, b := range rep.OverTime.Buckets {
				bi, be = bi+b.Interrupted, be+b.Error
			}
			assert.Equal(t, tt.bucketInterrupted, bi, "the plot's buckets count the cut exchanges apart")
			assert.Equal(t, tt.bucketError, be)
			if tt.cutN > 0 {
				assert.Len(t, rep.Phases, 0)
			}
		})
	}
}

func countEnds(log []events.Event) int {
	n := 0
	for _, e := range log {
		if e.Step == events.StepEnd {
			n++
		}
	}
	return n
}

// No expectation of an interrupted run is judged met, though its figure so far is given; Check reports false.
func TestCheckJudgesNoExpectationOfAnInterruptedRun(t *testing.T) {
	for _, interrupted := range []bool{false, true} {
		rep := reports.Compute(meta("replica-1"), []events.Event{login(1, 1, http.MethodGet, "/login", "replica-1", "ok")})
		rep.Interrupted = interrupted
		all := rep.Check(map[string]string{"requests": "== 1", "errors": "== 0"})
		assert.Equal(t, !interrupted, all, "interrupted %v", interrupted)
		for _, e := range rep.Expectations {
			assert.Equal(t, !interrupted, e.OK, "%s, interrupted %v", e.Key, interrupted)
			require.NotNil(t, e.Got, "the figure so far is there")
		}
	}
}

// A saved log says whether its run was interrupted (its end record), and so does the merge of shards when any
// shard was, with the users done summed; a log written before the end record said so reads as a run that finished.
func TestSavedLogsSayTheRunWasInterrupted(t *testing.T) {
	write := func(t *testing.T, m events.Meta, end events.End, evs ...events.Event) []byte {
		t.Helper()
		var buf bytes.Buffer
		w, err := events.NewWriter(&buf, events.Header{Meta: m, Expect: map[string]string{"login_failure_rate": "< 0.01"}})
		require.NoError(t, err)
		for _, e := range evs {
			w.Record(e)
		}
		require.NoError(t, w.CloseWith(end))
		return buf.Bytes()
	}
	ok := login(1, 1, http.MethodGet, "/login", "replica-1", "ok")

	t.Run("one log", func(t *testing.T) {
		rep, err := reports.ReadLog(bytes.NewReader(write(t, meta("replica-1"), events.End{Interrupted: true, Cause: "SIGINT", UsersDone: new(1)}, ok)))
		require.NoError(t, err)
		assert.True(t, rep.Interrupted)
		assert.Equal(t, "SIGINT", rep.InterruptedBy)
		assert.Equal(t, new(1), rep.Totals.UsersDone)
		require.Len(t, rep.Expectations, 1)
		assert.False(t, rep.Expectations[0].OK, "not judged")
		assert.Equal(t, 1, rep.Totals.Requests)
	})
	t.Run("an older log", func(t *testing.T) {
		old := `{"step":"run","run":{"schema":"sessionlab.events/v1","scenario":"rr-memory","seed":1,"runtime":"local","balancer":{"kind":"nginx","strategy":"round-robin"},"app":{"replicas":1,"sessions":"memory"},"replicas":["replica-1"],"users":3,"faults":[]}}
{"t_ms":1,"user":1,"addr":"","step":"login","attempt":1,"method":"GET","path":"/login","status":200,"replica":"replica-1","outcome":"ok","latency_us":1}
{"t_ms":0,"user":-1,"addr":"","step":"end","method":"","path":"","status":0,"replica":"","outcome":"","latency_us":0,"end":{"records":2}}
`
		rep, err := reports.ReadLog(bytes.NewReader([]byte(old)))
		require.NoError(t, err)
		assert.False(t, rep.Interrupted)
		assert.Nil(t, rep.Totals.UsersDone, "unknown, not zero")
	})
	t.Run("shards", func(t *testing.T) {
		shard := func(i int) events.Meta {
			m := meta("replica-1")
			m.Shard = &events.Shard{Index: i, Count: 2}
			return m
		}
		a := write(t, shard(0), events.End{UsersDone: new(2)}, ok)
		b := write(t, shard(1), events.End{Interrupted: true, Cause: "SIGTERM", UsersDone: new(0)}, login(2, 1, http.MethodGet, "/login", "", events.OutcomeInterrupted))
		rep, err := reports.MergeLogs(reports.Log{Name: "a", R: bytes.NewReader(a)}, reports.Log{Name: "b", R: bytes.NewReader(b)})
		require.NoError(t, err)
		assert.True(t, rep.Interrupted, "one shard interrupted: the run was")
		assert.Equal(t, "SIGTERM", rep.InterruptedBy)
		assert.Equal(t, new(2), rep.Totals.UsersDone)
		assert.Equal(t, 1, rep.Totals.Interrupted)
		assert.Zero(t, rep.Totals.Errors)
	})
}
