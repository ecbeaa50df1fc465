package reports

import (
	"fmt"

	"github.com/sessionlab/sessionlab/reports/internal/timeline"
)

// The rules of a balancer tier (Report.Tier): several instances behind an L4 front, each with a memory of its own.

// tierAffinity: the instances each keep their own affinity (a stick table, a cookie secret), and most sessions were
// lost on another instance than the one that answered the login: the instance a user reached next had never seen
// the user and picked a replica afresh.
func (d *diagnosis) tierAffinity() {
	r, tr := d.r, d.r.Tier
	if tr == nil || r.App.Sessions == "redis" || r.Totals.SessionLosses == 0 {
		return // with a shared store a replica change loses nothing; the losses have another cause
	}
	attributed := tr.LossesElsewhere + tr.LossesSameInstance
	if attributed == 0 || 2*tr.LossesElsewhere < attributed {
		return
	}
	how, fixes := d.instanceAffinity()
	if how == "" {
		return
	}
	d.add("tier-affinity", fmt.Sprintf(
		"%d of the %d session losses with an instance on both sides came from another balancer instance than the "+
			"one that answered the user's login (%d from the same one, %d unattributed), and %d users were answered "+
			"by more than one instance, as %s: %s, on which the session did not live.",
		tr.LossesElsewhere, attributed, tr.LossesSameInstance, tr.LossesUnattributed, tr.UsersOnSeveral,
		frontPhrase(tr.Front), how), fixes...)
}

// instanceAffinity names the affinity each instance keeps to itself, and its fixes; "" when the strategy keeps
// none an instance could miss (a hash, a cookie every instance reads).
func (d *diagnosis) instanceAffinity() (string, []string) {
	b, n := d.r.Balancer, len(d.r.Tier.Instances)
	switch {
	case (b.Strategy == "client-ip-sticky" || b.Strategy == "learn-cookie") && !b.Peers:
		what := "each client address"
		if b.Strategy == "learn-cookie" {
			what = "each session cookie it learned"
		}
		return fmt.Sprintf("%s keeps the replica of %s in a stick table in each instance's own memory, and the %d "+
				"instances do not share theirs, so an instance that had not seen the user sent it to a replica of its "+
				"own choosing", b.Strategy, what, n),
			[]string{FixPeers, FixCookieAffinity, FixSharedStore}
	case b.Strategy == "cookie-insert" && b.CookieSecret == "per-instance":
		return fmt.Sprintf("each of the %d instances signs its affinity cookie with a secret of its own "+
				"(cookie_secret: per-instance), so an instance that had not set the user's cookie could not read it "+
				"and sent the user to a replica of its own choosing", n),
			[]string{FixSameBalancerSecret, FixSharedStore}
	}
	return "", nil
}

// frontPhrase says how the front moves a user between instances.
func frontPhrase(front string) string {
	switch front {
	case "connection":
		return "the front sends each new connection to the next instance (front: connection)"
	case "source":
		return "the front places a user by client address, and an address that changes moves the user (front: source)"
	}
	return "the front spreads connections over the instances"
}

// tierStagger: during a fault that changed the replicas, users went back and forth between two of them because the
// instances took the change up at different times and, meanwhile, disagreed on where a user belongs.
func (d *diagnosis) tierStagger() {
	r := d.r
	if r.Tier == nil || !d.hasAffinity() {
		return // without affinity every user goes back and forth anyway
	}
	for _, f := range r.Faults {
		if f.FlippedUsers == nil || *f.FlippedUsers == 0 || f.StartMs == nil || f.EndMs == nil || f.Action == "switch-balancer" {
			continue // a switch's users go from one balancer to another: balancerSwitch says what that did
		}
		when := "each on its own"
		if ms := r.Balancer.StaggerMs; ms > 0 {
			when = fmt.Sprintf("each %d ms after the one before (balancer.stagger)", ms)
		}
		fixes := []string{FixPersistentCookie, FixSharedStore}
		if r.App.Sessions == "redis" {
			fixes = fixes[:1] // the sessions followed; what moved is the replica, and the cookie pins it
		}
		d.add("tier-change-staggered", fmt.Sprintf(
			"%s (fault %d) sent %d users back and forth between replicas while it lasted (%d–%d ms): the %d balancer "+
				"instances saw the change at different times, %s, and until the last one had, each placed users by "+
				"its own view of the replicas, so a user went to one replica through one instance and back to the "+
				"other through the next.",
			timeline.Label(f.Action, f.Target), f.Index+1, *f.FlippedUsers, *f.StartMs, *f.EndMs, len(r.Tier.Instances), when),
			fixes...)
	}
}
