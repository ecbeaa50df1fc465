// Package timeline splits a run into the phases its fault marks delimit, as the exchanges stream by, and follows
// each user across every fault: what package reports turns into Report.Phases and Report.Faults.
package timeline

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/clients/events"
)

// Timeline splits a run at its fault marks as they arrive. Each exchange is counted once, in the segment its answer
// time falls in among the marks known when it arrives; that is the segment it ends up in, because the harness
// records a mark before any exchange answered after it (only a mark in the very same millisecond can come too late).
// Segments are numbered in the order their marks arrived, not in time order; Phases puts them in time order.
type Timeline struct {
	bounds  []boundary          // every fault mark that moved a boundary, in time order, same-ms marks as they came
	segs    []Counts            // segs[0] precedes every mark; segs[b.seg] begins at boundary b
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

// Counts are what one segment of the run counted: the figures of a phase.
type Counts struct {
	Requests, Errors, RateLimited, Pages, Losses, Users, UsersWithLoss int
	HarnessLimit                                                       int   // exchanges the harness's own parts broke
	Interrupted                                                        int   // exchanges cut short by an interruption
	ConnsClosed                                                        int   // new connections: the last one was closed or broke
	Replicas                                                           []int // requests by replica id
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

// New is the empty timeline of the run meta describes: its planned faults, and room for its users.
func New(meta events.Meta) Timeline {
	tl := Timeline{
		segs:   []Counts{{}},
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

func (f *faultState) label() string { return Label(f.action, f.target) }

// Label names a fault in phase names and text: "kill replica-2", "scale-out".
func Label(action, target string) string {
	if target == "" {
		return action
	}
	return action + " " + target
}

// Mark records a fault's start or end. A repeated mark, or one of an unknown phase, moves no boundary.
func (tl *Timeline) Mark(e events.Event) {
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
	tl.segs = append(tl.segs, Counts{})
	if !end {
		tl.setLossWindows()
	}
}

func (tl *Timeline) setLossWindows() {
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

func (tl *Timeline) segmentAt(t int64) int32 {
	for i := len(tl.bounds) - 1; i >= 0; i-- {
		if tl.bounds[i].t <= t {
			return tl.bounds[i].seg
		}
	}
	return 0
}

// Exchange counts e (answered by replica rep, -1 for none) in its segment and returns the segment. An exchange
// belongs where its answer arrived, not where it was sent: a request in flight when a replica is killed is
// answered (by another replica, or with an error) under the fault, and says where the user went then. It returns
// the exchange's segment and whether it is a session loss (see isSessionLoss).
func (tl *Timeline) Exchange(e events.Event, rep int) (int32, bool) {
	at := answeredAt(e)
	seg := tl.segmentAt(at)
	s := &tl.segs[seg]
	s.Requests++
	switch e.Outcome {
	case events.OutcomeError:
		s.Errors++
	case events.OutcomeRateLimited:
		s.RateLimited++
	case events.OutcomeHarnessLimit:
		s.HarnessLimit++
	case events.OutcomeInterrupted:
		s.Interrupted++
	}
	if ClosesConn(e.Conn) {
		s.ConnsClosed++
	}
	if rep >= 0 {
		if rep >= len(s.Replicas) {
			s.Replicas = append(s.Replicas, make([]int, rep+1-len(s.Replicas))...)
		}
		s.Replicas[rep]++
	}
	u := tl.user(e.User)
	loss := isSessionLoss(e)
	lossSeg := seg
	switch e.Step {
	case events.StepPage:
		s.Pages++
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
		tl.segs[lossSeg].Losses++
	}
	if !tl.seen || at > tl.lastT {
		tl.lastT, tl.seen = at, true
	}
	// A user is sequential and marks only add later segments, so the user's segments only move forward: comparing
	// with the last one counts each (user, segment) once.
	if u.seg != seg+1 {
		u.seg = seg + 1
		s.Users++
	}
	if loss && u.lossSeg != lossSeg+1 {
		u.lossSeg = lossSeg + 1
		tl.segs[lossSeg].UsersWithLoss++
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
func (tl *Timeline) follow(u *userTrack, t int64, rep int32, loss bool) {
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

func (tl *Timeline) user(id int) *userTrack {
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

// Phase is a segment placed in time, with what it counted.
type Phase struct {
	Name     string // "before", "during kill replica-2", "after kill replica-2"
	From, To int64
	Seg      int32 // the segment, below Segments: what a caller keeps per segment (login attempts) goes by it
	Counts
}

// Segments is how many segments the run has been split into so far.
func (tl *Timeline) Segments() int { return len(tl.segs) }

// Phases lists the phases in time order, named by the faults active in them or else the fault that ended last: none
// when the run plans no fault and no mark came, and the planned shape while nothing has arrived, so that a report of
// an empty log has the rows its run will have.
func (tl *Timeline) Phases() []Phase {
	if len(tl.planned) == 0 && len(tl.bounds) == 0 {
		return nil
	}
	out := tl.spans()
	if !tl.seen && len(tl.bounds) == 0 {
		out = tl.plannedSpans()
	}
	for i := range out {
		out[i].Counts = tl.segs[out[i].Seg]
	}
	return out
}

func (tl *Timeline) spans() []Phase {
	out := []Phase{{Name: "before"}}
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
		out = append(out, Phase{Name: tl.phaseName(active, lastEnded), From: b.t, Seg: b.seg})
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].To = out[i+1].From
		} else {
			out[i].To = max(out[i].From, tl.lastT)
		}
	}
	return out
}

func (tl *Timeline) phaseName(active []int, lastEnded string) string {
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

// plannedSpans is the shape a run of sequential faults will have. Every phase points at segment 0, which holds zero
// counts until something arrives.
func (tl *Timeline) plannedSpans() []Phase {
	out := []Phase{{Name: "before"}}
	for _, st := range tl.planned {
		out = append(out, Phase{Name: "during " + st.label()}, Phase{Name: "after " + st.label()})
	}
	return out
}

// Fault is what the timeline saw of one planned fault, and the users around it.
type Fault struct {
	Started, Ended bool
	Start, End     int64
	Error          string // the fault's end mark's error
	Tally
}

// Tally counts the users around one fault: those with an answer before its start and after its end (Across), and
// of them those who moved, were on its target, or lost a session; and those flipped while it lasted.
type Tally struct {
	Across, Moved, OnTarget, LostOnTarget, LostElsewhere, Lost, Flipped int
}

// Faults is one Fault per planned fault, in scenario order. targets[i] is 1 + the replica id of fault i's target, 0
// when its target is no replica.
func (tl *Timeline) Faults(targets []int32) []Fault {
	out := make([]Fault, len(tl.planned))
	for i, st := range tl.planned {
		out[i] = Fault{Started: st.started, Ended: st.ended, Start: st.start, End: st.end, Error: st.err}
	}
	count := func(u *userTrack) {
		if u.ft == 0 {
			return
		}
		for f, ft := range tl.tracks[u.ft-1 : int(u.ft)-1+len(tl.planned)] {
			if ft.flipped {
				out[f].Flipped++
			}
			post := ft.post
			if post == 0 {
				post = ft.next
			}
			if ft.pre == 0 || post == 0 {
				continue
			}
			c := &out[f].Tally
			c.Across++
			if ft.pre != post {
				c.Moved++
			}
			onTarget := targets[f] != 0 && ft.pre == targets[f]
			if onTarget {
				c.OnTarget++
			}
			if ft.lost {
				c.Lost++
				if onTarget {
					c.LostOnTarget++
				} else {
					c.LostElsewhere++
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

// isSessionLoss reports an exchange that shows an authenticated user's session lost: a protected page answered
// with the login, or a re-authentication the identity provider prompted for, the app sent to log in, or refused at
// its callback (csrf). A re-authentication's loss is the loss of the page that went to the identity provider:
// Exchange counts it once, against that page (a loss with no such page, which no client writes, is none).
func isSessionLoss(e events.Event) bool {
	switch e.Step {
	case events.StepPage:
		return e.Outcome == events.OutcomeLoss
	case events.StepReauth:
		return e.Outcome == events.OutcomeLoss || e.Outcome == events.OutcomeCSRF
	}
	return false
}

// ClosesConn reports a new connection opened because the balancer's side had closed or broken the last one: what
// the report's connections_closed counts, in the run and in each phase.
func ClosesConn(conn string) bool { return conn == "closed" || conn == "error" }

// answeredAt is when an exchange's answer arrived, in ms since the run started.
func answeredAt(e events.Event) int64 { return e.TMs + e.LatencyUS/1000 }
