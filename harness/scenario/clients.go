package scenario

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"
)

// Clients is the `clients:` section: who the simulated users are, where they connect from and how they pace
// themselves.
type Clients struct {
	Users          int       `yaml:"users"`           // simulated users in the run
	Concurrency    int       `yaml:"concurrency"`     // users active at once
	Pages          Range     `yaml:"pages"`           // protected pages each user opens after logging in: 10, or 5..15
	Relogin        int       `yaml:"relogin"`         // times a user logs in again after a failed login or a lost session
	CookiesBlocked float64   `yaml:"cookies_blocked"` // fraction of users whose jar keeps nothing
	Network        Network   `yaml:"network"`
	WebSocket      WebSocket `yaml:"websocket"`
	Arrival        Arrival   `yaml:"arrival"` // when users start: all at once (default), at a fixed rate, or Poisson
	Think          Think     `yaml:"think"`   // the pause before each protected page; none by default
	// KeepAlive is how long a user's browser keeps an idle connection open (default 30s): before a longer pause
	// it lets the connection go, so a user thinking holds none, as behind a server's keep-alive timeout.
	KeepAlive Duration `yaml:"keep_alive"`
	Logout    float64  `yaml:"logout"` // fraction of users who log out (POST /logout) at the end of their journey
	// Identity is how a user's address reaches the balancer: vocab.IdentityProxyProtocol (default), vocab.IdentityBind,
	// vocab.IdentityForwardedFor or vocab.IdentityNone.
	Identity string `yaml:"identity"`
}

// Network is `clients.network`: where users connect from.
type Network struct {
	Pools []string `yaml:"pools"` // CIDRs addresses are drawn from (IPv4 or IPv6)
	// PoolWeights weighs the pools, one weight each (default: every pool alike).
	PoolWeights []float64 `yaml:"pool_weights"`
	NAT         int       `yaml:"nat"`         // users per shared address
	Roam        float64   `yaml:"roam"`        // fraction of users whose address changes after login, at a random page
	Offices     int       `yaml:"offices"`     // the users come from this many offices, each a /24 of its own
	FrontProxy  bool      `yaml:"front_proxy"` // every user reaches the balancer with one address
}

// WebSocket is `clients.websocket`: how often each user connects to the app's WebSocket, whose state (a counter)
// lives in the replica's memory.
type WebSocket struct {
	Connections int `yaml:"connections"` // per user, spread over the pages; 0: no WebSocket
	Messages    int `yaml:"messages"`    // increments sent on each connection
}

// Arrival is `clients.arrival`: when users start their journeys.
type Arrival struct {
	Kind string  `yaml:"kind"` // all (default) | fixed | poisson
	Rate float64 `yaml:"rate"` // users per second, for fixed and poisson
}

// Think is `clients.think`: the pause a user takes before each protected page.
type Think struct {
	Kind string   `yaml:"kind"`
	Mean Duration `yaml:"mean"`
	Min  Duration `yaml:"min"`
	Max  Duration `yaml:"max"`
}

// defaultClients is what a scenario gets for the clients keys it leaves out.
func defaultClients() Clients {
	return Clients{
		Users:       300,
		Concurrency: 30,
		Pages:       fixed(10),
		Relogin:     1,
		Network:     Network{Pools: []string{"198.18.0.0/15"}, NAT: 1},
		WebSocket:   WebSocket{Messages: 3},
		Identity:    vocab.IdentityProxyProtocol,
		KeepAlive:   Duration(30 * time.Second),
	}
}

// Limits on what a run may ask for.
const (
	maxUsers   = 1_000_000
	maxPages   = 10_000
	maxRelogin = 100
	// maxConcurrency bounds users at once; what the machine can hold is checked before a run starts.
	maxConcurrency = 200_000
)

// validate returns every problem with the clients section, each a *KeyError.
func (c Clients) validate() []error {
	var errs []error
	if c.Users < 1 || c.Users > maxUsers {
		errs = append(errs, keyErr("clients.users", "%d is out of range (allowed 1..%d)", c.Users, maxUsers))
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		errs = append(errs, keyErr("clients.concurrency", "%d is out of range (allowed 1..%d)", c.Concurrency, maxConcurrency))
	}
	if k := time.Duration(c.KeepAlive); k < 100*time.Millisecond || k > time.Hour {
		errs = append(errs, keyErr("clients.keep_alive", "%s is out of range (allowed 100ms..1h)", k))
	}
	if c.Pages.Min < 0 || c.Pages.Max > maxPages || c.Pages.Min > c.Pages.Max {
		errs = append(errs, keyErr("clients.pages", "%s is out of range (allowed 0..%d, or a range inside it)", c.Pages, maxPages))
	}
	errs = append(errs, c.validatePacing()...)
	if c.Relogin < 0 || c.Relogin > maxRelogin {
		errs = append(errs, keyErr("clients.relogin", "%d is out of range (allowed 0..%d)", c.Relogin, maxRelogin))
	}
	if c.CookiesBlocked < 0 || c.CookiesBlocked > 1 {
		errs = append(errs, keyErr("clients.cookies_blocked", "%g is out of range (allowed 0.0..1.0)", c.CookiesBlocked))
	}
	if c.WebSocket.Connections < 0 || c.WebSocket.Connections > 1000 {
		errs = append(errs, keyErr("clients.websocket.connections", "%d is out of range (allowed 0..1000 per user)", c.WebSocket.Connections))
	}
	if c.WebSocket.Messages < 1 || c.WebSocket.Messages > 10_000 {
		errs = append(errs, keyErr("clients.websocket.messages", "%d is out of range (allowed 1..10000: a connection that changes nothing cannot show lost state)", c.WebSocket.Messages))
	}
	errs = append(errs, c.Network.validate(c.Users)...)
	switch c.Identity {
	case vocab.IdentityProxyProtocol, vocab.IdentityForwardedFor, vocab.IdentityNone:
	case vocab.IdentityBind:
		for i, p := range c.Network.Pools {
			if pfx, err := netip.ParsePrefix(p); err == nil && pfx.Addr().Is6() {
				errs = append(errs, keyErr(fmt.Sprintf("clients.network.pools[%d]", i), "%s: identity bind connects from 127.0.0.0/8 and has no IPv6 addresses to bind (use IPv4 pools, or identity proxy-protocol)", p))
			}
		}
	default:
		errs = append(errs, keyErr("clients.identity", "%q is not allowed (allowed: %s, %s, %s, %s)", c.Identity, vocab.IdentityProxyProtocol, vocab.IdentityBind, vocab.IdentityForwardedFor, vocab.IdentityNone))
	}
	if c.Network.Roam > 0 && c.Pages.Min < 1 {
		errs = append(errs, keyErr("clients.network.roam", "roaming happens before a protected page: it needs clients.pages of 1 or more"))
	}
	return errs
}

func (n Network) validate(users int) []error {
	var errs []error
	if len(n.Pools) == 0 {
		errs = append(errs, keyErr("clients.network.pools", "at least one CIDR is required, e.g. [\"198.18.0.0/15\"]"))
	}
	var capacity float64
	var seen []netip.Prefix
	for i, p := range n.Pools {
		key := fmt.Sprintf("clients.network.pools[%d]", i)
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			errs = append(errs, keyErr(key, "%q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/48", p))
			continue
		}
		pfx = pfx.Masked()
		// Overlapping pools would count their shared addresses twice and promise users addresses that do not exist.
		for j, other := range seen {
			if other.Overlaps(pfx) {
				errs = append(errs, keyErr(key, "%s overlaps pools[%d] %s (pools must be disjoint)", pfx, j, other))
			}
		}
		seen = append(seen, pfx)
		capacity += hostCount(pfx)
	}
	if n.NAT < 1 || n.NAT > maxUsers {
		errs = append(errs, keyErr("clients.network.nat", "%d is out of range (allowed 1..%d users per address)", n.NAT, maxUsers))
	} else if need := (users + n.NAT - 1) / n.NAT; len(errs) == 0 && !n.FrontProxy && capacity < float64(need) {
		errs = append(errs, keyErr("clients.network.pools", "hold %.0f usable addresses, fewer than the %d distinct addresses %d users with nat %d need", capacity, need, users, n.NAT))
	}
	if len(n.PoolWeights) > 0 && len(n.PoolWeights) != len(n.Pools) {
		errs = append(errs, keyErr("clients.network.pool_weights", "%d weights for %d pools (give one per pool, or none)", len(n.PoolWeights), len(n.Pools)))
	}
	for i, w := range n.PoolWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			errs = append(errs, keyErr(fmt.Sprintf("clients.network.pool_weights[%d]", i), "%g is out of range (a weight is a positive number)", w))
		}
	}
	if n.Roam < 0 || n.Roam > 1 {
		errs = append(errs, keyErr("clients.network.roam", "%g is out of range (allowed 0.0..1.0)", n.Roam))
	} else if n.Roam > 0 && n.FrontProxy {
		errs = append(errs, keyErr("clients.network.roam", "a user behind a front proxy keeps the proxy's address: roam needs front_proxy: false"))
	}
	if n.Offices < 0 || n.Offices > users {
		errs = append(errs, keyErr("clients.network.offices", "%d is out of range (allowed 0..%d, one user per office at least)", n.Offices, users))
	} else if n.Offices > 0 {
		if n.FrontProxy {
			errs = append(errs, keyErr("clients.network.offices", "offices and front_proxy exclude each other: behind a front proxy everyone has one address"))
		}
		if perOffice := (users + n.Offices - 1) / n.Offices; perOffice > 254*n.NAT {
			errs = append(errs, keyErr("clients.network.offices", "%d offices for %d users is %d users per /24, more than its 254 addresses hold with nat %d", n.Offices, users, perOffice, n.NAT))
		}
	}
	return errs
}

// hostCount is how many distinct addresses the population can draw from p: an IPv4 network's first and last
// address (network and broadcast) are left out when the prefix has room for hosts. It is capped to keep the
// arithmetic finite.
func hostCount(p netip.Prefix) float64 {
	hostBits := p.Addr().BitLen() - p.Bits()
	n := math.Pow(2, float64(min(hostBits, 62)))
	if p.Addr().Is4() && hostBits >= 2 {
		n -= 2
	}
	return n
}

func (c Clients) validatePacing() []error {
	var errs []error
	switch c.Arrival.Kind {
	case "", vocab.ArrivalAll:
		if c.Arrival.Rate != 0 {
			errs = append(errs, keyErr("clients.arrival.rate", "applies to arrival kinds fixed and poisson only"))
		}
	case vocab.ArrivalFixed, vocab.ArrivalPoisson:
		if !(c.Arrival.Rate > 0) || math.IsInf(c.Arrival.Rate, 0) || c.Arrival.Rate > 1e6 {
			errs = append(errs, keyErr("clients.arrival.rate", "%g is out of range (users per second, above 0 and at most 1000000)", c.Arrival.Rate))
		}
	default:
		errs = append(errs, keyErr("clients.arrival.kind", "%q is not allowed (allowed: all, fixed, poisson)", c.Arrival.Kind))
	}
	t := c.Think
	switch t.Kind {
	case "", vocab.ThinkNone:
		if t.Mean != 0 || t.Min != 0 || t.Max != 0 {
			errs = append(errs, keyErr("clients.think", "mean, min and max need a kind (constant, uniform, exponential)"))
		}
	case vocab.ThinkConstant, vocab.ThinkExponential:
		if t.Min != 0 || t.Max != 0 {
			errs = append(errs, keyErr("clients.think", "%s takes mean only (min and max are for uniform)", t.Kind))
		}
	case vocab.ThinkUniform:
		if t.Mean != 0 {
			errs = append(errs, keyErr("clients.think.mean", "uniform takes min and max"))
		}
		if t.Max < t.Min {
			errs = append(errs, keyErr("clients.think.max", "%s is less than min %s", t.Max, t.Min))
		}
	default:
		errs = append(errs, keyErr("clients.think.kind", "%q is not allowed (allowed: none, constant, uniform, exponential)", t.Kind))
	}
	if c.Logout < 0 || c.Logout > 1 {
		errs = append(errs, keyErr("clients.logout", "%g is out of range (allowed 0.0..1.0: the fraction of users who log out at the end)", c.Logout))
	}
	return errs
}
