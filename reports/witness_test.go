package reports_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// ex is one exchange of a witness test: user's step at tms, answered by replica with status (and location).
func ex(user int, tms int64, step string, attempt int, method, path string, status int, location, replica, outcome string) events.Event {
	return events.Event{TMs: tms, User: user, Step: step, Attempt: attempt, Method: method, Path: path, Status: status,
		Location: location, Replica: replica, Outcome: outcome, LatencyUS: 800}
}

// withCookies sets the cookies e's request carried and its answer set.
func withCookies(e events.Event, sent, set []string) events.Event {
	e.Sent, e.Set = sent, set
	return e
}

// loopingLogin is a user's login that loops: replica-1 accepts the credentials and sets sid, replica-2 does not
// know the session and sends the next page back to log in, clearing the cookie; the user tries again on replica-3.
func loopingLogin(user int, t0 int64) []events.Event {
	const get, post = http.MethodGet, http.MethodPost
	sid := fmt.Sprintf("sid:%08x", user)
	return []events.Event{
		withCookies(ex(user, t0, events.StepLogin, 1, get, "/login", 200, "", "replica-1", events.OutcomeOK), nil, []string{"csrf:0badf00d"}),
		withCookies(ex(user, t0+2, events.StepLogin, 1, post, "/login", 302, "/", "replica-1", events.OutcomeOK),
			[]string{"csrf:0badf00d"}, []string{sid}),
		withCookies(ex(user, t0+4, events.StepLogin, 1, get, "/", 302, "/login", "replica-2", events.OutcomeLoop),
			[]string{sid}, []string{"sid:-"}),
		ex(user, t0+6, events.StepLogin, 2, get, "/login", 200, "", "replica-3", events.OutcomeOK),
	}
}

// lostPage is a user's login accepted and kept by replica-1 for two pages, then a page on replica-2 answered with
// the login page: a session loss; the user logs in again.
func lostPage(user int, t0 int64) []events.Event {
	const get, post = http.MethodGet, http.MethodPost
	sid := []string{"sid:5ca1ab1e"}
	return []events.Event{
		ex(user, t0, events.StepLogin, 1, get, "/login", 200, "", "replica-1", events.OutcomeOK),
		withCookies(ex(user, t0+1, events.StepLogin, 1, post, "/login", 302, "/", "replica-1", events.OutcomeOK), nil, sid),
		withCookies(ex(user, t0+2, events.StepLogin, 1, get, "/", 200, "", "replica-1", events.OutcomeOK), sid, nil),
		withCookies(ex(user, t0+3, events.StepPage, 0, get, "/page/1", 200, "", "replica-1", events.OutcomeOK), sid, nil),
		withCookies(ex(user, t0+4, events.StepPage, 0, get, "/page/2", 302, "/login", "replica-2", events.OutcomeLoss), sid, nil),
		ex(user, t0+5, events.StepLogin, 2, get, "/login", 200, "", "replica-2", events.OutcomeOK),
	}
}

// witnessesOf is the report's witnesses of one cause.
func witnessesOf(r *reports.Report, cause string) []reports.Witness {
	var out []reports.Witness
	for _, w := range r.Witnesses {
		if w.Cause == cause {
			out = append(out, w)
		}
	}
	return out
}

func paths(w reports.Witness) []string {
	out := make([]string, len(w.Exchanges))
	for i, e := range w.Exchanges {
		out[i] = e.Method + " " + e.Path
	}
	return out
}

// A witness holds the user's exchanges in order, from the login attempt to the one after the failure, with the
// failing one's index: the session cookie one replica set, and the other replica that did not know it.
func TestWitnessShowsTheFailure(t *testing.T) {
	cases := []struct {
		name, cause string
		evs         []events.Event
		failed      int
		paths       []string
		replicas    []string
		sent, set   []string // the failing exchange's cookies
	}{
		{"login loop", events.OutcomeLoop, loopingLogin(1, 10), 2,
			[]string{"GET /login", "POST /login", "GET /", "GET /login"},
			[]string{"replica-1", "replica-1", "replica-2", "replica-3"}, []string{"sid:00000001"}, []string{"sid:-"}},
		{"lost page", events.OutcomeLoss, lostPage(1, 10), 4,
			[]string{"GET /login", "POST /login", "GET /", "GET /page/1", "GET /page/2", "GET /login"},
			[]string{"replica-1", "replica-1", "replica-1", "replica-1", "replica-2", "replica-2"}, []string{"sid:5ca1ab1e"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), c.evs)
			require.Len(t, r.Witnesses, 1, "one cause, one user")
			w := r.Witnesses[0]
			assert.Equal(t, c.cause, w.Cause)
			assert.Equal(t, 1, w.User)
			assert.Equal(t, c.failed, w.Failed)
			assert.Equal(t, c.paths, paths(w))
			var replicas []string
			for _, e := range w.Exchanges {
				replicas = append(replicas, e.Replica)
			}
			assert.Equal(t, c.replicas, replicas)
			bad := w.Exchanges[w.Failed]
			assert.Equal(t, c.cause, bad.Outcome)
			assert.Equal(t, c.sent, bad.Sent)
			assert.Equal(t, c.set, bad.Set)
			assert.Equal(t, c.evs, w.Exchanges, "the exchanges as the log recorded them")
			assert.Zero(t, w.Omitted)
		})
	}
}

// The witnesses of a cause are its lowest user ids, at most three, whatever order the users' exchanges came in.
func TestWitnessesAreTheLowestUsers(t *testing.T) {
	users := []int{9, 4, 7, 2, 5, 8, 1}
	byUser := func(order []int) [][]events.Event {
		out := make([][]events.Event, len(order))
		for i, u := range order {
			out[i] = loopingLogin(u, int64(10*i))
		}
		return out
	}
	sequential := func(logs [][]events.Event) []events.Event { return slices.Concat(logs...) }
	interleaved := func(logs [][]events.Event) []events.Event {
		var out []events.Event
		for i := 0; ; i++ {
			n := len(out)
			for _, l := range logs {
				if i < len(l) {
					out = append(out, l[i])
				}
			}
			if len(out) == n {
				return out
			}
		}
	}
	descending := slices.Clone(users)
	slices.Sort(descending)
	slices.Reverse(descending)
	cases := []struct {
		name string
		evs  []events.Event
	}{
		{"one user after another", sequential(byUser(users))},
		{"all at once", interleaved(byUser(users))},
		{"highest first", sequential(byUser(descending))},
		{"highest first, at once", interleaved(byUser(descending))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), c.evs)
			loops := witnessesOf(r, events.OutcomeLoop)
			var got []int
			for _, w := range loops {
				got = append(got, w.User)
				for _, e := range w.Exchanges {
					assert.Equal(t, w.User, e.User, "a witness holds its own user's exchanges only")
				}
				assert.Equal(t, loopingLogin(w.User, w.Exchanges[0].TMs), w.Exchanges)
			}
			assert.Equal(t, []int{1, 2, 4}, got)
			assert.Len(t, r.Witnesses, 3, "three users, no other cause")
		})
	}
}

// Every cause that occurred has its witnesses, the most frequent cause's first; a run where nothing failed has none,
// an empty list rather than null.
func TestWitnessCauses(t *testing.T) {
	const get = http.MethodGet
	errs := []events.Event{
		ex(3, 1, events.StepLogin, 1, get, "/login", 0, "", "", events.OutcomeError),
		ex(3, 2, events.StepLogin, 2, get, "/login", 502, "", "", events.OutcomeError),
		ex(5, 3, events.StepLogin, 1, get, "/login", 0, "", "", events.OutcomeError),
	}
	limited := ex(6, 4, events.StepLogin, 1, http.MethodPost, "/login", 429, "", "replica-1", events.OutcomeRateLimited)
	rejected := ex(8, 5, events.StepLogin, 1, http.MethodPost, "/login", 302, "/login", "replica-1", events.OutcomeRejected)
	csrf := ex(9, 6, events.StepLogin, 1, http.MethodPost, "/login", 403, "", "replica-2", events.OutcomeCSRF)
	cases := []struct {
		name   string
		evs    []events.Event
		causes []string
		users  []int
	}{
		{"nothing failed", []events.Event{ex(1, 1, events.StepLogin, 1, get, "/login", 200, "", "replica-1", events.OutcomeOK)}, nil, nil},
		{"errors outnumber the loop", slices.Concat(loopingLogin(1, 10), errs),
			[]string{"error", "error", "loop"}, []int{3, 5, 1}},
		{"ties in the causes' order", slices.Concat([]events.Event{csrf, rejected, limited}, loopingLogin(1, 10), lostPage(2, 20)),
			[]string{"loop", "loss", "csrf", "rejected", "rate_limited"}, []int{1, 2, 9, 8, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reports.Compute(meta("replica-1", "replica-2"), c.evs)
			var causes []string
			var users []int
			for _, w := range r.Witnesses {
				causes = append(causes, w.Cause)
				users = append(users, w.User)
			}
			assert.Equal(t, c.causes, causes)
			assert.Equal(t, c.users, users)
			raw, err := json.Marshal(r)
			require.NoError(t, err)
			var doc struct {
				Witnesses []json.RawMessage `json:"witnesses"`
			}
			require.NoError(t, json.Unmarshal(raw, &doc))
			assert.NotNil(t, doc.Witnesses, "witnesses is a list, never null")
		})
	}
}

// A witness is bounded: the first exchanges of the latest login attempt, the last ones before the failure, the
// failure and the next one, with the count of those left out between; an earlier attempt is not part of it.
func TestWitnessIsBounded(t *testing.T) {
	const get, post = http.MethodGet, http.MethodPost
	var evs []events.Event
	tms := int64(0)
	add := func(e events.Event) {
		tms++
		e.TMs = tms
		evs = append(evs, e)
	}
	add(ex(1, 0, events.StepSetup, 0, post, "/signup", 302, "/login", "replica-1", events.OutcomeOK))
	add(ex(1, 0, events.StepLogin, 1, get, "/login", 200, "", "replica-1", events.OutcomeOK))
	add(ex(1, 0, events.StepLogin, 1, post, "/login", 302, "/login", "replica-1", events.OutcomeRejected))
	add(ex(1, 0, events.StepLogin, 2, get, "/login", 200, "", "replica-1", events.OutcomeOK))
	add(ex(1, 0, events.StepLogin, 2, post, "/login", 302, "/", "replica-1", events.OutcomeOK))
	add(ex(1, 0, events.StepLogin, 2, get, "/", 200, "", "replica-1", events.OutcomeOK))
	for p := 1; p <= 40; p++ {
		add(ex(1, 0, events.StepPage, 0, get, fmt.Sprintf("/page/%d", p), 200, "", "replica-1", events.OutcomeOK))
	}
	add(ex(1, 0, events.StepPage, 0, get, "/page/41", 302, "/login", "replica-2", events.OutcomeLoss))
	add(ex(1, 0, events.StepLogin, 3, get, "/login", 200, "", "replica-2", events.OutcomeOK))
	add(ex(1, 0, events.StepLogin, 3, post, "/login", 302, "/", "replica-2", events.OutcomeOK))

	r := reports.Compute(meta("replica-1", "replica-2"), evs)
	loss := witnessesOf(r, events.OutcomeLoss)
	require.Len(t, loss, 1)
	w := loss[0]
	require.Len(t, w.Exchanges, 20)
	assert.Equal(t, evs[3:3+8], w.Exchanges[:8], "attempt 2 from its first exchange")
	assert.Equal(t, evs[len(evs)-13:len(evs)-1], w.Exchanges[8:], "the last ones, the loss and the next exchange")
	assert.Equal(t, 18, w.Failed)
	assert.Equal(t, "/page/41", w.Exchanges[w.Failed].Path)
	assert.Equal(t, 8, w.OmittedAt)
	assert.Equal(t, 44-8-11, w.Omitted, "attempt 2's 44 exchanges up to the loss, less those kept")

	rejected := witnessesOf(r, events.OutcomeRejected)
	require.Len(t, rejected, 1)
	assert.Equal(t, evs[1:4], rejected[0].Exchanges, "attempt 1 and the next exchange; the setup before it is left behind")
	assert.Equal(t, 1, rejected[0].Failed)
}

// users is n users' exchanges: each logs in and opens pages, and every seventh loses its session at its fifth page.
// atOnce users are under way together; their exchanges interleave.
func manyUsers(n, atOnce, pages int) []events.Event {
	var evs []events.Event
	t := int64(0)
	for base := 1; base <= n; base += atOnce {
		for k := range 3 + pages {
			for u := base; u < min(base+atOnce, n+1); u++ {
				t++
				e := ex(u, t, events.StepPage, 0, http.MethodGet, fmt.Sprintf("/page/%d", k-2), 200, "", "replica-1", events.OutcomeOK)
				switch {
				case k < 3:
					e.Step, e.Attempt, e.Path = events.StepLogin, 1, []string{"/login", "/login", "/"}[k]
				case u%7 == 0 && k == 3+4:
					e.Status, e.Location, e.Replica, e.Outcome = 302, "/login", "replica-2", events.OutcomeLoss
				}
				evs = append(evs, e)
			}
		}
	}
	return evs
}

// The witnesses follow at most MaxTraced users at once, however many the run has: memory for a few witnesses, not
// for every user's exchanges. While fewer users than that are under way together, every witness is whole.
func TestWitnessesFollowFewUsers(t *testing.T) {
	cases := []struct {
		name          string
		users, atOnce int
		whole         bool
	}{
		{"100 at once", 5000, 100, true},
		{"more at once than followed", 3000, 3000, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acc := reports.NewAccumulator(meta("replica-1", "replica-2"))
			most := 0
			for i, e := range manyUsers(c.users, c.atOnce, 6) {
				acc.Record(e)
				if i%97 == 0 {
					most = max(most, acc.Traced())
				}
			}
			assert.LessOrEqual(t, most, reports.MaxTraced)
			assert.Positive(t, most)
			r := acc.Report()
			loss := witnessesOf(r, events.OutcomeLoss)
			require.Len(t, loss, 3)
			for i, w := range loss {
				assert.Equal(t, 7*(i+1), w.User, "the lowest users who lost a session")
				assert.Equal(t, "/page/5", w.Exchanges[w.Failed].Path)
				assert.Equal(t, events.OutcomeLoss, w.Exchanges[w.Failed].Outcome)
				if c.whole {
					assert.Equal(t, "/login", w.Exchanges[0].Path, "from the login")
					assert.Len(t, w.Exchanges, 3+6, "the whole journey")
				}
			}
		})
	}
}

// Users recording from many goroutines at once, each user's exchanges in its order, give the witnesses of the same
// exchanges recorded one after another.
func TestWitnessesUnderConcurrentRecords(t *testing.T) {
	evs := manyUsers(300, 300, 6)
	byUser := map[int][]events.Event{}
	for _, e := range evs {
		byUser[e.User] = append(byUser[e.User], e)
	}
	acc := reports.NewAccumulator(meta("replica-1", "replica-2"))
	var wg sync.WaitGroup
	for _, userEvs := range byUser {
		wg.Go(func() {
			for _, e := range userEvs {
				acc.Record(e)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, reports.Compute(meta("replica-1", "replica-2"), evs).Witnesses, acc.Report().Witnesses)
}
