package reports_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

func at(t int64, e events.Event) events.Event {
	e.TMs = t
	return e
}

func mark(t int64, index int, action, target, phase string) events.Event {
	return events.Event{TMs: t, Step: events.StepFault,
		Fault: &events.FaultMark{Index: index, Action: action, Target: target, Phase: phase}}
}

func start(t int64, index int, action, target string) events.Event {
	return mark(t, index, action, target, events.FaultStart)
}

func end(t int64, index int, action, target string) events.Event {
	return mark(t, index, action, target, events.FaultEnd)
}

func faultMeta(faults ...events.FaultPlan) events.Meta {
	m := meta("replica-1", "replica-2", "replica-3")
	m.Faults = faults
	return m
}

var (
	killR2    = events.FaultPlan{Action: "kill", Target: "replica-2", At: "1500 requests"}
	stopR1    = events.FaultPlan{Action: "stop", Target: "replica-1", At: "1s"}
	restartDB = events.FaultPlan{Action: "restart-store", Target: "redis", At: "2s"}
	scaleOut  = events.FaultPlan{Action: "scale-out", At: "3s"}
	reloadLB  = events.FaultPlan{Action: "reload-balancer", Target: "nginx", At: "4s"}
)

// phaseRow is the part of a Phase the tests compare; replicas reads "replica-1/replica-2/replica-3".
type phaseRow struct {
	name                                    string
	from, to                                int64
	requests, attempts, failures            int
	pages, losses, users, usersLost, errors int
	replicas                                string
}

func rows(r *reports.Report) []phaseRow {
	out := make([]phaseRow, len(r.Phases))
	for i, p := range r.Phases {
		per := make([]string, len(p.Replicas))
		for j, rep := range p.Replicas {
			per[j] = strconv.Itoa(rep.Requests)
		}
		out[i] = phaseRow{p.Name, p.FromMs, p.ToMs, p.Requests, p.LoginAttempts, p.LoginFailures,
			p.PageRequests, p.SessionLosses, p.Users, p.UsersWithLoss, p.Errors, strings.Join(per, "/")}
	}
	return out
}

func TestPhases(t *testing.T) {
	const get, post = "GET", "POST"
	tests := []struct {
		name   string
		faults []events.FaultPlan
		evs    []events.Event
		want   []phaseRow
	}{
		{
			name:   "one instantaneous fault",
			faults: []events.FaultPlan{killR2},
			evs: []events.Event{
				at(1, login(1, 1, get, "/login", "replica-1", "ok")),
				at(2, login(1, 1, post, "/login", "replica-2", "ok")),
				start(10, 0, "kill", "replica-2"),
				end(10, 0, "kill", "replica-2"),
				// the attempt began before the kill: it counts there, failure and all
				at(11, login(1, 1, get, "/", "replica-1", "loop")),
				at(12, page(2, "/page/1", "replica-3", "loss")),
				at(13, login(3, 1, post, "/login", "replica-2", "rejected")),
				at(14, page(2, "/page/2", "", "error")),
			},
			want: []phaseRow{
				{"before", 0, 10, 2, 1, 1, 0, 0, 1, 0, 0, "1/1/0"},
				{"during kill replica-2", 10, 10, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"after kill replica-2", 10, 14, 4, 1, 1, 2, 1, 3, 1, 1, "1/1/1"},
			},
		},
		{
			name:   "fault with a duration",
			faults: []events.FaultPlan{stopR1},
			evs: []events.Event{
				at(0, page(1, "/page/1", "replica-1", "ok")),
				start(100, 0, "stop", "replica-1"),
				at(100, page(1, "/page/2", "replica-2", "loss")), // sent at the start: during
				at(150, page(1, "/page/3", "replica-2", "loss")),
				at(160, page(2, "/page/1", "replica-3", "ok")),
				end(200, 0, "stop", "replica-1"),
				at(250, page(1, "/page/4", "replica-1", "ok")),
			},
			want: []phaseRow{
				{"before", 0, 100, 1, 0, 0, 1, 0, 1, 0, 0, "1/0/0"},
				{"during stop replica-1", 100, 200, 3, 0, 0, 3, 2, 2, 1, 0, "0/2/1"},
				{"after stop replica-1", 200, 250, 1, 0, 0, 1, 0, 1, 0, 0, "1/0/0"},
			},
		},
		{
			name:   "overlapping faults, the later one ends last",
			faults: []events.FaultPlan{stopR1, restartDB},
			evs: []events.Event{
				start(10, 0, "stop", "replica-1"),
				start(20, 1, "restart-store", "redis"),
				at(25, page(1, "/page/1", "replica-2", "loss")),
				end(30, 0, "stop", "replica-1"),
				end(40, 1, "restart-store", "redis"),
				at(45, page(1, "/page/2", "replica-1", "ok")),
			},
			want: []phaseRow{
				{"before", 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1", 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1 + restart-store redis", 20, 30, 1, 0, 0, 1, 1, 1, 1, 0, "0/1/0"},
				{"during restart-store redis", 30, 40, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"after restart-store redis", 40, 45, 1, 0, 0, 1, 0, 1, 0, 0, "1/0/0"},
			},
		},
		{
			name:   "overlapping faults, the earlier one ends last",
			faults: []events.FaultPlan{stopR1, scaleOut},
			evs: []events.Event{
				start(10, 0, "stop", "replica-1"),
				start(20, 1, "scale-out", ""),
				end(30, 1, "scale-out", ""),
				end(40, 0, "stop", "replica-1"),
			},
			want: []phaseRow{
				{"before", 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1", 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1 + scale-out", 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1", 30, 40, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"after stop replica-1", 40, 40, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
			},
		},
		{
			name:   "a fault not reached adds no boundary",
			faults: []events.FaultPlan{killR2, scaleOut},
			evs: []events.Event{
				at(5, page(1, "/page/1", "replica-2", "ok")),
				start(10, 0, "kill", "replica-2"),
				end(12, 0, "kill", "replica-2"),
				at(20, page(1, "/page/2", "replica-1", "loss")),
			},
			want: []phaseRow{
				{"before", 0, 10, 1, 0, 0, 1, 0, 1, 0, 0, "0/1/0"},
				{"during kill replica-2", 10, 12, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"after kill replica-2", 12, 20, 1, 0, 0, 1, 1, 1, 1, 0, "1/0/0"},
			},
		},
		{
			name:   "no fault reached",
			faults: []events.FaultPlan{killR2},
			evs:    []events.Event{at(5, page(1, "/page/1", "replica-2", "ok")), at(9, page(2, "/page/1", "zz", "ok"))},
			want:   []phaseRow{{"before", 0, 9, 2, 0, 0, 2, 0, 2, 0, 0, "0/1/0/1"}},
		},
		{
			name:   "a fault that does not end lasts to the end of the run",
			faults: []events.FaultPlan{stopR1},
			evs:    []events.Event{start(10, 0, "stop", "replica-1"), at(30, page(1, "/page/1", "replica-2", "ok"))},
			want: []phaseRow{
				{"before", 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
				{"during stop replica-1", 10, 30, 1, 0, 0, 1, 0, 1, 0, 0, "0/1/0"},
			},
		},
		{
			name:   "an earlier exchange arriving after a later one and after the marks",
			faults: []events.FaultPlan{stopR1},
			evs: []events.Event{
				start(10, 0, "stop", "replica-1"),
				end(20, 0, "stop", "replica-1"),
				at(25, page(1, "/page/1", "replica-2", "ok")),
				at(15, page(2, "/page/1", "replica-3", "loss")),
				at(5, page(3, "/page/1", "replica-1", "ok")),
			},
			want: []phaseRow{
				{"before", 0, 10, 1, 0, 0, 1, 0, 1, 0, 0, "1/0/0"},
				{"during stop replica-1", 10, 20, 1, 0, 0, 1, 1, 1, 1, 0, "0/0/1"},
				{"after stop replica-1", 20, 25, 1, 0, 0, 1, 0, 1, 0, 0, "0/1/0"},
			},
		},
		{
			name: "marks of a fault the scenario does not list still split the run",
			evs:  []events.Event{at(1, page(1, "/page/1", "replica-1", "ok")), start(5, 3, "kill", "replica-1")},
			want: []phaseRow{
				{"before", 0, 5, 1, 0, 0, 1, 0, 1, 0, 0, "1/0/0"},
				{"during kill replica-1", 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, "0/0/0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(faultMeta(tt.faults...), tt.evs)
			assert.Equal(t, tt.want, rows(r))
			assertPhasesSum(t, r)
		})
	}
}

// assertPhasesSum checks that the phases split the run's figures without losing or doubling any.
func assertPhasesSum(t *testing.T, r *reports.Report) {
	t.Helper()
	var sum reports.Totals
	perReplica := make([]int, len(r.Replicas))
	for _, p := range r.Phases {
		sum.Requests += p.Requests
		sum.Errors += p.Errors
		sum.LoginAttempts += p.LoginAttempts
		sum.LoginFailures += p.LoginFailures
		sum.PageRequests += p.PageRequests
		sum.SessionLosses += p.SessionLosses
		require.Len(t, p.Replicas, len(r.Replicas), p.Name)
		for i, rep := range p.Replicas {
			assert.Equal(t, r.Replicas[i].Name, rep.Name, p.Name)
			perReplica[i] += rep.Requests
		}
	}
	tot := r.Totals
	assert.Equal(t, [6]int{tot.Requests, tot.Errors, tot.LoginAttempts, tot.LoginFailures, tot.PageRequests, tot.SessionLosses},
		[6]int{sum.Requests, sum.Errors, sum.LoginAttempts, sum.LoginFailures, sum.PageRequests, sum.SessionLosses},
		"requests, errors, login attempts, login failures, page requests, session losses")
	for i, rep := range r.Replicas {
		assert.Equal(t, rep.Requests, perReplica[i], rep.Name)
	}
}

// withMarks is runEvents, 10 ms apart, with two faults in the middle.
func withMarks() []events.Event {
	var evs []events.Event
	for i, e := range runEvents() {
		switch i {
		case 4:
			evs = append(evs, start(35, 0, "kill", "replica-2"), end(36, 0, "kill", "replica-2"))
		case 11:
			evs = append(evs, start(105, 1, "scale-out", ""))
		case 13:
			evs = append(evs, end(125, 1, "scale-out", ""))
		}
		evs = append(evs, at(int64(i*10), e))
	}
	return evs
}

func TestPhasesSumToTotals(t *testing.T) {
	r := reports.Compute(faultMeta(killR2, scaleOut), withMarks())
	require.Len(t, r.Phases, 5)
	assert.Equal(t, 16, r.Totals.Requests)
	assertPhasesSum(t, r)
}

func TestFaultMarksAreNotRequests(t *testing.T) {
	m := faultMeta(killR2, scaleOut)
	with, without := reports.Compute(m, withMarks()), reports.Compute(m, runEvents())
	// withMarks gives the exchanges other times, which moves the users' spans, and only them.
	with.Totals.PeakUsersAtOnce, without.Totals.PeakUsersAtOnce = 0, 0
	assert.Equal(t, without.Totals, with.Totals)
	assert.Equal(t, without.FailureCauses, with.FailureCauses)
	assert.Equal(t, without.Replicas, with.Replicas)
	assert.Equal(t, without.Skew, with.Skew)
}

// faultRow is a FaultResult with its nullable figures as -1 (null) or their value.
type faultRow struct {
	start, end                                                 int64
	across, moved, onTarget, lostOnTarget, lostElsewhere, lost int
	movedShare                                                 float64
}

func row(f reports.FaultResult) faultRow {
	n := func(v *int) int {
		if v == nil {
			return -1
		}
		return *v
	}
	n64 := func(v *int64) int64 {
		if v == nil {
			return -1
		}
		return *v
	}
	share := -1.0
	if f.MovedShare != nil {
		share = *f.MovedShare
	}
	return faultRow{n64(f.StartMs), n64(f.EndMs), n(f.UsersAcross), n(f.MovedUsers), n(f.UsersOnTarget),
		n(f.LostOnTarget), n(f.LostElsewhere), n(f.UsersLost), share}
}

// aroundFaults: a kill of replica-2 at 10–11, then a second fault (its plan varies) at 50–55.
func aroundFaults(second events.FaultPlan) []events.Event {
	pg := func(t int64, user int, replica, outcome string) events.Event {
		return at(t, page(user, "/page/"+strconv.FormatInt(t, 10), replica, outcome))
	}
	return []events.Event{
		pg(1, 1, "replica-1", "ok"), pg(1, 2, "replica-2", "ok"), pg(1, 3, "replica-3", "ok"),
		pg(1, 4, "replica-2", "ok"), pg(1, 6, "replica-2", "ok"), pg(2, 7, "replica-1", "ok"), pg(2, 8, "replica-2", "ok"),
		pg(3, 2, "replica-2", "ok"),   // user 2's last replica before the kill is still replica-2
		pg(5, 6, "replica-2", "loss"), // before the kill: does not count against it
		start(10, 0, "kill", "replica-2"),
		pg(10, 3, "", "error"),       // no replica answered: user 3's "before" replica stays replica-3
		pg(10, 8, "replica-3", "ok"), // during the kill: user 8's "before" replica stays replica-2
		end(11, 0, "kill", "replica-2"),
		pg(12, 8, "replica-1", "ok"), pg(14, 8, "replica-1", "ok"), // moved off the target
		pg(12, 2, "replica-1", "loss"), // moved off the target, lost its session there
		pg(13, 3, "replica-3", "loss"), // stayed, lost elsewhere
		pg(14, 1, "replica-1", "ok"),   // stayed, fine
		pg(15, 6, "replica-3", "ok"),   // moved off the target, fine
		pg(16, 5, "replica-1", "ok"),   // only after: not across
		pg(20, 7, "replica-1", "ok"),   // stayed; user 4 never came back
		start(50, 1, second.Action, second.Target),
		end(55, 1, second.Action, second.Target),
		pg(60, 7, "replica-2", "loss"), // after the second fault's start: counts against it, not the kill
	}
}

func TestFaultResults(t *testing.T) {
	kill := faultRow{start: 10, end: 11, across: 6, moved: 3, onTarget: 3, lostOnTarget: 1, lostElsewhere: 1, lost: 2, movedShare: 0.5}
	tests := []struct {
		name   string
		second events.FaultPlan
		want   faultRow
	}{
		// user 7 is the only one across the second fault: replica-1 before 50, replica-2 after 55
		{"a replica target", stopR1, faultRow{50, 55, 1, 1, 1, 1, 0, 1, 1}},
		{"a balancer target has no users on target", reloadLB, faultRow{50, 55, 1, 1, -1, -1, -1, 1, 1}},
		{"no target has no users on target", scaleOut, faultRow{50, 55, 1, 1, -1, -1, -1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reports.Compute(faultMeta(killR2, tt.second), aroundFaults(tt.second))
			require.Len(t, r.Faults, 2)
			assert.Equal(t, kill, row(r.Faults[0]), "kill replica-2")
			assert.Equal(t, tt.want, row(r.Faults[1]), tt.second.Action)
			f := r.Faults[1]
			assert.Equal(t, []any{1, tt.second.Action, tt.second.Target, tt.second.At}, []any{f.Index, f.Action, f.Target, f.At})
		})
	}
}

func TestFaultResultsIncomplete(t *testing.T) {
	evs := []events.Event{
		at(1, page(1, "/page/1", "replica-1", "ok")),
		start(10, 0, "kill", "replica-2"),
		mark(12, 0, "kill", "replica-2", events.FaultEnd),
		start(20, 1, "stop", "replica-1"),
		at(30, page(1, "/page/2", "replica-2", "loss")),
	}
	evs[2].Fault.Error = "kill replica-2: no such process"
	r := reports.Compute(faultMeta(killR2, stopR1, scaleOut), evs)
	require.Len(t, r.Faults, 3)
	assert.Equal(t, "kill replica-2: no such process", r.Faults[0].Error, "the end mark's error")
	assert.Equal(t, faultRow{20, -1, -1, -1, -1, -1, -1, -1, -1}, row(r.Faults[1]), "started, never ended")
	assert.Equal(t, faultRow{-1, -1, -1, -1, -1, -1, -1, -1, -1}, row(r.Faults[2]), "never reached")
	assert.Equal(t, "scale-out", r.Faults[2].Action)
}

func TestSkeletonPhases(t *testing.T) {
	r := reports.NewAccumulator(faultMeta(killR2, scaleOut)).Report()
	names := make([]string, len(r.Phases))
	for i, p := range r.Phases {
		names[i] = p.Name
		assert.Len(t, p.Replicas, 3, p.Name)
	}
	assert.Equal(t, []string{"before", "during kill replica-2", "after kill replica-2", "during scale-out", "after scale-out"}, names)
	require.Len(t, r.Faults, 2)
	assert.Nil(t, r.Faults[1].StartMs)
	for key, null := range map[string]bool{
		"faults.1.moved_share": true, "faults.0.lost_on_target": true, "faults.0.start_ms": true,
		"phases.2.session_losses": false, "phases.4.replicas.1.requests": false, "phases.0.session_loss_rate": true,
	} {
		v, found := r.Lookup(key)
		assert.True(t, found, key)
		assert.Equal(t, null, v == nil, key)
	}
	_, found := r.Lookup("phases.5.requests")
	assert.False(t, found)
}

func TestPhasesJSON(t *testing.T) {
	t.Run("no faults", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "json", reports.Compute(meta("replica-1"), runEvents())))
		assert.Contains(t, buf.String(), `"phases": []`)
		assert.Contains(t, buf.String(), `"faults": []`)
	})
	t.Run("field names", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "json", reports.Compute(faultMeta(killR2, scaleOut), withMarks())))
		var doc struct {
			Phases []map[string]any `json:"phases"`
			Faults []map[string]any `json:"faults"`
		}
		require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
		require.NotEmpty(t, doc.Phases)
		for _, k := range []string{"name", "from_ms", "to_ms", "requests", "errors", "login_attempts", "login_failures",
			"login_failure_rate", "page_requests", "session_losses", "session_loss_rate", "users", "users_with_loss", "replicas"} {
			assert.Contains(t, doc.Phases[0], k)
		}
		require.Len(t, doc.Faults, 2)
		for _, k := range []string{"index", "action", "target", "at", "start_ms", "end_ms", "users_across", "moved_users",
			"moved_share", "users_on_target", "lost_on_target", "lost_elsewhere", "users_lost"} {
			assert.Contains(t, doc.Faults[0], k)
		}
		assert.NotContains(t, doc.Faults[0], "error", "omitted when the fault went well")
		assert.Nil(t, doc.Faults[1]["users_on_target"], "scale-out has no target")
	})
}

// TestAccumulatorConcurrentPhases records each user's exchanges from its own goroutine, in that user's time order,
// after the marks of a fault they straddle: the figures must match recording everything in time order.
func TestAccumulatorConcurrentPhases(t *testing.T) {
	m := faultMeta(killR2)
	var marks, exchanges []events.Event
	marks = append(marks, start(100, 0, "kill", "replica-2"), end(100, 0, "kill", "replica-2"))
	byUser := make([][]events.Event, 50)
	for u := range byUser {
		for i := range 20 {
			replica := m.Replicas[(u+i)%3]
			outcome := "ok"
			if i*10 >= 100 && replica == "replica-1" {
				outcome = "loss"
			}
			e := at(int64(i*10+u%7), page(u+1, "/page/"+strconv.Itoa(i), replica, outcome))
			byUser[u] = append(byUser[u], e)
			exchanges = append(exchanges, e)
		}
	}
	acc := reports.NewAccumulator(m)
	for _, e := range marks {
		acc.Record(e)
	}
	var wg sync.WaitGroup
	for _, evs := range byUser {
		wg.Go(func() {
			for _, e := range evs {
				acc.Record(e)
			}
		})
	}
	wg.Wait()
	got := acc.Report()

	// Stable, with the marks first: at equal times a mark comes before the exchanges.
	inOrder := append(marks, exchanges...)
	slices.SortStableFunc(inOrder, func(a, b events.Event) int { return cmp.Compare(a.TMs, b.TMs) })
	assert.Equal(t, reports.Compute(m, inOrder), got)
	assertPhasesSum(t, got)
	assert.Equal(t, 50, got.Phases[0].Users)
}

func TestRenderTextPhases(t *testing.T) {
	t.Run("computed", func(t *testing.T) {
		var buf bytes.Buffer
		r := reports.Compute(faultMeta(killR2, stopR1, scaleOut), aroundFaults(stopR1))
		require.NoError(t, render.Report(&buf, "text", r))
		out := buf.String()
		for _, s := range []string{"\nphases\n", "after kill replica-2", "during stop replica-1", "10–11",
			"fault 1: kill replica-2 at 1500 requests (10–11 ms): 6 users across, 3 moved (0.500); 3 on replica-2 of whom 1 lost their session, 1 lost elsewhere\n",
			"fault 3: scale-out at 3s: not reached\n"} {
			assert.Contains(t, out, s)
		}
		assert.Less(t, strings.Index(out, "skew:"), strings.Index(out, "phases"), "after the replica table")
	})
	t.Run("lines", func(t *testing.T) {
		share := 98.0 / 300
		r := reports.Compute(meta("replica-1"), nil)
		r.Faults = []reports.FaultResult{
			{Index: 0, Action: "kill", Target: "replica-2", At: "1500 requests", StartMs: new(int64(812)), EndMs: new(int64(815)),
				UsersAcross: new(300), MovedUsers: new(98), MovedShare: &share, UsersOnTarget: new(98), LostOnTarget: new(97),
				LostElsewhere: new(0), UsersLost: new(97)},
			{Index: 1, Action: "reload-balancer", Target: "nginx", At: "2s", StartMs: new(int64(900)), EndMs: new(int64(950)),
				UsersAcross: new(10), MovedUsers: new(0), MovedShare: new(float64), UsersLost: new(0), Error: "reload nginx: exit status 1"},
			{Index: 2, Action: "stop", Target: "replica-1", At: "3s", StartMs: new(int64(1000))},
			{Index: 3, Action: "scale-out", At: "3s"},
		}
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "text", r))
		for _, s := range []string{
			"fault 1: kill replica-2 at 1500 requests (812–815 ms): 300 users across, 98 moved (0.327); 98 on replica-2 of whom 97 lost their session, 0 lost elsewhere\n",
			"fault 2: reload-balancer nginx at 2s (900–950 ms): 10 users across, 0 moved (0.000); 0 lost their session; error: reload nginx: exit status 1\n",
			"fault 3: stop replica-1 at 3s (1000 ms–): did not finish\n",
			"fault 4: scale-out at 3s: not reached\n",
		} {
			assert.Contains(t, buf.String(), s)
		}
	})
	t.Run("no faults prints nothing new", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, "text", sample()))
		assert.NotContains(t, buf.String(), "phases")
		assert.NotContains(t, buf.String(), "fault")
	})
}

// BenchmarkAccumulatorRecordFaults is BenchmarkAccumulatorRecord in a run whose four faults have all happened, the
// case where each exchange also updates its user's view of every fault.
func BenchmarkAccumulatorRecordFaults(b *testing.B) {
	m := faultMeta(killR2, stopR1, scaleOut, reloadLB)
	m.Users = 100000
	acc := reports.NewAccumulator(m)
	for i, f := range m.Faults {
		acc.Record(start(int64(i), i, f.Action, f.Target))
		acc.Record(end(int64(i), i, f.Action, f.Target))
	}
	recordJourneys(b, acc, m.Replicas)
}

// A user settles on the replica that answers last before the next fault: an answer read late from the old replica
// right after the end does not hide the move, and latency places an answer in time.
func TestMovedIsWhereTheUserSettles(t *testing.T) {
	ex := func(sent, latencyMs int64, replica string) events.Event {
		return events.Event{TMs: sent, LatencyUS: latencyMs * 1000, User: 1, Step: events.StepPage, Method: "GET", Path: "/", Status: 200, Replica: replica, Outcome: events.OutcomeOK}
	}
	evs := []events.Event{
		ex(0, 1, "replica-2"),
		start(10, 0, "kill", "replica-2"),
		end(12, 0, "kill", "replica-2"),
		ex(9, 5, "replica-2"),  // sent before the kill, read after its end
		ex(15, 1, "replica-1"), // where the user goes
		ex(17, 1, "replica-1"),
	}
	r := reports.Compute(faultMeta(killR2), evs)
	require.Len(t, r.Faults, 1)
	f := r.Faults[0]
	require.NotNil(t, f.MovedUsers)
	assert.Equal(t, 1, *f.MovedUsers, "replica-2 before, replica-1 settled after")
	assert.Equal(t, 1, *f.UsersOnTarget)
	require.Len(t, r.Phases, 3)
	assert.Equal(t, []int{1, 0, 3}, []int{r.Phases[0].Requests, r.Phases[1].Requests, r.Phases[2].Requests}, "by answer time: 1, 14, 16, 18 ms")
}

// When the next fault starts the moment one ends, there is no stretch to settle in: the first answer after the
// end says where the user went. The second fault sees the user still on replica-2 before it began.
func TestMovedWhenFaultsFollowAtOnce(t *testing.T) {
	ex := func(sent int64, replica string) events.Event {
		return events.Event{TMs: sent, User: 1, Step: events.StepPage, Method: "GET", Path: "/", Status: 200, Replica: replica, Outcome: events.OutcomeOK}
	}
	evs := []events.Event{
		ex(0, "replica-2"),
		start(10, 0, "kill", "replica-2"),
		end(12, 0, "kill", "replica-2"),
		start(12, 1, "kill", "replica-3"),
		ex(13, "replica-1"),
		end(20, 1, "kill", "replica-3"),
		ex(21, "replica-1"),
	}
	r := reports.Compute(faultMeta(killR2, events.FaultPlan{Action: "kill", Target: "replica-3", At: "2s"}), evs)
	require.Len(t, r.Faults, 2)
	require.NotNil(t, r.Faults[0].UsersAcross)
	assert.Equal(t, []int{1, 1, 1}, []int{*r.Faults[0].UsersAcross, *r.Faults[0].MovedUsers, *r.Faults[0].UsersOnTarget})
	assert.Equal(t, []int{1, 1, 0}, []int{*r.Faults[1].UsersAcross, *r.Faults[1].MovedUsers, *r.Faults[1].UsersOnTarget})
}
