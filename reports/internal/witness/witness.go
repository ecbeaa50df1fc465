// Package witness keeps, from a run's exchanges as they stream by, the few users whose exchanges show each failure
// cause as it happened, in bounded memory whatever the run's size: what package reports turns into Report.Witnesses.
package witness

import (
	"cmp"
	"math"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
)

// Witness is one user's exchanges around the first failure of one cause, as reports.Witness documents them; it has
// the same fields, so that reports converts it as it is.
type Witness struct {
	Cause     string
	User      int
	Failed    int
	Exchanges []events.Event
	Omitted   int
	OmittedAt int
}

// How much the report keeps to show witnesses. A followed user's exchanges are copied into a trace of
// witnessHead + witnessRecent records (about 6 KB); at most MaxTraced users are followed at once, so that the
// witnesses cost about 7 MB (the traces and the strings their records hold) however many users a run has, never a
// copy of the log.
const (
	witnessesPerCause = 3
	// witnessHead is how many exchanges from the start of the latest login attempt a witness keeps: a login and
	// the redirects it leads to, through a single sign-on, and the first pages.
	witnessHead = 8
	// witnessRecent is how many of the last exchanges up to the failure (it included) a witness keeps past those.
	witnessRecent = 11
	// MaxTraced bounds the users followed at once. Past it, the trace of a user with no exchange since the clock
	// hand last passed it goes to the next user (the CLOCK approximation of least recently used): a user let go
	// that fails later has a witness that starts where it was taken up again.
	MaxTraced = 1024
)

// witnessCauses are the outcomes a witness is kept for, in the order that breaks ties between causes.
var witnessCauses = [...]string{events.OutcomeLoop, events.OutcomeLoss, events.OutcomeCSRF, events.OutcomeRejected,
	events.OutcomeRateLimited, events.OutcomeError, events.OutcomeHarnessLimit}

// causeIndex is the index of outcome in witnessCauses, or -1.
func causeIndex(outcome string) int {
	if outcome == events.OutcomeOK {
		return -1
	}
	for i, c := range witnessCauses {
		if c == outcome {
			return i
		}
	}
	return -1
}

// Set picks, from the exchanges as they stream by, the users with the lowest ids for each cause, and keeps of
// each user only what its witness would show and only while it could still become one.
type Set struct {
	chosen [len(witnessCauses)][]*Witness // by user, at most witnessesPerCause each
	counts [len(witnessCauses)]int        // exchanges with each cause: the most frequent cause's witnesses come first
	// limit is the lowest user id no cause could take any more: every cause has its witnesses, all with lower ids.
	limit   int
	traces  []*Trace   // every trace, at most MaxTraced, the clock's face
	hand    int        // the next trace the clock looks at for one to give away
	pending []*Witness // witnesses still waiting for their user's next exchange
}

// Trace is one followed user's exchanges that a witness would show. The caller keeps a pointer per user for Record
// to fill; the trace is that user's only while live and user say so, since an idle user's goes to another.
type Trace struct {
	user       int
	live, used bool // used: an exchange came since the clock's hand last passed
	attempt    int  // the login attempt head began with; 0 before any
	head       [witnessHead]events.Event
	nHead      int
	recent     [witnessRecent]events.Event // a ring of the exchanges past head
	nRecent    int                         // how many went into the ring since head began
}

// New is an empty Set.
func New() Set { return Set{limit: math.MaxInt} }

// Record takes one exchange of a user; slot is the user's trace, nil or another user's when it is not followed.
func (w *Set) Record(e *events.Event, slot **Trace) {
	c := causeIndex(e.Outcome)
	if c >= 0 {
		w.counts[c]++
	}
	if len(w.pending) > 0 {
		w.pending = slices.DeleteFunc(w.pending, func(wi *Witness) bool {
			if wi.User != e.User {
				return false
			}
			wi.Exchanges = append(wi.Exchanges, *e)
			return true
		})
	}
	t := *slot
	if t != nil && (!t.live || t.user != e.User) {
		t = nil
	}
	if e.User >= w.limit {
		if t != nil {
			t.live = false // no cause would take this user: its trace goes to the next one
		}
		return
	}
	if t == nil {
		t = w.take(e.User)
		*slot = t
	}
	t.used = true
	t.add(e)
	if c >= 0 && w.wants(c, e.User) {
		w.choose(c, e.User, t)
	}
}

// take gives user a trace: a new one while there are fewer than MaxTraced, else the first the clock's hand finds
// that is not live, or that no exchange used since the hand last passed it.
func (w *Set) take(user int) *Trace {
	var t *Trace
	if len(w.traces) < MaxTraced {
		t = new(Trace)
		w.traces = append(w.traces, t)
	} else {
		for {
			t = w.traces[w.hand]
			w.hand = (w.hand + 1) % len(w.traces)
			if !t.live || !t.used {
				break
			}
			t.used = false
		}
	}
	t.user, t.live, t.used = user, true, false
	t.reset(0)
	return t
}

// Traced is how many users are followed.
func (w *Set) Traced() int {
	n := 0
	for _, t := range w.traces {
		if t.live {
			n++
		}
	}
	return n
}

// wants reports whether user, failing with cause c for the first time, is among the lowest ids of c so far.
func (w *Set) wants(c, user int) bool {
	ws := w.chosen[c]
	if slices.ContainsFunc(ws, func(wi *Witness) bool { return wi.User == user }) {
		return false // not the user's first exchange with this cause
	}
	return len(ws) < witnessesPerCause || user < ws[len(ws)-1].User
}

// choose makes user, whose failing exchange t has just taken, a witness of cause c.
func (w *Set) choose(c, user int, t *Trace) {
	wi := t.witness(witnessCauses[c], user)
	ws := w.chosen[c]
	i, _ := slices.BinarySearchFunc(ws, user, func(x *Witness, u int) int { return cmp.Compare(x.User, u) })
	ws = slices.Insert(ws, i, wi)
	if len(ws) > witnessesPerCause {
		dropped := ws[len(ws)-1]
		ws = ws[:len(ws)-1]
		w.pending = slices.DeleteFunc(w.pending, func(x *Witness) bool { return x == dropped })
	}
	w.chosen[c] = ws
	w.pending = append(w.pending, wi)
	w.limit = 0
	for _, ws := range w.chosen {
		if len(ws) < witnessesPerCause {
			w.limit = math.MaxInt
			break
		}
		w.limit = max(w.limit, ws[len(ws)-1].User)
	}
}

// Report lists the witnesses: the causes by how many exchanges had them, most first (ties in witnessCauses
// order), each cause's by user. The lists are copies: a later exchange changes none of them.
func (w *Set) Report() []Witness {
	order := make([]int, len(witnessCauses))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(w.counts[y], w.counts[x]) })
	out := []Witness{}
	for _, c := range order {
		for _, wi := range w.chosen[c] {
			cp := *wi
			cp.Exchanges = slices.Clone(wi.Exchanges)
			out = append(out, cp)
		}
	}
	return out
}

// reset empties the trace for a login attempt that begins (attempt 0: a user taken up).
func (t *Trace) reset(attempt int) {
	t.attempt, t.nHead, t.nRecent = attempt, 0, 0
}

// add takes the user's next exchange. A login attempt's first exchange begins the trace again: what came before
// it belongs to an attempt a failure after it does not need.
func (t *Trace) add(e *events.Event) {
	if e.Step == events.StepLogin && e.Attempt != t.attempt {
		t.reset(e.Attempt)
	}
	if t.nHead < witnessHead {
		t.head[t.nHead] = *e
		t.nHead++
		return
	}
	t.recent[t.nRecent%witnessRecent] = *e
	t.nRecent++
}

// witness is the trace so far as a witness whose failing exchange is the last one taken.
func (t *Trace) witness(cause string, user int) *Witness {
	kept := min(t.nRecent, witnessRecent)
	wi := &Witness{Cause: cause, User: user, Exchanges: make([]events.Event, 0, t.nHead+kept+1)}
	wi.Exchanges = append(wi.Exchanges, t.head[:t.nHead]...)
	for i := t.nRecent - kept; i < t.nRecent; i++ {
		wi.Exchanges = append(wi.Exchanges, t.recent[i%witnessRecent])
	}
	if t.nRecent > witnessRecent {
		wi.Omitted, wi.OmittedAt = t.nRecent-witnessRecent, t.nHead
	}
	wi.Failed = len(wi.Exchanges) - 1
	return wi
}
