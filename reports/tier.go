package reports

import (
	"cmp"
	"maps"
	"slices"

	"github.com/sessionlab/sessionlab/clients/events"
)

// Tier is the balancer tier of a run with several balancer instances behind an L4 front (Meta.Balancer.Instances):
// what each instance answered, and where the sessions that were lost had been created. Report.Tier is nil with one
// balancer.
type Tier struct {
	// Front is how the front spread connections over the instances: "connection" or "source".
	Front string `json:"front"`
	// Instances are the header's instances in order, then any other name an answer carried (sorted).
	Instances []Instance `json:"instances"`
	// NoInstance counts the exchanges no instance answered: connection errors, and requests to the identity
	// provider's host. The instances' requests and it sum to totals.requests.
	NoInstance int `json:"no_instance"`
	// UsersOnSeveral are the users answered by more than one instance.
	UsersOnSeveral int `json:"users_on_several"`
	// The session losses, split by the instance that answered the loss (for a re-authentication the identity
	// provider prompted for, the page the app sent there) against the one that answered the user's last accepted
	// login: another instance, the same one, or unattributed when either of them named no instance. The three sum
	// to totals.session_losses.
	LossesElsewhere    int `json:"losses_elsewhere"`
	LossesSameInstance int `json:"losses_same_instance"`
	LossesUnattributed int `json:"losses_unattributed"`
}

// Instance is one balancer instance's share of the traffic.
type Instance struct {
	Name     string   `json:"name"`
	Requests int      `json:"requests"`
	Share    *float64 `json:"share"`  // of the requests some instance answered
	Users    int      `json:"users"`  // distinct users it answered at least once
	Errors   int      `json:"errors"` // its answers with outcome "error" (a 5xx it gave or passed on)
	// Connections counts the connections opened through it: its answers to exchanges that opened one (Conn set).
	Connections int `json:"connections"`
}

// connCauses are the reasons an exchange opened a new connection (events.Event.Conn); Totals.Connections names all
// of them once the run counts connections.
var connCauses = []string{"first", "keep-alive", "roam", "closed", "error"}

// closesConn reports a new connection opened because the balancer's side had closed or broken the last one: what
// Figures.ConnectionsClosed counts.
func closesConn(conn string) bool { return conn == "closed" || conn == "error" }

// tierState is what the accumulator keeps of the tier: per instance, and the losses split.
type tierState struct {
	on                                        bool           // the header names a tier
	ids                                       map[string]int // instance name -> index in loads
	loads                                     []instanceLoad // the header's instances first, then other names as answers carried them
	listed                                    int
	none                                      int // exchanges no instance answered
	lossElsewhere, lossSame, lossUnattributed int
}

type instanceLoad struct {
	name                    string
	requests, errors, conns int
	served                  map[int]struct{}
}

func newTierState(meta events.Meta) tierState {
	ts := tierState{on: len(meta.Balancer.Instances) > 0, ids: map[string]int{}}
	for _, name := range meta.Balancer.Instances {
		ts.instanceID(name)
	}
	ts.listed = len(ts.loads)
	return ts
}

func (ts *tierState) instanceID(name string) int {
	if id, ok := ts.ids[name]; ok {
		return id
	}
	ts.ids[name] = len(ts.loads)
	ts.loads = append(ts.loads, instanceLoad{name: name, served: map[int]struct{}{}})
	return len(ts.loads) - 1
}

// countConn counts an exchange that opened a new connection, by why it did.
func (a *Accumulator) countConn(e events.Event) {
	if e.Conn == "" {
		return
	}
	if a.conns == nil {
		a.conns = map[string]int{}
	}
	a.conns[e.Conn]++
	if closesConn(e.Conn) {
		a.closed++
	}
}

// countsConns: the run's connections by cause are known, because the log records why connections opened (every
// exchange that opened one says so) or because the run had a tier, whose every report names the causes.
func (a *Accumulator) countsConns() bool { return a.tier.on || a.conns != nil }

// trackInstance counts e for the instance that answered it; loss says whether e is a session loss (see
// isSessionLoss), created whether it created the user's session (trackUser).
func (a *Accumulator) trackInstance(e events.Event, loss, created bool) {
	ts := &a.tier
	if !ts.on {
		return
	}
	u := a.users[e.User]
	inst := int32(0) // 1 + the instance's id, 0 for none
	if e.Instance == "" {
		ts.none++
	} else {
		id := ts.instanceID(e.Instance)
		l := &ts.loads[id]
		l.requests++
		l.served[e.User] = struct{}{}
		if e.Outcome == events.OutcomeError {
			l.errors++
		}
		if e.Conn != "" {
			l.conns++
		}
		inst = int32(id + 1)
		if u.firstInst == 0 {
			u.firstInst = inst
		} else if u.firstInst != inst {
			u.severalInst = true
		}
	}
	if created {
		// The accepted submission; after a single sign-on, whose submission went to the identity provider through
		// no instance, the app's answer to its callback then names the instance.
		u.loginInst = inst
	}
	if e.Step == events.StepPage {
		u.pageInst = inst
	}
	if !loss {
		return
	}
	lossInst := inst
	if e.Step == events.StepReauth {
		lossInst = u.pageInst // the page the app sent to the identity provider: the one whose session was gone
	}
	switch {
	case lossInst == 0 || u.loginInst == 0:
		ts.lossUnattributed++
	case lossInst == u.loginInst:
		ts.lossSame++
	default:
		ts.lossElsewhere++
	}
}

// tierFigures is Report.Tier: nil without a tier.
func (a *Accumulator) tierFigures() *Tier {
	ts := &a.tier
	if !ts.on {
		return nil
	}
	order := make([]int, len(ts.loads))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order[ts.listed:], func(x, y int) int { return cmp.Compare(ts.loads[x].name, ts.loads[y].name) })
	answered := 0
	for _, l := range ts.loads {
		answered += l.requests
	}
	t := &Tier{Front: a.meta.Balancer.Front, Instances: make([]Instance, 0, len(order)), NoInstance: ts.none,
		LossesElsewhere: ts.lossElsewhere, LossesSameInstance: ts.lossSame, LossesUnattributed: ts.lossUnattributed}
	for _, id := range order {
		l := ts.loads[id]
		t.Instances = append(t.Instances, Instance{Name: l.name, Requests: l.requests, Share: ratio(l.requests, answered),
			Users: len(l.served), Errors: l.errors, Connections: l.conns})
	}
	for _, u := range a.users {
		if u.severalInst {
			t.UsersOnSeveral++
		}
	}
	return t
}

// connFigures sets the connection figures of the totals: the exchanges that opened a connection by cause (every
// cause named, once the run counts connections), and those the balancer's side had closed.
func (a *Accumulator) connFigures(t *Totals) {
	t.ConnectionsClosed = a.closed
	if !a.countsConns() {
		return
	}
	t.Connections = maps.Clone(a.conns)
	if t.Connections == nil {
		t.Connections = map[string]int{}
	}
	for _, c := range connCauses {
		t.Connections[c] += 0
	}
}
