package clients

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sessionlab/sessionlab/clients/internal/draw"
)

// User is one simulated person: an account, a network address and a browser habit.
type User struct {
	ID           int        // 1-based; the account is "user<ID>"
	Addr         netip.Addr // the address the balancer sees (sent in the PROXY protocol header)
	BlockCookies bool       // the browser keeps no cookie
	Office       int        // 1-based office whose /24 the address is in; 0 for none
	// RoamAddr is where a roaming user moves to (a phone leaving Wi-Fi) before opening page RoamAt; a zero
	// RoamAddr means the user keeps its address.
	RoamAddr netip.Addr
	RoamAt   int
	// Pages is how many protected pages this user opens, drawn when the scenario gives a range; 0: the journey's.
	Pages int
	// Logout: the user logs out at the end of the journey.
	Logout bool
	// Start is when the user arrives, from the run's start (arrival kinds fixed and poisson).
	Start time.Duration
	// Seed seeds the user's own draws during the journey (think times).
	Seed uint64
}

// pages is how many protected pages the user opens on journey j.
func (u User) pages(j *Journey) int {
	if u.Pages > 0 {
		return u.Pages
	}
	return j.Pages
}

// name is the account name of the fake app's users, the WebSocket's ?client=.
func (u User) name() string { return "user" + strconv.Itoa(u.ID) }

// Crowd describes the users Population draws: how many, where they connect from, and their habits.
type Crowd struct {
	Users int
	// Pools are the networks addresses are drawn from (IPv4 or IPv6): uniformly, or in proportion to PoolWeights,
	// one weight per pool.
	Pools       []netip.Prefix
	PoolWeights []float64
	NAT         int     // users per shared address; 0: 1, everyone its own
	Offices     int     // the users come from this many offices, each a /24 of its own; 0: none
	FrontProxy  bool    // every user has the one same address, as behind a CDN or a proxy
	Roam        float64 // fraction of users whose address changes after login, before a random page
	// Loopback maps every address into 127.0.0.0/8, one 127.x.y network per /24, for users who connect from their
	// address (RunOptions.Bind); an address already in 127.0.0.0/8 is kept. IPv4 only.
	Loopback       bool
	CookiesBlocked float64 // fraction of users whose browser keeps no cookie
	// MinPages and MaxPages bound the protected pages a user opens: with MaxPages above MinPages each user draws its
	// own count (User.Pages), else the journey's applies. A roaming user without a count of its own moves before one
	// of the first MinPages pages.
	MinPages, MaxPages int
	Logout             float64 // fraction of users who log out at the end of their journey
	// Rate, when above 0, is how many users arrive per second: at even gaps, or at exponential ones with Poisson.
	// 0: every user is ready at the start.
	Rate    float64
	Poisson bool
}

// check refuses what Population cannot draw from.
func (c Crowd) check() error {
	switch {
	case c.Users < 0:
		return fmt.Errorf("population: %d users", c.Users)
	case len(c.Pools) == 0:
		return fmt.Errorf("population: no pool to draw addresses from")
	case len(c.PoolWeights) > 0 && len(c.PoolWeights) != len(c.Pools):
		return fmt.Errorf("population: %d weights for %d pools", len(c.PoolWeights), len(c.Pools))
	case c.NAT < 0 || c.Offices < 0 || c.Offices > c.Users:
		return fmt.Errorf("population: nat %d, offices %d for %d users", c.NAT, c.Offices, c.Users)
	}
	for _, f := range []float64{c.Roam, c.CookiesBlocked, c.Logout} {
		if !(f >= 0 && f <= 1) {
			return fmt.Errorf("population: a fraction of users (%g) outside 0..1", f)
		}
	}
	for _, w := range c.PoolWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("population: pool weight %g is not a positive number", w)
		}
	}
	return nil
}

// Population draws the users of a run. The same seed and Crowd give the same users with the same addresses.
func Population(seed uint64, c Crowd) ([]User, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.NAT = max(c.NAT, 1)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	pools := make([]netip.Prefix, len(c.Pools))
	for i, p := range c.Pools {
		pools[i] = p.Masked()
	}
	pick := draw.PoolPicker(rng, pools, c.PoolWeights)
	users := make([]User, c.Users)
	switch {
	case c.Offices > 0:
		if err := drawOffices(rng, pools, pick, c, users); err != nil {
			return nil, err
		}
	default:
		shared := 1 + (c.Users-1)/c.NAT
		if c.FrontProxy {
			shared = 1
		}
		addrs, err := draw.Distinct(rng, pools, pick, shared, nil)
		if err != nil {
			return nil, err
		}
		for i := range users {
			users[i].Addr = addrs[(i/c.NAT)%len(addrs)]
		}
	}
	blocked := make(map[int]bool)
	nBlocked := int(math.Round(c.CookiesBlocked * float64(c.Users)))
	for _, i := range rng.Perm(c.Users)[:nBlocked] {
		blocked[i] = true
	}
	for i := range users {
		users[i].ID, users[i].BlockCookies = i+1, blocked[i]
	}
	// Drawn after everything above, so that a scenario without ranges, logouts or arrivals keeps its users.
	for i := range users {
		if c.MaxPages > c.MinPages {
			users[i].Pages = c.MinPages + rng.IntN(c.MaxPages-c.MinPages+1)
		}
		users[i].Seed = rng.Uint64()
	}
	nLogout := int(math.Round(c.Logout * float64(c.Users)))
	for _, i := range rng.Perm(c.Users)[:nLogout] {
		users[i].Logout = true
	}
	for i, at := range draw.Arrivals(rng, c.Rate, c.Poisson, c.Users) {
		users[i].Start = at
	}
	if err := drawRoaming(rng, pools, pick, c, users); err != nil {
		return nil, err
	}
	if c.Loopback {
		if err := toLoopback(users); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// toLoopback replaces every address with the loopback address the user will really connect from: the n-th /24
// of the population (in the order users meet them) becomes 127.(n/256).(n%256), the last octet stays. Users of one
// /24 stay together, so a /24-keyed hash groups them alike; an address already in 127.0.0.0/8 stays as it is.
func toLoopback(users []User) error {
	nets := map[netip.Prefix]int{}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	mapAddr := func(a netip.Addr) (netip.Addr, error) {
		if !a.IsValid() || loopback.Contains(a) {
			return a, nil
		}
		if !a.Is4() {
			return a, fmt.Errorf("population: identity bind has no loopback address for IPv6 %s", a)
		}
		p, _ := a.Prefix(24)
		n, ok := nets[p]
		if !ok {
			n = len(nets)
			if n >= 1<<16 {
				return a, fmt.Errorf("population: identity bind maps each /24 to one in 127.0.0.0/8, which holds 65536; the population has more")
			}
			nets[p] = n
		}
		b := a.As4()
		return netip.AddrFrom4([4]byte{127, byte(n >> 8), byte(n), b[3]}), nil
	}
	for i := range users {
		var err error
		if users[i].Addr, err = mapAddr(users[i].Addr); err != nil {
			return err
		}
		if users[i].RoamAddr, err = mapAddr(users[i].RoamAddr); err != nil {
			return err
		}
	}
	return nil
}

// drawOffices gives each office a /24 of its own from the IPv4 pools, and its users distinct addresses in it (or,
// with nat, addresses shared by nat users each). Offices are contiguous blocks of users.
func drawOffices(rng *rand.Rand, pools []netip.Prefix, pick func() int, n Crowd, users []User) error {
	var v4 []netip.Prefix
	for _, p := range pools {
		if p.Addr().Is4() && p.Bits() <= 24 {
			v4 = append(v4, p)
		}
	}
	if len(v4) == 0 {
		return fmt.Errorf("population: offices need an IPv4 pool of a /24 or larger")
	}
	pickV4 := func() int {
		for {
			if p := pools[pick()]; p.Addr().Is4() && p.Bits() <= 24 {
				return slices.Index(v4, p)
			}
		}
	}
	nets, err := draw.Distinct(rng, v4, pickV4, n.Offices, func(a netip.Addr) netip.Addr {
		p, _ := a.Prefix(24)
		return p.Addr()
	})
	if err != nil {
		return err
	}
	for o, net := range nets {
		from, to := o*len(users)/n.Offices, (o+1)*len(users)/n.Offices
		office := netip.PrefixFrom(net, 24)
		hosts, err := draw.Distinct(rng, []netip.Prefix{office}, func() int { return 0 }, 1+(to-from-1)/n.NAT, nil)
		if err != nil {
			return err
		}
		for i := from; i < to; i++ {
			users[i].Addr, users[i].Office = hosts[(i-from)/n.NAT], o+1
		}
	}
	return nil
}

// drawRoaming picks the roaming users, the address each moves to (one nobody else has) and the page before which
// it moves: a random point after login.
func drawRoaming(rng *rand.Rand, pools []netip.Prefix, pick func() int, cfg Crowd, users []User) error {
	nRoam := int(math.Round(cfg.Roam * float64(cfg.Users)))
	if nRoam == 0 {
		return nil
	}
	taken := make(map[netip.Addr]bool, len(users))
	for _, u := range users {
		taken[u.Addr] = true
	}
	roamers := rng.Perm(cfg.Users)[:nRoam]
	slices.Sort(roamers)
	fresh, err := draw.Distinct(rng, pools, pick, nRoam, nil, taken)
	if err != nil {
		return err
	}
	for k, i := range roamers {
		pages := cfg.MinPages
		if users[i].Pages > 0 {
			pages = users[i].Pages
		}
		users[i].RoamAddr, users[i].RoamAt = fresh[k], 1+rng.IntN(max(pages, 1))
	}
	return nil
}
