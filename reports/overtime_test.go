package reports_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// A damaged or hand-edited log may hold times no run has: huge, negative, overflowing once the latency is added.
// Each exchange still counts once, in a series of at most 120 buckets, and the phases hold every request.
// (FuzzReadLog found such logs taking seconds each, when the series kept a slice for every 100 ms up to a day.)
func TestExtremeTimesStayCountedAndBounded(t *testing.T) {
	page := func(tms, lat int64) events.Event {
		return events.Event{TMs: tms, User: 1, Step: events.StepPage, Outcome: events.OutcomeOK, Replica: "replica-1", LatencyUS: lat}
	}
	fault := func(tms int64, i int, phase string) events.Event {
		return events.Event{TMs: tms, User: -1, Step: events.StepFault, Fault: &events.FaultMark{Index: i, Action: "kill", Target: "replica-2", Phase: phase}}
	}
	cases := map[string][]events.Event{
		"max t_ms":              {page(1, 0), page(math.MaxInt64, 0)},
		"max latency":           {page(1, 0), page(1, math.MaxInt64)},
		"min t_ms":              {page(math.MinInt64, 0), page(1, 0)},
		"negative latency":      {page(1, math.MinInt64)},
		"fault at max t_ms":     {page(1, 0), fault(math.MaxInt64, 0, events.FaultStart), page(2, 0)},
		"fault from min to max": {fault(math.MinInt64, 0, events.FaultStart), page(1, 0), fault(math.MaxInt64, 0, events.FaultEnd)},
		"faults far apart":      {fault(0, 0, events.FaultStart), fault(1<<50, 0, events.FaultEnd), fault(1<<51, 1, events.FaultStart), page(1<<52, 0)},
		"both ends":             {page(math.MinInt64, 0), page(math.MaxInt64, math.MaxInt64)},
	}
	for name, evs := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := events.NewWriter(&buf, events.Header{Meta: faultMeta(killR2, scaleOut)})
			require.NoError(t, err)
			for _, e := range evs {
				w.Record(e)
			}
			require.NoError(t, w.Close())
			rep, err := reports.ReadLog(&buf)
			require.NoError(t, err)
			checkConsistent(t, rep)
			assert.LessOrEqual(t, len(rep.OverTime.Buckets), 120)
			counted := 0
			for _, b := range rep.OverTime.Buckets {
				counted += b.Total()
			}
			assert.Equal(t, rep.Totals.Requests, counted, "every exchange in one bucket")
		})
	}
}

// A header that claims more users than any scenario may have, with user ids to match, is counted without a slice
// as long as the largest id (FuzzReadLog found logs that stalled or ran out of memory there).
func TestHugeUserIDsAreCounted(t *testing.T) {
	m := faultMeta(killR2)
	m.Users = 1 << 50
	var buf bytes.Buffer
	w, err := events.NewWriter(&buf, events.Header{Meta: m})
	require.NoError(t, err)
	for _, id := range []int{1, 1 << 40, 1<<40 + 1, math.MaxInt} {
		w.Record(events.Event{TMs: 1, User: id, Step: events.StepPage, Outcome: events.OutcomeOK, Replica: "replica-1"})
	}
	w.Record(events.Event{TMs: 2, User: -1, Step: events.StepFault, Fault: &events.FaultMark{Index: 0, Action: "kill", Target: "replica-2", Phase: events.FaultStart}})
	w.Record(events.Event{TMs: 3, User: 1 << 40, Step: events.StepPage, Outcome: events.OutcomeOK, Replica: "replica-2"})
	require.NoError(t, w.Close())
	rep, err := reports.ReadLog(&buf)
	require.NoError(t, err)
	checkConsistent(t, rep)
	assert.Equal(t, 5, rep.Totals.Requests)
	assert.Equal(t, 4, rep.Replicas[0].Users, "four distinct users on replica-1")
}

// A damaged log whose logins carry hundreds of outcome names no client writes: past the 256 the accumulator
// interns, the rest count as errors (they recursed without end, a stack overflow, when "error" was never seen).
func TestHundredsOfOutcomeNamesCountAsErrors(t *testing.T) {
	var evs []events.Event
	for i := range 300 {
		evs = append(evs, events.Event{TMs: int64(i), User: i + 1, Step: events.StepLogin, Attempt: 1, Outcome: fmt.Sprintf("odd-%d", i), Replica: "replica-1"})
	}
	rep := reports.Compute(faultMeta(), evs)
	assert.Equal(t, 300, rep.Totals.LoginFailures)
	assert.Equal(t, 300, rep.Totals.LoginAttempts)
}

// A re-authentication's loss counts against the page that went to the identity provider, once: a loss with no such
// page (only a damaged log has one) is none, and a fault between the page and its loss leaves no phase with more
// losses than pages (FuzzReadLog found "1 session loss of 0 protected pages").
func TestReauthLossCountsAgainstItsPage(t *testing.T) {
	reauth := func(tms int64, user int, outcome string) events.Event {
		return events.Event{TMs: tms, User: user, Step: events.StepReauth, Outcome: outcome, Replica: "replica-1"}
	}
	page := func(tms int64, user int, outcome string) events.Event {
		return events.Event{TMs: tms, User: user, Step: events.StepPage, Outcome: outcome, Replica: "replica-1"}
	}
	mark := func(tms int64, phase string) events.Event {
		return events.Event{TMs: tms, User: -1, Step: events.StepFault, Fault: &events.FaultMark{Index: 0, Action: "kill", Target: "replica-2", Phase: phase}}
	}
	rep := reports.Compute(faultMeta(killR2), []events.Event{
		reauth(1, 1, events.OutcomeLoss), // no page went to the identity provider: not a loss
		page(2, 2, events.OutcomeReauth), mark(3, events.FaultStart), reauth(4, 2, events.OutcomeLoss),
		reauth(5, 2, events.OutcomeLoss), // the page's loss is counted once
		mark(6, events.FaultEnd),
	})
	checkConsistent(t, rep)
	assert.Equal(t, 1, rep.Totals.SessionLosses)
	assert.Equal(t, 1, rep.Totals.PageRequests)
	require.NotEmpty(t, rep.Phases)
	assert.Equal(t, 1, rep.Phases[0].SessionLosses, "in the phase of the page, before the fault")
}
