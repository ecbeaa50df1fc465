package reports

import (
	"cmp"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports/internal/overtime"
	"github.com/sessionlab/sessionlab/reports/internal/tier"
	"github.com/sessionlab/sessionlab/reports/internal/timeline"
	"github.com/sessionlab/sessionlab/reports/internal/witness"
)

// Accumulator builds a report from events as they arrive, without holding them but for the few the witnesses show
// (bounded, whatever the run's size: internal/witness). It is safe for concurrent use and is itself a clients.Sink.
type Accumulator struct {
	mu       sync.Mutex
	meta     events.Meta
	t        Totals
	attempts map[attemptKey]attempt
	outcomes []string       // outcome names by code, "ok" first; keeps attempt small in a map of every attempt
	ids      map[string]int // replica name -> index in loads
	loads    []replicaLoad  // meta's replicas first, then other names as answers carried them
	listed   int            // how many of loads are meta's replicas
	loggedIn map[int]struct{}
	users    userTable
	tl       timeline.Timeline
	store    *events.StoreStats
	balancer *events.BalancerStats
	reauths  int // pages sent to the identity provider, as the clients saw them
	ws       WebSocket
	series   overtime.Series
	addrs    addresses
	tier     tier.State
	conns    map[string]int // exchanges that opened a connection, by cause; nil until one did
	closed   int            // of which because the balancer's side had closed or broken the last one
	wit      witness.Set
	end      endState
}

// endState is what the log's end record(s) said: one for a run, one per shard for a merge.
type endState struct {
	seen        int
	interrupted bool
	cause       string
	usersDone   int
	doneUnknown bool // a log's end did not count its users done
}

func (s *endState) add(e events.End) {
	s.seen++
	if e.Interrupted {
		s.interrupted = true
		if s.cause == "" {
			s.cause = e.Cause
		}
	}
	if e.UsersDone == nil {
		s.doneUnknown = true
		return
	}
	s.usersDone += *e.UsersDone
}

type attemptKey struct{ user, attempt int }

// attempt is a login attempt so far: the first non-ok outcome of its exchanges (okCode while none) and the segment
// of its first exchange, where the attempt counts.
type attempt struct {
	outcome uint8 // index in Accumulator.outcomes
	seg     int32
}

const okCode = 0

type replicaLoad struct {
	name     string
	requests int
	// users counts the distinct users served: on the first 64 replicas by a bit in each user's record (servedBy),
	// which spares every exchange an insert into a map of every user; past those, by served.
	users      int
	served     map[int]struct{}
	failedOver int // answers another replica gave after the balancer could not use this one
}

// countServed counts the user whose record is u among rep's users, once.
func (a *Accumulator) countServed(u *userRecord, user, rep int) {
	l := &a.loads[rep]
	if rep < 64 {
		if bit := uint64(1) << rep; u.servedBy&bit == 0 {
			u.servedBy |= bit
			l.users++
		}
		return
	}
	if l.served == nil {
		l.served = make(map[int]struct{})
	}
	if _, ok := l.served[user]; !ok {
		l.served[user] = struct{}{}
		l.users++
	}
}

// NewAccumulator starts an empty report for the run meta describes.
func NewAccumulator(meta events.Meta) *Accumulator {
	a := &Accumulator{
		meta:     meta,
		attempts: make(map[attemptKey]attempt),
		ids:      make(map[string]int, len(meta.Replicas)),
		loggedIn: make(map[int]struct{}),
		// error is interned from the start: outcomeCode falls back to it once a damaged log has filled the table.
		outcomes: []string{events.OutcomeOK, events.OutcomeError},
		addrs:    make(addresses),
		wit:      witness.New(),
	}
	for _, name := range meta.Replicas {
		a.replicaID(name)
	}
	a.listed = len(a.loads)
	a.tl = timeline.New(meta)
	a.tier = tier.New(meta.Balancer.Instances)
	return a
}

// Compute is the report of a finished run whose events are all in hand.
func Compute(meta events.Meta, log []events.Event) *Report {
	acc := NewAccumulator(meta)
	for _, e := range log {
		acc.Record(e)
	}
	return acc.Report()
}

// Record adds one exchange, or one fault mark (which counts in no request figure but splits the run into phases), or
// the store, balancer or end record (the end says whether the run was interrupted, and its users done).
func (a *Accumulator) Record(e events.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.IsFault() {
		a.tl.Mark(e)
		return
	}
	if e.Step == events.StepStore {
		a.store = e.Store
		return
	}
	if e.Step == events.StepBalancer {
		a.balancer = e.Balancer
		return
	}
	if e.Step == events.StepRun {
		return
	}
	if e.Step == events.StepEnd {
		if e.End != nil {
			a.end.add(*e.End)
		}
		return
	}
	a.t.Requests++
	a.series.Add(e)
	a.countConn(e)
	switch e.Outcome {
	case events.OutcomeError:
		a.t.Errors++
	case events.OutcomeRateLimited:
		a.t.RateLimited++
	case events.OutcomeHarnessLimit:
		a.t.HarnessLimit++
	case events.OutcomeInterrupted:
		a.t.Interrupted++
	}
	if e.Failover != "" {
		a.loads[a.replicaID(e.Failover)].failedOver++
	}
	rep := -1
	if e.Replica != "" {
		rep = a.replicaID(e.Replica)
		a.loads[rep].requests++
	}
	seg, loss := a.tl.Exchange(e, rep)
	if loss {
		a.t.SessionLosses++
	}
	u, created := a.trackUser(e, rep)
	if rep >= 0 {
		a.countServed(u, e.User, rep)
	}
	if e.Addr != "" && e.Host == "" && e.Addr != u.addr {
		a.addrs[e.Addr] = struct{}{}
		u.addr = e.Addr
	}
	a.wit.Record(&e, &u.trace)
	a.tier.Track(e, &u.inst, loss, created)
	switch e.Step {
	case events.StepLogin:
		a.recordLogin(e, seg)
	case events.StepPage:
		a.t.PageRequests++
		if e.Outcome == events.OutcomeReauth {
			a.reauths++
		}
	case events.StepWS:
		a.recordWS(e)
	}
}

// recordWS counts a WebSocket connection; a reconnect (any but the user's first) either found its state or not.
func (a *Accumulator) recordWS(e events.Event) {
	w := &a.ws
	w.Connections++
	if e.Outcome == events.OutcomeError {
		w.Errors++
	}
	if e.Attempt > 1 && e.Outcome != events.OutcomeError {
		w.Reconnects++
		if e.Outcome == events.OutcomeLoss {
			w.StateLost++
		}
	}
}

func storeSource(kind string) string {
	switch kind {
	case "redis":
		return "session keys in Redis (SCAN), counters from every replica's /metrics"
	case "cookie":
		return "sessions issued (sealed cookies are held by no store), from every replica's /metrics"
	}
	return "sessions held in the replicas' memory and counters, from every replica's /metrics"
}

// replicaID interns a replica name, so that per-phase and per-user state can refer to it by a small number.
func (a *Accumulator) replicaID(name string) int {
	if id, ok := a.ids[name]; ok {
		return id
	}
	a.ids[name] = len(a.loads)
	a.loads = append(a.loads, replicaLoad{name: name})
	return len(a.loads) - 1
}

func (a *Accumulator) recordLogin(e events.Event, seg int32) {
	k := attemptKey{e.User, e.Attempt}
	if e.Outcome == events.OutcomeInterrupted {
		// The harness cut the attempt short: it has no result, and is no attempt — unless it had failed already.
		if prev, seen := a.attempts[k]; seen && prev.outcome == okCode {
			delete(a.attempts, k)
		}
		return
	}
	if prev, seen := a.attempts[k]; !seen {
		a.attempts[k] = attempt{outcome: a.outcomeCode(e.Outcome), seg: seg}
	} else if prev.outcome == okCode {
		a.attempts[k] = attempt{outcome: a.outcomeCode(e.Outcome), seg: prev.seg}
	}
	// An accepted submission (a redirect onward, not back to the form) is where the app creates a session.
	if e.Method == http.MethodPost && e.Outcome == events.OutcomeOK {
		a.t.SessionsCreated++
		a.loggedIn[e.User] = struct{}{}
	}
}

// outcomeCode interns an outcome. Past 256 distinct names (a log no client wrote), the rest count as "error".
func (a *Accumulator) outcomeCode(outcome string) uint8 {
	if i := slices.Index(a.outcomes, outcome); i >= 0 {
		return uint8(i)
	}
	if len(a.outcomes) > math.MaxUint8 {
		return a.outcomeCode(events.OutcomeError)
	}
	a.outcomes = append(a.outcomes, outcome)
	return uint8(len(a.outcomes) - 1)
}

// Report returns the figures of everything recorded so far.
func (a *Accumulator) Report() *Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := &Report{
		Schema: Schema, Scenario: a.meta.Scenario, Seed: a.meta.Seed, Runtime: a.meta.Runtime,
		Balancer: a.meta.Balancer, App: a.meta.App, Target: a.meta.Target, Attribution: a.meta.Attribution,
		Totals:        a.t,
		FailureCauses: make(map[string]int, len(loginCauses)),
		Replicas:      []Replica{},
		Expectations:  []Expectation{},
	}
	r.App.Replicas = len(a.meta.Replicas)
	for _, c := range loginCauses {
		r.FailureCauses[c] = 0
	}
	t := &r.Totals
	t.Users = a.meta.Users
	if e := a.end; e.seen > 0 {
		r.Interrupted, r.InterruptedBy = e.interrupted, e.cause
		if !e.doneUnknown {
			t.UsersDone = new(e.usersDone)
		}
	}
	t.LoginAttempts = len(a.attempts)
	for _, at := range a.attempts {
		if at.outcome != okCode {
			t.LoginFailures++
			r.FailureCauses[a.outcomes[at.outcome]]++
		}
	}
	t.setRates()
	// Logged in: an accepted submission, or a login that succeeded without one (single sign-on).
	loggedIn := maps.Clone(a.loggedIn)
	for k, at := range a.attempts {
		if at.outcome == okCode {
			loggedIn[k.user] = struct{}{}
		}
	}
	t.UsersLoggedIn = len(loggedIn)
	t.UsersInLoginLoop, t.AffectedUsers, t.PeakUsersAtOnce, r.Stickiness = a.userFigures()
	t.SilentReauths = a.reauths
	t.DuplicateRatio = ratio(t.SessionsCreated, t.UsersLoggedIn)
	if st := a.store; st != nil {
		// The app's side is the authority on what it holds: the real Redis's keys, the replicas' own counts.
		r.Store = &Store{StoreStats: *st, Source: storeSource(st.Kind)}
		t.StoreSessions = &st.Sessions
		t.DuplicateRatio = ratio(st.Sessions, t.UsersLoggedIn)
		if st.Keys != "" {
			// Your own app's records, counted in Redis; its counters are not there to read.
			r.Store.Source = "keys matching " + st.Keys + " in Redis (SCAN); the app's own counters are not read"
		} else {
			t.SilentReauths = st.SilentReauths
		}
	}
	if a.ws.Connections > 0 {
		w := a.ws
		w.StateLossRate = ratio(w.StateLost, w.Reconnects)
		r.WebSocket = &w
	}

	order := a.replicaOrder()
	r.Replicas, r.Skew = a.replicaFigures(order)
	a.addBalancerFigures(r.Replicas)
	if len(a.meta.Replicas) == 0 { // a live target's replicas are the ones its answers named
		r.App.Replicas = len(r.Replicas)
	}
	a.connFigures(t)
	r.Tier = a.tierFigures()
	r.Phases = a.phases(order)
	r.Faults = a.faults()
	r.Network = a.addrs.network()
	r.OverTime = a.overTime()
	a.harnessFigures(r)
	r.Diagnosis = diagnose(r)
	r.Witnesses = a.witnesses()
	return r
}

// addBalancerFigures adds what the balancer said of each replica: its marks, and the failovers it counted itself
// where the answers did not report them.
func (a *Accumulator) addBalancerFigures(reps []Replica) {
	if a.balancer == nil {
		return
	}
	for _, u := range a.balancer.Upstreams {
		for i := range reps {
			if reps[i].Name != u.Name || u.Name == "" {
				continue
			}
			reps[i].MarkedFailed += u.MarkedFailed
			reps[i].FailedOver = max(reps[i].FailedOver, u.FailedOver)
		}
	}
}

func (a *Accumulator) replicaFigures(order []int) ([]Replica, Skew) {
	attributed := 0
	for _, l := range a.loads {
		attributed += l.requests
	}
	reps := make([]Replica, 0, len(order))
	counts := make([]float64, 0, len(order))
	for _, id := range order {
		l := a.loads[id]
		reps = append(reps, Replica{Name: l.name, Requests: l.requests, Share: ratio(l.requests, attributed), Users: l.users,
			FailedOver: l.failedOver})
		counts = append(counts, float64(l.requests))
	}
	return reps, skew(counts)
}

// skew of the per-replica request counts; null figures when nothing was served.
func skew(x []float64) Skew {
	var sum, sumSq, maxX float64
	for _, v := range x {
		sum += v
		sumSq += v * v
		maxX = max(maxX, v)
	}
	if len(x) == 0 || sum == 0 {
		return Skew{}
	}
	n := float64(len(x))
	mean := sum / n
	variance := sumSq/n - mean*mean
	return Skew{
		MaxOverMean: new(maxX / mean),
		CoV:         new(math.Sqrt(math.Max(variance, 0)) / mean),
		Jain:        new(sum * sum / (n * sumSq)),
	}
}

// replicaOrder is the topology's replicas, then (sorted) any name an answer carried that the topology does not list,
// so that no served request drops out of the figures.
func (a *Accumulator) replicaOrder() []int {
	order := make([]int, len(a.loads))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order[a.listed:], func(x, y int) int { return cmp.Compare(a.loads[x].name, a.loads[y].name) })
	return order
}
