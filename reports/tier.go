package reports

import (
	"maps"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports/internal/timeline"
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

// countConn counts an exchange that opened a new connection, by why it did.
func (a *Accumulator) countConn(e events.Event) {
	if e.Conn == "" {
		return
	}
	if a.conns == nil {
		a.conns = map[string]int{}
	}
	a.conns[e.Conn]++
	if timeline.ClosesConn(e.Conn) {
		a.closed++
	}
}

// countsConns: the run's connections by cause are known, because the log records why connections opened (every
// exchange that opened one says so) or because the run had a tier, whose every report names the causes.
func (a *Accumulator) countsConns() bool { return a.tier.On() || a.conns != nil }

// tierFigures is Report.Tier: nil without a tier.
func (a *Accumulator) tierFigures() *Tier {
	if !a.tier.On() {
		return nil
	}
	f := a.tier.Figures()
	answered := 0
	for _, l := range f.Instances {
		answered += l.Requests
	}
	t := &Tier{Front: a.meta.Balancer.Front, Instances: make([]Instance, 0, len(f.Instances)), NoInstance: f.NoInstance,
		LossesElsewhere: f.LossesElsewhere, LossesSameInstance: f.LossesSameInstance, LossesUnattributed: f.LossesUnattributed}
	for _, l := range f.Instances {
		t.Instances = append(t.Instances, Instance{Name: l.Name, Requests: l.Requests, Share: ratio(l.Requests, answered),
			Users: l.Users, Errors: l.Errors, Connections: l.Connections})
	}
	for _, u := range a.users.sorted() {
		if u.inst.Several() {
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
