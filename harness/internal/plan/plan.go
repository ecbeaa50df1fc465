// Package plan is what a valid scenario compiles to, once, before anything starts: the topology a runtime starts
// (replicas numbered from 1, each with its name, cookie and secret; the app; the balancer with its settings and
// template), the faults the nemesis runs (triggers parsed, targets resolved), the users with their journey, and what
// the report and the event log's header say of the run. Compile builds it from a scenario — validated, its
// expectations checked against the report's figures, its files read — and turns the scenario's sections into what
// package clients runs; the runtimes, the nemesis and Run read it.
package plan

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

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

// The names of the parts that are not replicas, as the runtimes and the nemesis call them: the scenario's.
const (
	PartStore = vocab.PartStore // the shared session store (Redis)
	PartIdP   = vocab.PartIdP   // the identity provider
)

// Fault is one nemesis action (Jepsen's nemesis): what happens to which part, and when.
type Fault struct {
	Index   int           // its position in the scenario's list, from 0
	Action  string        // one of vocab.FaultActions
	Target  string        // the part as the deployment names it ("replica-2", "nginx", "store"); "" for actions on all replicas
	At      string        // the trigger as written
	Trigger vocab.Trigger // the trigger, parsed
	For     time.Duration
	Pause   time.Duration // rolling-restart: between replicas
	Count   int           // scale-out, scale-in: replicas to add or remove (at least 1)
	Persist bool          // restart-store: the store keeps its data across the restart
	Set     int           // switch-balancer: the balancer set it moves the users to (Topology.Set)
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
