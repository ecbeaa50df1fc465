// Package clients simulates the users: who they are and where they connect from (the population), what they do
// (journeys), how each exchange is made (a browser with its own cookie jar whose every connection opens with a PROXY
// protocol header carrying the user's address), and the event log every exchange is written to. It knows nothing of
// how the replicas and the balancer are started.
package clients

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Config is the `clients:` section of a scenario.
type Config struct {
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
	// Identity is how a user's address reaches the balancer: IdentityProxyProtocol (default), IdentityBind,
	// IdentityForwardedFor or IdentityNone.
	Identity string `yaml:"identity"`
}

// How a user's address reaches the balancer.
const (
	// IdentityProxyProtocol opens each connection with a PROXY v1 header announcing the simulated address.
	IdentityProxyProtocol = "proxy-protocol"
	// IdentityBind connects from a real loopback source address instead: 127.x.y.z, one 127.x.y network per
	// /24 of the population (an address already in 127.0.0.0/8 is used as it is). IPv4 users only.
	IdentityBind = "bind"
	// IdentityForwardedFor sends the address in an X-Forwarded-For header, for a balancer told to trust it (a live
	// target behind an ingress, say); the connection comes from this machine.
	IdentityForwardedFor = "x-forwarded-for"
	// IdentityNone sends no address: the balancer sees this machine's, for every user.
	IdentityNone = "none"
)

// Network says where users connect from.
type Network struct {
	Pools []string `yaml:"pools"` // CIDRs addresses are drawn from (IPv4 or IPv6)
	// PoolWeights weighs the pools, one weight each (default: every pool alike).
	PoolWeights []float64 `yaml:"pool_weights"`
	NAT         int       `yaml:"nat"`         // users per shared address
	Roam        float64   `yaml:"roam"`        // fraction of users whose address changes after login, at a random page
	Offices     int       `yaml:"offices"`     // the users come from this many offices, each a /24 of its own
	FrontProxy  bool      `yaml:"front_proxy"` // every user reaches the balancer with one address
}

// DefaultConfig is what a scenario gets for the keys it leaves out.
func DefaultConfig() Config {
	return Config{
		Users:       300,
		Concurrency: 30,
		Pages:       Fixed(10),
		Relogin:     1,
		Network:     Network{Pools: []string{"198.18.0.0/15"}, NAT: 1},
		WebSocket:   WebSocket{Messages: 3},
		Identity:    IdentityProxyProtocol,
		KeepAlive:   Duration(DefaultKeepAlive),
	}
}

// DefaultKeepAlive is how long a browser keeps an idle connection unless the scenario says otherwise.
const DefaultKeepAlive = 30 * time.Second

// Limits on what a run may ask for.
const (
	MaxUsers   = 1_000_000
	MaxPages   = 10_000
	MaxRelogin = 100
	// MaxConcurrency bounds users at once; what the machine can hold is checked before a run starts.
	MaxConcurrency = 200_000
)

// KeyError is a problem with one key of a scenario, named by its dotted path: the one error type of every key's
// validation, here because this package, which validates its own sections (clients, journey), is the lowest that
// does. The scenario's loader finds the key's line from it.
type KeyError struct {
	Key string // e.g. "clients.network.pools[1]"
	Msg string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Validate returns every problem with c, each a *KeyError.
func (c Config) Validate() []error {
	var errs []error
	if c.Users < 1 || c.Users > MaxUsers {
		errs = append(errs, keyErr("clients.users", "%d is out of range (allowed 1..%d)", c.Users, MaxUsers))
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		errs = append(errs, keyErr("clients.concurrency", "%d is out of range (allowed 1..%d)", c.Concurrency, MaxConcurrency))
	}
	if k := time.Duration(c.KeepAlive); k < 100*time.Millisecond || k > time.Hour {
		errs = append(errs, keyErr("clients.keep_alive", "%s is out of range (allowed 100ms..1h)", k))
	}
	if c.Pages.Min < 0 || c.Pages.Max > MaxPages || c.Pages.Min > c.Pages.Max {
		errs = append(errs, keyErr("clients.pages", "%s is out of range (allowed 0..%d, or a range inside it)", c.Pages, MaxPages))
	}
	errs = append(errs, c.validatePacing()...)
	if c.Relogin < 0 || c.Relogin > MaxRelogin {
		errs = append(errs, keyErr("clients.relogin", "%d is out of range (allowed 0..%d)", c.Relogin, MaxRelogin))
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
	case IdentityProxyProtocol, IdentityForwardedFor, IdentityNone:
	case IdentityBind:
		for i, p := range c.Network.Pools {
			if pfx, err := netip.ParsePrefix(p); err == nil && pfx.Addr().Is6() {
				errs = append(errs, keyErr(fmt.Sprintf("clients.network.pools[%d]", i), "%s: identity bind connects from 127.0.0.0/8 and has no IPv6 addresses to bind (use IPv4 pools, or identity proxy-protocol)", p))
			}
		}
	default:
		errs = append(errs, keyErr("clients.identity", "%q is not allowed (allowed: %s, %s, %s, %s)", c.Identity, IdentityProxyProtocol, IdentityBind, IdentityForwardedFor, IdentityNone))
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
		capacity += float64(hostCount(pfx))
	}
	if n.NAT < 1 || n.NAT > MaxUsers {
		errs = append(errs, keyErr("clients.network.nat", "%d is out of range (allowed 1..%d users per address)", n.NAT, MaxUsers))
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

// ConnectionsAtOnce estimates the connections the users hold at once: a user whose pauses last no longer than
// keep_alive keeps its connection through them; the others hold one only while their exchanges are in flight — a
// tenth of them, and 256 more, is the margin for a system slow enough to have that many waiting.
func (c Config) ConnectionsAtOnce() int {
	n := min(c.Concurrency, c.Users)
	held := float64(n) * c.Think.heldShare(time.Duration(c.KeepAlive))
	inFlight := n/10 + 256
	return min(n, int(math.Ceil(held))+inFlight)
}
