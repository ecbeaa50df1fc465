package reports

import (
	"math"
	"net/http"
	"slices"
	"sync"

	"github.com/sessionlab/sessionlab/clients"
)

// Accumulator builds a report from events as they arrive, without holding them. It is safe for concurrent use and
// is itself a clients.Sink.
type Accumulator struct {
	mu       sync.Mutex
	meta     Meta
	t        Totals
	attempts map[attemptKey]string // first non-ok outcome of each login attempt, "ok" while none
	served   map[string]map[int]struct{}
	requests map[string]int
	loggedIn map[int]struct{}
}

type attemptKey struct{ user, attempt int }

var _ clients.Sink = (*Accumulator)(nil)

// NewAccumulator starts an empty report for the run meta describes.
func NewAccumulator(meta Meta) *Accumulator {
	return &Accumulator{
		meta:     meta,
		attempts: make(map[attemptKey]string),
		served:   make(map[string]map[int]struct{}),
		requests: make(map[string]int),
		loggedIn: make(map[int]struct{}),
	}
}

// Compute is the report of a finished run whose events are all in hand.
func Compute(meta Meta, events []clients.Event) *Report {
	acc := NewAccumulator(meta)
	for _, e := range events {
		acc.Record(e)
	}
	return acc.Report()
}

// Record adds one exchange.
func (a *Accumulator) Record(e clients.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.t.Requests++
	if e.Outcome == clients.OutcomeError {
		a.t.Errors++
	}
	if e.Replica != "" {
		a.requests[e.Replica]++
		if a.served[e.Replica] == nil {
			a.served[e.Replica] = make(map[int]struct{})
		}
		a.served[e.Replica][e.User] = struct{}{}
	}
	switch e.Step {
	case clients.StepLogin:
		a.recordLogin(e)
	case clients.StepPage:
		a.t.PageRequests++
		if e.Outcome == clients.OutcomeLoss {
			a.t.SessionLosses++
		}
	}
}

func (a *Accumulator) recordLogin(e clients.Event) {
	k := attemptKey{e.User, e.Attempt}
	if prev, seen := a.attempts[k]; !seen || prev == clients.OutcomeOK {
		a.attempts[k] = e.Outcome
	}
	// An accepted submission (a redirect onward, not back to the form) is where the app creates a session.
	if e.Method == http.MethodPost && e.Outcome == clients.OutcomeOK {
		a.t.SessionsCreated++
		a.loggedIn[e.User] = struct{}{}
	}
}

// Report returns the figures of everything recorded so far.
func (a *Accumulator) Report() *Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := &Report{
		Schema: Schema, Scenario: a.meta.Scenario, Seed: a.meta.Seed, Runtime: a.meta.Runtime,
		Balancer: a.meta.Balancer, App: App{Replicas: len(a.meta.Replicas), Sessions: a.meta.Sessions},
		Totals:        a.t,
		FailureCauses: make(map[string]int, len(Causes)),
		Replicas:      []Replica{},
		Expectations:  []Expectation{},
	}
	for _, c := range Causes {
		r.FailureCauses[c] = 0
	}
	t := &r.Totals
	t.Users = a.meta.Users
	t.LoginAttempts = len(a.attempts)
	for _, outcome := range a.attempts {
		if outcome != clients.OutcomeOK {
			t.LoginFailures++
			r.FailureCauses[outcome]++
		}
	}
	t.LoginFailRate = ratio(t.LoginFailures, t.LoginAttempts)
	t.SessionLoss = ratio(t.SessionLosses, t.PageRequests)
	t.UsersLoggedIn = len(a.loggedIn)
	t.DuplicateRatio = ratio(t.SessionsCreated, t.UsersLoggedIn)

	attributed := 0
	for _, n := range a.requests {
		attributed += n
	}
	counts := make([]float64, 0, len(a.meta.Replicas))
	for _, name := range a.replicaNames() {
		n := a.requests[name]
		r.Replicas = append(r.Replicas, Replica{Name: name, Requests: n, Share: ratio(n, attributed), Users: len(a.served[name])})
		counts = append(counts, float64(n))
	}
	r.Skew = skew(counts)
	return r
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
		MaxOverMean: ptr(maxX / mean),
		CoV:         ptr(math.Sqrt(math.Max(variance, 0)) / mean),
		Jain:        ptr(sum * sum / (n * sumSq)),
	}
}

// replicaNames is the topology's replicas, then (sorted) any name an answer carried that the topology does not list,
// so that no served request drops out of the figures.
func (a *Accumulator) replicaNames() []string {
	names := slices.Clone(a.meta.Replicas)
	var extra []string
	for name := range a.requests {
		if !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	return append(names, extra...)
}
