// Package tier follows the balancer instances of a tier through a run's exchanges: what each answered, and where
// each lost session had been created, against where it was lost. Package reports turns it into Report.Tier.
package tier

import (
	"cmp"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
)

// State is what a run's exchanges told of its tier so far. With no instance named in the header it is off and
// counts nothing.
type State struct {
	on                                        bool
	ids                                       map[string]int // instance name -> index in loads
	loads                                     []load         // the header's instances first, then other names as answers carried them
	listed                                    int
	none                                      int // exchanges no instance answered
	lossElsewhere, lossSame, lossUnattributed int
}

type load struct {
	name                    string
	requests, errors, conns int
	served                  map[int]struct{}
}

// User is what the tier keeps of one user: each field 1 + an instance id (0: none), the first instance that
// answered the user, the one that answered the accepted login, and the one that answered the last protected page;
// several once another than the first answered. The caller keeps one per user, beside its other per-user state.
type User struct {
	first, login, page int32
	several            bool
}

// Several reports whether more than one instance answered the user.
func (u *User) Several() bool { return u.several }

// New is the state of a tier of the named instances (a run's Meta.Balancer.Instances); off when there are none.
func New(instances []string) State {
	s := State{on: len(instances) > 0, ids: map[string]int{}}
	for _, name := range instances {
		s.instanceID(name)
	}
	s.listed = len(s.loads)
	return s
}

// On reports whether the run has a tier.
func (s *State) On() bool { return s.on }

func (s *State) instanceID(name string) int {
	if id, ok := s.ids[name]; ok {
		return id
	}
	s.ids[name] = len(s.loads)
	s.loads = append(s.loads, load{name: name, served: map[int]struct{}{}})
	return len(s.loads) - 1
}

// Track counts e for the instance that answered it; u is e's user, loss says whether e is a session loss, created
// whether it created the user's session.
func (s *State) Track(e events.Event, u *User, loss, created bool) {
	if !s.on {
		return
	}
	inst := int32(0)
	if e.Instance == "" {
		s.none++
	} else {
		id := s.instanceID(e.Instance)
		l := &s.loads[id]
		l.requests++
		l.served[e.User] = struct{}{}
		if e.Outcome == events.OutcomeError {
			l.errors++
		}
		if e.Conn != "" {
			l.conns++
		}
		inst = int32(id + 1)
		if u.first == 0 {
			u.first = inst
		} else if u.first != inst {
			u.several = true
		}
	}
	if created {
		// The accepted submission; after a single sign-on, whose submission went to the identity provider through
		// no instance, the app's answer to its callback then names the instance.
		u.login = inst
	}
	if e.Step == events.StepPage {
		u.page = inst
	}
	if !loss {
		return
	}
	lossInst := inst
	if e.Step == events.StepReauth {
		lossInst = u.page // the page the app sent to the identity provider: the one whose session was gone
	}
	switch {
	case lossInst == 0 || u.login == 0:
		s.lossUnattributed++
	case lossInst == u.login:
		s.lossSame++
	default:
		s.lossElsewhere++
	}
}

// Instance is what one instance answered.
type Instance struct {
	Name                                 string
	Requests, Users, Errors, Connections int
}

// Figures are the tier's counts, as Report.Tier names them.
type Figures struct {
	Instances                                               []Instance // the header's in order, then any other (sorted)
	NoInstance                                              int
	LossesElsewhere, LossesSameInstance, LossesUnattributed int
}

// Figures is what the tier counted so far.
func (s *State) Figures() Figures {
	order := make([]int, len(s.loads))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order[s.listed:], func(x, y int) int { return cmp.Compare(s.loads[x].name, s.loads[y].name) })
	f := Figures{Instances: make([]Instance, 0, len(order)), NoInstance: s.none,
		LossesElsewhere: s.lossElsewhere, LossesSameInstance: s.lossSame, LossesUnattributed: s.lossUnattributed}
	for _, id := range order {
		l := s.loads[id]
		f.Instances = append(f.Instances, Instance{Name: l.name, Requests: l.requests, Users: len(l.served), Errors: l.errors,
			Connections: l.conns})
	}
	return f
}
