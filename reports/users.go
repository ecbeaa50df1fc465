package reports

import (
	"maps"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports/internal/tier"
	"github.com/sessionlab/sessionlab/reports/internal/users"
	"github.com/sessionlab/sessionlab/reports/internal/witness"
)

// userRecord is what the accumulator keeps per user.
type userRecord struct {
	users.User
	// inst is where the user went in a tier of balancer instances.
	inst tier.User
	// trace is the user's exchanges a witness would show, when the user is followed (witness.Set.Record).
	trace *witness.Trace
	// addr is the address of the user's last exchange with the balancer, already counted in Accumulator.addrs.
	addr string
}

// trackUser adds e to its user's record, and reports whether e created the user's session (users.User.Add).
func (a *Accumulator) trackUser(e events.Event, rep int) (*userRecord, bool) {
	u := a.users[e.User]
	if u == nil {
		u = &userRecord{User: users.New(e)}
		a.users[e.User] = u
	}
	return u, u.Add(e, rep)
}

// Stickiness sums up, over users with protected pages, the share of each user's pages served by the replica that
// created the user's session.
type Stickiness struct {
	Users      int      `json:"users"` // users with at least one protected page answered by a replica
	Mean       *float64 `json:"mean"`
	UsersAtOne int      `json:"users_at_1"` // users all of whose pages that replica served
	ShareAtOne *float64 `json:"share_at_1"`
}

// userFigures are the per-user totals, the most users at once and the stickiness summary.
func (a *Accumulator) userFigures() (loop, affected, peak int, st Stickiness) {
	var sum users.Sum
	for _, id := range slices.Sorted(maps.Keys(a.users)) {
		sum.Add(&a.users[id].User)
	}
	st = Stickiness{Users: sum.Sticky, Mean: sum.Mean(), UsersAtOne: sum.AtOne, ShareAtOne: ratio(sum.AtOne, sum.Sticky)}
	return sum.Loop, sum.Affected, sum.Peak(), st
}
