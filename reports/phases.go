package reports

import "slices"

// phases is the report's per-phase figures, with replicas listed in order (see replicaOrder).
func (a *Accumulator) phases(order []int) []Phase {
	spans := a.tl.Phases()
	if spans == nil {
		return []Phase{}
	}
	attempts := make([]int, a.tl.Segments())
	failures := make([]int, a.tl.Segments())
	for _, at := range a.attempts {
		attempts[at.seg]++
		if at.outcome != okCode {
			failures[at.seg]++
		}
	}
	out := make([]Phase, 0, len(spans))
	for _, sp := range spans {
		p := Phase{
			Name: sp.Name, FromMs: sp.From, ToMs: sp.To,
			Figures: Figures{Requests: sp.Requests, Errors: sp.Errors, RateLimited: sp.RateLimited, HarnessLimit: sp.HarnessLimit, Interrupted: sp.Interrupted, LoginAttempts: attempts[sp.Seg], LoginFailures: failures[sp.Seg],
				PageRequests: sp.Pages, SessionLosses: sp.Losses},
			Users: sp.Users, UsersWithLoss: sp.UsersWithLoss, Replicas: make([]PhaseReplica, 0, len(order)),
		}
		p.setRates()
		p.ConnectionsClosed = sp.ConnsClosed
		for _, id := range order {
			n := 0
			if id < len(sp.Replicas) {
				n = sp.Replicas[id]
			}
			p.Replicas = append(p.Replicas, PhaseReplica{Name: a.loads[id].name, Requests: n})
		}
		out = append(out, p)
	}
	return out
}

// faults is one FaultResult per planned fault, in scenario order.
func (a *Accumulator) faults() []FaultResult {
	meta := a.meta
	targets := make([]int32, len(meta.Faults)) // 1 + the target's replica id, 0 when the target is no replica
	for i, plan := range meta.Faults {
		if slices.Contains(meta.Replicas, plan.Target) {
			targets[i] = int32(a.ids[plan.Target] + 1)
		}
	}
	seen := a.tl.Faults(targets)
	out := make([]FaultResult, len(meta.Faults))
	for i, plan := range meta.Faults {
		st := seen[i]
		r := FaultResult{Index: i, Action: plan.Action, Target: plan.Target, At: plan.At, Error: st.Error, To: plan.To}
		if st.Started {
			r.StartMs = new(st.Start)
		}
		if st.Ended {
			c := st.Tally
			r.EndMs = new(st.End)
			r.UsersAcross, r.MovedUsers, r.UsersLost, r.FlippedUsers = new(c.Across), new(c.Moved), new(c.Lost), new(c.Flipped)
			r.MovedShare = ratio(c.Moved, c.Across)
			if targets[i] != 0 {
				r.UsersOnTarget, r.LostOnTarget, r.LostElsewhere = new(c.OnTarget), new(c.LostOnTarget), new(c.LostElsewhere)
			}
		}
		out[i] = r
	}
	return out
}
