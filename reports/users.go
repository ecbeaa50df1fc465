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
	// servedBy has bit r set once replica r (of the first 64) served the user (Accumulator.countServed).
	servedBy uint64
}

// userTable holds the users' records: by id in a slice for the ids a population draws (from 1, dense), which every
// exchange looks up, and in a map for any other id (a damaged log's).
type userTable struct {
	dense  []*userRecord
	sparse map[int]*userRecord
}

// denseUsers bounds the ids kept in the slice: 4 Mi users' pointers are 32 MiB.
const denseUsers = 1 << 22

func (t *userTable) get(id int) *userRecord {
	if id >= 0 && id < len(t.dense) {
		return t.dense[id]
	}
	return t.sparse[id]
}

func (t *userTable) put(id int, u *userRecord) {
	switch {
	case id >= 0 && id < denseUsers:
		if id >= len(t.dense) {
			t.dense = slices.Grow(t.dense, id+1-len(t.dense))[:id+1]
		}
		t.dense[id] = u
	default:
		if t.sparse == nil {
			t.sparse = map[int]*userRecord{}
		}
		t.sparse[id] = u
	}
}

// sorted is every record, by id.
func (t *userTable) sorted() []*userRecord {
	ids := slices.Sorted(maps.Keys(t.sparse))
	firstPositive, _ := slices.BinarySearch(ids, 0) // the sparse ids are below 0 or past the dense ones
	var out []*userRecord
	for _, id := range ids[:firstPositive] {
		out = append(out, t.sparse[id])
	}
	for _, u := range t.dense {
		if u != nil {
			out = append(out, u)
		}
	}
	for _, id := range ids[firstPositive:] {
		out = append(out, t.sparse[id])
	}
	return out
}

// trackUser adds e to its user's record, and reports whether e created the user's session (users.User.Add).
func (a *Accumulator) trackUser(e events.Event, rep int) (*userRecord, bool) {
	u := a.users.get(e.User)
	if u == nil {
		u = &userRecord{User: users.New(e)}
		a.users.put(e.User, u)
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
	for _, u := range a.users.sorted() {
		sum.Add(&u.User)
	}
	st = Stickiness{Users: sum.Sticky, Mean: sum.Mean(), UsersAtOne: sum.AtOne, ShareAtOne: ratio(sum.AtOne, sum.Sticky)}
	return sum.Loop, sum.Affected, sum.Peak(), st
}
