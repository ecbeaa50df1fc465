package plan

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// wsPath is the WebSocket endpoint the users connect to: the built-in app's.
const wsPath = "/ws"

// crowd is the population the clients section describes (validated: every pool parses).
func crowd(c scenario.Clients) clients.Crowd {
	n := c.Network
	out := clients.Crowd{Users: c.Users, PoolWeights: n.PoolWeights, NAT: n.NAT, Offices: n.Offices,
		FrontProxy: n.FrontProxy, Roam: n.Roam, Loopback: c.Identity == vocab.IdentityBind,
		CookiesBlocked: c.CookiesBlocked, MinPages: c.Pages.Min, MaxPages: c.Pages.Max, Logout: c.Logout}
	for _, p := range n.Pools {
		out.Pools = append(out.Pools, netip.MustParsePrefix(p))
	}
	if c.Arrival.Kind == vocab.ArrivalFixed || c.Arrival.Kind == vocab.ArrivalPoisson {
		out.Rate, out.Poisson = c.Arrival.Rate, c.Arrival.Kind == vocab.ArrivalPoisson
	}
	return out
}

// journey is the scenario's journey, compiled, with the clients section's counts and pacing: each user opens
// clients.pages pages (a user who drew its own count from a range opens that many) and logs in again up to relogin
// times.
func journey(s *scenario.Scenario) (clients.Journey, error) {
	j := s.Journey.Definition()
	c := s.Clients
	j.Pages, j.Relogin, j.MaxRedirects = c.Pages.Min, c.Relogin, 20
	j.WSPath, j.WSConnections, j.WSMessages = wsPath, c.WebSocket.Connections, c.WebSocket.Messages
	j.Think, j.KeepAlive = pause(c.Think), time.Duration(c.KeepAlive)
	if errs := j.Compile("journey."); len(errs) > 0 {
		return clients.Journey{}, errs[0] // Validate has refused them already
	}
	return j, nil
}

// pause draws one pause of the think kind t from a user's random source; nil for no pauses.
func pause(t scenario.Think) func(*rand.Rand) time.Duration {
	mean, lo, hi := time.Duration(t.Mean), int64(t.Min), int64(t.Max)
	switch t.Kind {
	case vocab.ThinkConstant:
		return func(*rand.Rand) time.Duration { return mean }
	case vocab.ThinkUniform:
		return func(rng *rand.Rand) time.Duration {
			if hi <= lo {
				return time.Duration(lo)
			}
			return time.Duration(lo + rng.Int64N(hi-lo+1))
		}
	case vocab.ThinkExponential:
		return func(rng *rand.Rand) time.Duration { return time.Duration(rng.ExpFloat64() * float64(mean)) }
	}
	return nil
}

// connectionsAtOnce estimates the most connections the users hold at one instant — the worst instant, not the
// mean: users who all arrive at the start each open their first connection in the same moment (and, with a constant
// pause, again after every pause), so they are all there at once. Users arriving at a rate hold theirs through
// pauses no longer than keep_alive, and otherwise only while their exchanges are in flight: a tenth of them and 256
// more is the margin for a system slow enough to have that many waiting, and a second's arrivals (a Poisson
// second's too, three deviations above the mean) the burst of first connections. A user with WebSockets holds one
// beside its page connection.
func connectionsAtOnce(c scenario.Clients) int {
	n := min(c.Concurrency, c.Users)
	perUser := 1
	if c.WebSocket.Connections > 0 {
		perUser = 2
	}
	if c.Arrival.Kind != vocab.ArrivalFixed && c.Arrival.Kind != vocab.ArrivalPoisson {
		return n * perUser
	}
	held := float64(n) * heldShare(c.Think, time.Duration(c.KeepAlive))
	burst := c.Arrival.Rate
	if c.Arrival.Kind == vocab.ArrivalPoisson {
		burst += 3 * math.Sqrt(c.Arrival.Rate)
	}
	inFlight := n/10 + 256
	return min(n, int(math.Ceil(held+burst))+inFlight) * perUser
}

// heldShare is the share of pauses no longer than keep: those a user keeps its connection through.
func heldShare(t scenario.Think, keep time.Duration) float64 {
	at := func(d float64) float64 {
		if d <= float64(keep) {
			return 1
		}
		return 0
	}
	switch t.Kind {
	case vocab.ThinkConstant:
		return at(float64(t.Mean))
	case vocab.ThinkUniform:
		lo, hi := float64(t.Min), float64(t.Max)
		if hi <= lo {
			return at(lo)
		}
		return min(1, max(0, (float64(keep)-lo)/(hi-lo)))
	case vocab.ThinkExponential:
		if t.Mean <= 0 {
			return 1
		}
		return 1 - math.Exp(-float64(keep)/float64(t.Mean))
	}
	return 1 // no pauses: the connection is always in use
}

// RunOptions are the clients' options for the topology: how each user's address reaches the balancer, and, for a
// live target, how its answers name the replica.
func (t Topology) RunOptions() clients.RunOptions {
	o := clients.RunOptions{Bind: t.Bind(), ForwardedFor: t.Identity == vocab.IdentityForwardedFor,
		Anonymous: t.Identity == vocab.IdentityNone}
	if t.Target != nil {
		o.Attribution = t.Target.Attribution
	}
	return o
}
