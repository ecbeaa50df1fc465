package reports

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/clients/events"
)

// timeline splits a run at its fault marks as they arrive. Each exchange is counted once, in the segment its answer
// time falls in among the marks known when it arrives; that is the segment it ends up in, because the harness
// records a mark before any exchange answered after it (only a mark in the very same millisecond can come too late).
// Segments are numbered in the order their marks arrived, not in time order; spans puts them in time order.
type timeline struct {
	bounds  []boundary          // every fault mark that moved a boundary, in time order, same-ms marks as they came
	segs    []segment           // segs[0] precedes every mark; segs[b.seg] begins at boundary b
	faults  map[int]*faultState // by mark index
	planned []*faultState       // Meta.Faults, in scenario order
	dense   int                 // user ids below it live in users; a stray huge id goes to sparse instead of growing it
	users   []userTrack
	sparse  map[int]*userTrack
	tracks  []faultTrack // len(planned) per user that met a started fault, from userTrack.ft-1
	lastT   int64        // send time of the latest exchange
	seen    bool         // whether any exchange arrived
}

type boundary struct {
	t     int64
	fault int
	end   bool
	seg   int32
}

type segment struct {
	requests, errors, rateLimited, interrupted, pages, losses, users, usersWithLoss int
	connsClosed                                                                     int   // new connections: the last one was closed or broke
	replicas                                                                        []int // requests by replica id
}

type faultState struct {
	action, target string
	started, ended bool
	start, end     int64
	err            string
	// lossUntil is the next fault's start: a session lost in [start, lossUntil) counts against this fault.
	lossUntil int64
}

// userTrack is what the timeline keeps per user; each field is 1 + an index, so that the zero value means none.
type userTrack struct {
	seg, lossSeg int32 // the last segment the user was counted in as a user, as a user with a loss
	last         int32 // the replica that answered the user last
	ft           int32 // the user's faultTracks in timeline.tracks; none until the user meets a started fault
	// reauthSeg is 1 + the segment of the user's page that went to the identity provider and whose
	// re-authentication has not ended in a loss yet; 0 for none.
	reauthSeg int32
}

// faultTrack is one user around one fault. pre and post are 1 + a replica id, 0 for none.
type faultTrack struct {
	pre      int32 // the last replica to answer before the start
	post     int32 // where the user settled: the last replica to answer between the end and the next fault's start
	next     int32 // the first replica to answer at or after the end, for a fault the next one follows at once
	preTaken bool  // pre is final: the user's first exchange at or after the start has been seen
	lost     bool
	// Between the start and the end: cur is 1 + the replica that answered last, left has a bit for each replica
	// that answered before cur (replicaBit), and flipped is set once an answer came back from one of them.
	cur     int32
	left    uint64
	flipped bool
}

// replicaBit is a replica id's bit in faultTrack.left. Past the 63rd, replicas share the last bit: only a live
// target's answers can name that many, and a user who meets two of them in one fault is counted as flipped.
func replicaBit(rep int32) uint64 { return 1 << min(rep, 63) }

// maxDenseUsers bounds the users tracked in a slice by id (twice the most users a scenario may have); ids past it,
// which only a damaged log holds, are tracked in a map rather than growing the slice to them.
const maxDenseUsers = 2 << 20

func newTimeline(meta events.Meta) timeline {
	tl := timeline{
		segs:   []segment{{}},
		faults: make(map[int]*faultState, len(meta.Faults)),
		dense:  min(max(2*meta.Users, 1<<16), maxDenseUsers),
		sparse: make(map[int]*userTrack),
	}
	for i, plan := range meta.Faults {
		st := &faultState{action: plan.Action, target: plan.Target, lossUntil: math.MaxInt64}
		tl.faults[i] = st
		tl.planned = append(tl.planned, st)
	}
	return tl
}

func (f *faultState) label() string { return faultLabel(f.action, f.target) }

// faultLabel names a fault in phase names and text: "kill replica-2", "scale-out".
func faultLabel(action, target string) string {
	if target == "" {
		return action
	}
	return action + " " + target
}

// mark records a fault's start or end. A repeated mark, or one of an unknown phase, moves no boundary.
func (tl *timeline) mark(e events.Event) {
	m := e.Fault
	if m == nil || m.Index < 0 {
		return
	}
	st := tl.faults[m.Index]
	if st == nil {
		st = &faultState{action: m.Action, target: m.Target, lossUntil: math.MaxInt64}
		tl.faults[m.Index] = st
	}
	end := m.Phase == events.FaultEnd
	switch {
	case m.Phase == events.FaultStart && !st.started:
		st.started, st.start = true, e.TMs
	case end && !st.ended:
		st.ended, st.end, st.err = true, e.TMs, m.Error
	default:
		return
	}
	// After every boundary at or before this time, so that same-ms marks keep their arrival order.
	i, _ := slices.BinarySearchFunc(tl.bounds, e.TMs+1, func(b boundary, t int64) int { return cmp.Compare(b.t, t) })
	tl.bounds = slices.Insert(tl.bounds, i, boundary{t: e.TMs, fault: m.Index, end: end, seg: int32(len(tl.segs))})
	tl.segs = append(tl.segs, segment{})
	if !end {
		tl.setLossWindows()
	}
}

func (tl *timeline) setLossWindows() {
	var prev *faultState
	for _, b := range tl.bounds {
		if b.end {
			continue
		}
		st := tl.faults[b.fault]
		st.lossUntil = math.MaxInt64
		if prev != nil {
			prev.lossUntil = b.t
		}
		prev = st
	}
}

func (tl *timeline) segmentAt(t int64) int32 {
	for i := len(tl.bounds) - 1; i >= 0; i-- {
		if tl.bounds[i].t <= t {
			return tl.bounds[i].seg
		}
	}
	return 0
}

// exchange counts e (answered by replica rep, -1 for none) in its segment and returns the segment. An exchange
// belongs where its answer arrived, not where it was sent: a request in flight when a replica is killed is
// answered (by another replica, or with an error) under the fault, and says where the user went then. It returns
// the exchange's segment and whether it is a session loss (see isSessionLoss).
func (tl *timeline) exchange(e events.Event, rep int) (int32, bool) {
	at := answeredAt(e)
	seg := tl.segmentAt(at)
	s := &tl.segs[seg]
	s.requests++
	switch e.Outcome {
	case events.OutcomeError:
		s.errors++
	case events.OutcomeRateLimited:
		s.rateLimited++
	case events.OutcomeInterrupted:
		s.interrupted++
	}
	if closesConn(e.Conn) {
		s.connsClosed++
	}
	if rep >= 0 {
		if rep >= len(s.replicas) {
			s.replicas = append(s.replicas, make([]int, rep+1-len(s.replicas))...)
		}
		s.replicas[rep]++
	}
	u := tl.user(e.User)
	loss := isSessionLoss(e)
	lossSeg := seg
	switch e.Step {
	case events.StepPage:
		s.pages++
		u.reauthSeg = 0
		if e.Outcome == events.OutcomeReauth {
			u.reauthSeg = seg + 1
		}
	case events.StepReauth:
		// Counted against the page that went to the identity provider, once, so that no phase has more losses
		// than pages.
		if loss && u.reauthSeg == 0 {
			loss = false
		} else if loss {
			lossSeg = u.reauthSeg - 1
			u.reauthSeg = 0
		}
	}
	if loss {
		tl.segs[lossSeg].losses++
	}
	if !tl.seen || at > tl.lastT {
		tl.lastT, tl.seen = at, true
	}
	// A user is sequential and marks only add later segments, so the user's segments only move forward: comparing
	// with the last one counts each (user, segment) once.
	if u.seg != seg+1 {
		u.seg = seg + 1
		s.users++
	}
	if loss && u.lossSeg != lossSeg+1 {
		u.lossSeg = lossSeg + 1
		tl.segs[lossSeg].usersWithLoss++
	}
	if len(tl.planned) > 0 {
		tl.follow(u, at, int32(rep+1), loss)
	}
	if rep >= 0 {
		u.last = int32(rep + 1)
	}
	return seg, loss
}

// follow updates the user's view of every fault that has started by t. The user's first exchange answered at or
// after a start fixes the replica it had before: the last one that answered before the start.
func (tl *timeline) follow(u *userTrack, t int64, rep int32, loss bool) {
	for f, st := range tl.planned {
		if !st.started || t < st.start {
			continue
		}
		if u.ft == 0 {
			u.ft = int32(len(tl.tracks)) + 1
			tl.tracks = append(tl.tracks, make([]faultTrack, len(tl.planned))...)
		}
		ft := &tl.tracks[int(u.ft)-1+f]
		if !ft.preTaken {
			ft.preTaken, ft.pre = true, u.last
		}
		// The replica a user settles on: the last one to answer before the next fault. The first answer after the
		// end can still come from the old replica, served just before the fault and read late by a busy client.
		// When the next fault starts at once, there is no such stretch: the first answer after the end stands in.
		if st.ended && t >= st.end && rep != 0 {
			if t < st.lossUntil {
				ft.post = rep
			} else if ft.next == 0 {
				ft.next = rep
			}
		}
		if loss && t < st.lossUntil {
			ft.lost = true
		}
		if rep != 0 && (!st.ended || t <= st.end) {
			ft.window(rep)
		}
	}
}

// window follows the replicas that answer the user while the fault lasts: back to one the user had left is a flip.
func (ft *faultTrack) window(rep int32) {
	if rep == ft.cur {
		return
	}
	if ft.cur != 0 {
		ft.left |= replicaBit(ft.cur - 1)
	}
	if ft.left&replicaBit(rep-1) != 0 {
		ft.flipped = true
	}
	ft.cur = rep
}

func (tl *timeline) user(id int) *userTrack {
	if id >= 0 && id < tl.dense {
		if id >= len(tl.users) {
			tl.users = append(tl.users, make([]userTrack, id+1-len(tl.users))...)
		}
		return &tl.users[id]
	}
	u := tl.sparse[id]
	if u == nil {
		u = &userTrack{}
		tl.sparse[id] = u
	}
	return u
}

// span is a segment placed in time.
type span struct {
	name     string
	from, to int64
	seg      int32
}

// spans lists the segments in time order, named by the faults active in them or else the fault that ended last.
func (tl *timeline) spans() []span {
	out := []span{{name: "before"}}
	var active []int // fault indexes, in start order
	lastEnded := ""
	for _, b := range tl.bounds {
		if b.end {
			lastEnded = tl.faults[b.fault].label()
			if i := slices.Index(active, b.fault); i >= 0 {
				active = slices.Delete(active, i, i+1)
			}
		} else {
			active = append(active, b.fault)
		}
		out = append(out, span{name: tl.phaseName(active, lastEnded), from: b.t, seg: b.seg})
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].to = out[i+1].from
		} else {
			out[i].to = max(out[i].from, tl.lastT)
		}
	}
	return out
}

func (tl *timeline) phaseName(active []int, lastEnded string) string {
	switch {
	case len(active) > 0:
		labels := make([]string, len(active))
		for i, f := range active {
			labels[i] = tl.faults[f].label()
		}
		return "during " + strings.Join(labels, " + ")
	case lastEnded != "":
		return "after " + lastEnded
	}
	return "before"
}

// plannedSpans is the shape a run of sequential faults will have, for a report that has seen nothing yet. Every span
// points at segment 0, which holds zero counts until something arrives.
func (tl *timeline) plannedSpans() []span {
	out := []span{{name: "before"}}
	for _, st := range tl.planned {
		out = append(out, span{name: "during " + st.label()}, span{name: "after " + st.label()})
	}
	return out
}

// phases is the report's per-phase figures, with replicas listed in order (see replicaOrder).
func (a *Accumulator) phases(order []int) []Phase {
	tl := &a.tl
	if len(tl.planned) == 0 && len(tl.bounds) == 0 {
		return []Phase{}
	}
	spans := tl.spans()
	if !tl.seen && len(tl.bounds) == 0 {
		spans = tl.plannedSpans()
	}
	attempts := make([]int, len(tl.segs))
	failures := make([]int, len(tl.segs))
	for _, at := range a.attempts {
		attempts[at.seg]++
		if at.outcome != okCode {
			failures[at.seg]++
		}
	}
	out := make([]Phase, 0, len(spans))
	for _, sp := range spans {
		s := tl.segs[sp.seg]
		p := Phase{
			Name: sp.name, FromMs: sp.from, ToMs: sp.to,
			Figures: Figures{Requests: s.requests, Errors: s.errors, RateLimited: s.rateLimited, Interrupted: s.interrupted, LoginAttempts: attempts[sp.seg], LoginFailures: failures[sp.seg],
				PageRequests: s.pages, SessionLosses: s.losses},
			Users: s.users, UsersWithLoss: s.usersWithLoss, Replicas: make([]PhaseReplica, 0, len(order)),
		}
		p.setRates()
		p.ConnectionsClosed = s.connsClosed
		for _, id := range order {
			n := 0
			if id < len(s.replicas) {
				n = s.replicas[id]
			}
			p.Replicas = append(p.Replicas, PhaseReplica{Name: a.loads[id].name, Requests: n})
		}
		out = append(out, p)
	}
	return out
}

// faultTally counts users around one fault.
type faultTally struct {
	across, moved, onTarget, lostOnTarget, lostElsewhere, lost, flipped int
}

// results is one FaultResult per planned fault. ids interns replica names, as in the Accumulator.
func (tl *timeline) results(meta events.Meta, ids map[string]int) []FaultResult {
	targets := make([]int32, len(meta.Faults)) // 1 + the target's replica id, 0 when the target is no replica
	for i, plan := range meta.Faults {
		if slices.Contains(meta.Replicas, plan.Target) {
			targets[i] = int32(ids[plan.Target] + 1)
		}
	}
	tallies := tl.tally(targets)
	out := make([]FaultResult, len(meta.Faults))
	for i, plan := range meta.Faults {
		st := tl.planned[i]
		r := FaultResult{Index: i, Action: plan.Action, Target: plan.Target, At: plan.At, Error: st.err, To: plan.To}
		if st.started {
			r.StartMs = new(st.start)
		}
		if st.ended {
			c := tallies[i]
			r.EndMs = new(st.end)
			r.UsersAcross, r.MovedUsers, r.UsersLost, r.FlippedUsers = new(c.across), new(c.moved), new(c.lost), new(c.flipped)
			r.MovedShare = ratio(c.moved, c.across)
			if targets[i] != 0 {
				r.UsersOnTarget, r.LostOnTarget, r.LostElsewhere = new(c.onTarget), new(c.lostOnTarget), new(c.lostElsewhere)
			}
		}
		out[i] = r
	}
	return out
}

func (tl *timeline) tally(targets []int32) []faultTally {
	out := make([]faultTally, len(tl.planned))
	count := func(u *userTrack) {
		if u.ft == 0 {
			return
		}
		for f, ft := range tl.tracks[u.ft-1 : int(u.ft)-1+len(tl.planned)] {
			if ft.flipped {
				out[f].flipped++
			}
			post := ft.post
			if post == 0 {
				post = ft.next
			}
			if ft.pre == 0 || post == 0 {
				continue
			}
			c := &out[f]
			c.across++
			if ft.pre != post {
				c.moved++
			}
			onTarget := targets[f] != 0 && ft.pre == targets[f]
			if onTarget {
				c.onTarget++
			}
			if ft.lost {
				c.lost++
				if onTarget {
					c.lostOnTarget++
				} else {
					c.lostElsewhere++
				}
			}
		}
	}
	for i := range tl.users {
		count(&tl.users[i])
	}
	for _, u := range tl.sparse {
		count(u)
	}
	return out
}

// answeredAt is when an exchange's answer arrived, in ms since the run started.
func answeredAt(e events.Event) int64 { return e.TMs + e.LatencyUS/1000 }
