// Package plan is what a valid scenario compiles to, once, before anything starts: the topology a runtime starts
// (replicas numbered from 1, each with its name, cookie and secret; the app; the balancer with its settings and
// template), the faults the nemesis runs (triggers parsed, targets resolved), the users with their journey, and what
// the report and the event log's header say of the run. It holds no YAML and reads no scenario file; the scenario
// package builds it, the runtimes, the nemesis and Run read it.
package plan

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
)

// Plan is one run, ready to start.
type Plan struct {
	Topology Topology
	Faults   []Fault // in the order the scenario lists them
	Users    []clients.User
	Journey  clients.Journey
	// Concurrency is how many users are active at once.
	Concurrency int
	// Meta is what the report and the event log's header say of the run; Run fills in the runtime.
	Meta   events.Meta
	Expect map[string]string
}

// The names a fault may give for the parts that are not replicas, and the names of those parts.
const (
	TargetBalancer = "balancer" // the balancer, whatever its kind
	PartStore      = "store"    // the shared session store (Redis)
	PartIdP        = "idp"      // the identity provider
)

// Fault actions.
const (
	ActionKill           = "kill"
	ActionStop           = "stop"
	ActionStart          = "start"
	ActionRestart        = "restart"
	ActionRollingRestart = "rolling-restart"
	ActionScaleOut       = "scale-out"
	ActionScaleIn        = "scale-in"
	ActionRestartStore   = "restart-store"
	ActionReloadBalancer = "reload-balancer"
)

// FaultActions are the faults a scenario may list.
var FaultActions = []string{ActionKill, ActionStop, ActionStart, ActionRestart, ActionRollingRestart, ActionScaleOut,
	ActionScaleIn, ActionRestartStore, ActionReloadBalancer}

// Fault is one nemesis action (Jepsen's nemesis): what happens to which part, and when.
type Fault struct {
	Index   int     // its position in the scenario's list, from 0
	Action  string  // one of FaultActions
	Target  string  // the part as the deployment names it ("replica-2", "nginx", "store"); "" for actions on all replicas
	At      string  // the trigger as written
	Trigger Trigger // the trigger, parsed
	For     time.Duration
	Pause   time.Duration // rolling-restart: between replicas
	Count   int           // scale-out, scale-in: replicas to add or remove (at least 1)
	Persist bool          // restart-store: the store keeps its data across the restart
}

// Trigger is when a fault begins: after a time since the users started, or after a count of answered requests.
type Trigger struct {
	After    time.Duration
	Requests int64 // > 0: a request trigger
}

var requestTrigger = regexp.MustCompile(`^(\d+)\s*requests?$`)

// ParseTrigger reads a fault's `at`: a duration such as 2s, or a count such as "1500 requests".
func ParseTrigger(s string) (Trigger, error) {
	s = strings.TrimSpace(s)
	if m := requestTrigger.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && n > 0 {
			return Trigger{Requests: n}, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return Trigger{After: d}, nil
	}
	return Trigger{}, fmt.Errorf("%q is not a time or a request count (allowed: a duration since the users started, such as 2s or 1500ms, or a count such as \"1500 requests\")", s)
}

func (t Trigger) String() string {
	if t.Requests > 0 {
		return strconv.FormatInt(t.Requests, 10) + " requests"
	}
	return t.After.String()
}

// Shard is the plan of the index-th (from 0) of count disjoint shares of the users: every count-th user of the
// population, starting at the index-th, with their addresses, journeys and arrival times unchanged. The union of
// the count shards is exactly the population, and each is computed from the plan (the seed) and (index, count)
// alone. A plan with faults has no shards: one place decides faults, not each shard.
func (p *Plan) Shard(index, count int) (*Plan, error) {
	switch {
	case count < 1 || count > len(p.Users):
		return nil, fmt.Errorf("shard %d/%d: the count is out of range (allowed 1..%d, the number of users)", index, count, len(p.Users))
	case index < 0 || index >= count:
		return nil, fmt.Errorf("shard %d/%d: the index is out of range (allowed 0..%d)", index, count, count-1)
	case len(p.Faults) > 0:
		return nil, fmt.Errorf("shard %d/%d: a scenario with faults cannot be sharded (each shard would inject them)", index, count)
	}
	shard := *p
	shard.Users = nil
	for i := index; i < len(p.Users); i += count {
		shard.Users = append(shard.Users, p.Users[i])
	}
	shard.Meta.Shard = &events.Shard{Index: index, Count: count}
	return &shard, nil
}
