package reports

import (
	"cmp"
	"maps"
	"net/http"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
)

// userRecord follows one user's exchanges, in the order the user made them (a user's exchanges come from one
// browser, one after the other), for the per-user figures: login loops, affected users and stickiness.
type userRecord struct {
	attempt   int
	accepted  bool  // the current attempt's credentials were accepted
	nextPage  bool  // the current attempt ended on an authenticated page: its next protected page decides
	bounces   uint8 // consecutive logins bounced (a loop, or a loss on the very next page)
	loop      bool
	affected  bool
	creator   int // the replica that created the current session, -1 unknown
	pages     int // protected pages answered by a replica while the creator was known
	onCreator int
	// from and to span the user's exchanges: the first one's start, the last one's end (ms into the run).
	from, to int64
	// In a tier, each 1 + an instance id (0: none): the first instance that answered the user, the one that
	// answered the accepted login, and the one that answered the last protected page; severalInst once another
	// than the first answered.
	firstInst, loginInst, pageInst int32
	severalInst                    bool
	// trace is the user's exchanges a witness would show, when the user is followed (witnesses.record).
	trace *trace
}

// trackUser updates the user's figures with e; rep is e's replica id (-1: none). It returns the user's record, and
// reports whether e created the user's session: the accepted login submission, or the app's answer to a single
// sign-on's callback.
func (a *Accumulator) trackUser(e events.Event, rep int) (u *userRecord, created bool) {
	u = a.users[e.User]
	if u == nil {
		u = &userRecord{creator: -1, from: e.TMs}
		a.users[e.User] = u
	}
	u.from = min(u.from, e.TMs)
	u.to = max(u.to, e.TMs+e.LatencyUS/1000)
	if e.Outcome != events.OutcomeOK && e.Outcome != events.OutcomeReauth && e.Outcome != events.OutcomeInterrupted {
		u.affected = true
	}
	switch e.Step {
	case events.StepLogin:
		if e.Attempt != u.attempt {
			u.attempt, u.accepted, u.nextPage = e.Attempt, false, false
		}
		switch {
		case e.Outcome == events.OutcomeLoop:
			u.bounce()
		case e.Outcome != events.OutcomeOK:
			u.bounces = 0 // a refused form or an error is no bounce: it breaks the run
		case e.Method == http.MethodPost:
			u.accepted = true
			u.nextPage = false
			created = true
			if rep >= 0 {
				u.creator = rep
			}
		case u.accepted && e.Host == "" && isRedirect(e.Status) && rep >= 0:
			u.creator = rep // an SSO callback, answered by the replica that keeps the new session
			created = true
		case u.accepted && e.Status == http.StatusOK:
			u.nextPage = true
		}
	case events.StepPage:
		if u.nextPage {
			u.nextPage = false
			if e.Outcome == events.OutcomeLoss {
				u.bounce()
			} else {
				u.bounces = 0
			}
		}
		if rep >= 0 && u.creator >= 0 {
			u.pages++
			if rep == u.creator {
				u.onCreator++
			}
		}
	}
	return u, created
}

// bounce counts a login sent back to log in; the second in a row puts the user in a login loop.
func (u *userRecord) bounce() {
	u.bounces = min(u.bounces+1, 2)
	if u.bounces >= 2 {
		u.loop = true
	}
}

func isRedirect(status int) bool {
	return status >= 300 && status < 400 && status != http.StatusNotModified
}

// Stickiness sums up, over users with protected pages, the share of each user's pages served by the replica that
// created the user's session.
type Stickiness struct {
	Users      int      `json:"users"` // users with at least one protected page answered by a replica
	Mean       *float64 `json:"mean"`
	UsersAtOne int      `json:"users_at_1"` // users all of whose pages that replica served
	ShareAtOne *float64 `json:"share_at_1"`
}

// userFigures are the per-user totals and the stickiness summary.
func (a *Accumulator) userFigures() (loop, affected int, st Stickiness) {
	var sum float64
	// In user order: a float sum in map order differs in its last digit from run to run, and a report rendered
	// twice from one log must be the same bytes.
	for _, id := range slices.Sorted(maps.Keys(a.users)) {
		u := a.users[id]
		if u.loop {
			loop++
		}
		if u.affected {
			affected++
		}
		if u.pages > 0 {
			st.Users++
			s := float64(u.onCreator) / float64(u.pages)
			sum += s
			if u.onCreator == u.pages {
				st.UsersAtOne++
			}
		}
	}
	if st.Users > 0 {
		st.Mean = new(sum / float64(st.Users))
	}
	st.ShareAtOne = ratio(st.UsersAtOne, st.Users)
	return loop, affected, st
}

// peakAtOnce is the most users whose span of exchanges covered one moment: the users at once the run reached.
func (a *Accumulator) peakAtOnce() int {
	type edge struct {
		t     int64
		delta int
	}
	edges := make([]edge, 0, 2*len(a.users))
	for _, u := range a.users {
		edges = append(edges, edge{u.from, 1}, edge{u.to + 1, -1})
	}
	// Ends before starts at the same moment: a user whose span ended is no longer there when the next begins.
	slices.SortFunc(edges, func(x, y edge) int {
		if x.t != y.t {
			return cmp.Compare(x.t, y.t)
		}
		return cmp.Compare(x.delta, y.delta)
	})
	now, peak := 0, 0
	for _, e := range edges {
		now += e.delta
		peak = max(peak, now)
	}
	return peak
}
