// Package users follows each user's exchanges in the order the user made them, for the figures that need a user's
// whole story: login loops, the users a failure touched, stickiness, and how many users were there at once.
package users

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
)

// User is one user's story so far. A user's exchanges come from one browser, one after the other, so each one
// can be read against the ones before it.
type User struct {
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
}

// New is the story of a user whose first exchange is e.
func New(e events.Event) User { return User{creator: -1, from: e.TMs} }

// Add reads the user's next exchange e, answered by replica rep (-1: none). It reports whether e created the user's
// session: the accepted login submission, or the app's answer to a single sign-on's callback.
func (u *User) Add(e events.Event, rep int) (created bool) {
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
	return created
}

// bounce counts a login sent back to log in; the second in a row puts the user in a login loop.
func (u *User) bounce() {
	u.bounces = min(u.bounces+1, 2)
	if u.bounces >= 2 {
		u.loop = true
	}
}

func isRedirect(status int) bool {
	return status >= 300 && status < 400 && status != http.StatusNotModified
}

// Sum adds up users' figures. Users go in in id order: a float sum in another order differs in its last digit from
// run to run, and a report rendered twice from one log must be the same bytes.
type Sum struct {
	Loop     int // users in a login loop: two logins in a row bounced back to log in
	Affected int // users with any failed login, lost session or error
	// Sticky counts the users with a protected page answered by a replica while the one that created their session
	// was known; AtOne those of them all of whose such pages it served.
	Sticky, AtOne int
	shares        float64 // the sum of each sticky user's share of pages on the creator
	edges         []edge  // each user's span as a +1 at its start and a -1 past its end
}

type edge struct {
	t     int64
	delta int
}

// Add counts u.
func (s *Sum) Add(u *User) {
	if u.loop {
		s.Loop++
	}
	if u.affected {
		s.Affected++
	}
	if u.pages > 0 {
		s.Sticky++
		s.shares += float64(u.onCreator) / float64(u.pages)
		if u.onCreator == u.pages {
			s.AtOne++
		}
	}
	s.edges = append(s.edges, edge{u.from, 1}, edge{u.to + 1, -1})
}

// Mean is the sticky users' mean share of pages served by the replica that created their session; nil without one.
func (s *Sum) Mean() *float64 {
	if s.Sticky == 0 {
		return nil
	}
	return new(s.shares / float64(s.Sticky))
}

// Peak is the most users whose span of exchanges covered one moment: the users at once the run reached.
func (s *Sum) Peak() int {
	// Ends before starts at the same moment: a user whose span ended is no longer there when the next begins.
	slices.SortFunc(s.edges, func(x, y edge) int {
		if x.t != y.t {
			return cmp.Compare(x.t, y.t)
		}
		return cmp.Compare(x.delta, y.delta)
	})
	now, peak := 0, 0
	for _, e := range s.edges {
		now += e.delta
		peak = max(peak, now)
	}
	return peak
}
