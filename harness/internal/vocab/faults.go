// Package vocab holds the words the scenario file and the plan compiled from it share: fault actions and the parts
// they name, trigger parsing, how users reach the balancer, arrival and think kinds, and what the user's own app's
// templates see. Both sides import it, so that each word is written once.
package vocab

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Fault actions (faults[].action).
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
	// ActionKillBalancer kills one balancer instance of a tier (target balancer-N): its connections are cut, and
	// the front sends the users' next connections to the others.
	ActionKillBalancer = "kill-balancer"
	// ActionSwitchBalancer has the front send new connections to another balancer (faults[].to) while the open
	// ones drain: a cut-over from one ingress controller to another, one instance at a time in a tier.
	ActionSwitchBalancer = "switch-balancer"
)

// FaultActions are the faults a scenario may list.
var FaultActions = []string{ActionKill, ActionStop, ActionStart, ActionRestart, ActionRollingRestart, ActionScaleOut,
	ActionScaleIn, ActionRestartStore, ActionReloadBalancer, ActionKillBalancer, ActionSwitchBalancer}

// The names a fault may give for the parts that are not replicas, and the names of those parts.
const (
	TargetBalancer = "balancer" // the balancer, whatever its kind
	PartStore      = "store"    // the shared session store (Redis)
	PartIdP        = "idp"      // the identity provider
)

// InstanceTarget is how a fault names the balancer instance numbered index (from 1): balancer-2.
func InstanceTarget(index int) string { return TargetBalancer + "-" + strconv.Itoa(index) }

// ReplicaName is the name of the replica numbered index (from 1), as faults target it: replica-2.
func ReplicaName(index int) string { return "replica-" + strconv.Itoa(index) }

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
