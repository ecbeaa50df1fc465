package clients

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// User is one simulated person: an account, a network address and a browser habit.
type User struct {
	ID           int        // 1-based; the account is "user<ID>"
	Addr         netip.Addr // the address the balancer sees (sent in the PROXY protocol header)
	BlockCookies bool       // the browser keeps no cookie
}

// Name is the account name the user logs in with.
func (u User) Name() string { return "user" + strconv.Itoa(u.ID) }

// Population draws the users of a run. The same seed and Config give the same users with the same addresses.
func Population(seed uint64, cfg Config) ([]User, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("population: %w", errs[0])
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	pools := make([]netip.Prefix, len(cfg.Network.Pools))
	for i, p := range cfg.Network.Pools {
		pools[i] = netip.MustParsePrefix(p).Masked()
	}
	shared := 1 + (cfg.Users-1)/cfg.Network.NAT
	if cfg.Network.FrontProxy {
		shared = 1
	}
	addrs, err := drawDistinct(rng, pools, shared)
	if err != nil {
		return nil, err
	}
	blocked := make(map[int]bool)
	nBlocked := int(math.Round(cfg.CookiesBlocked * float64(cfg.Users)))
	for _, i := range rng.Perm(cfg.Users)[:nBlocked] {
		blocked[i] = true
	}
	users := make([]User, cfg.Users)
	for i := range users {
		users[i] = User{ID: i + 1, Addr: addrs[(i/cfg.Network.NAT)%len(addrs)], BlockCookies: blocked[i]}
	}
	return users, nil
}

// drawDistinct picks n different addresses: a pool uniformly, then a host in it uniformly.
func drawDistinct(rng *rand.Rand, pools []netip.Prefix, n int) ([]netip.Addr, error) {
	seen := make(map[netip.Addr]bool, n)
	out := make([]netip.Addr, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 50*n+1000 {
			return nil, fmt.Errorf("population: could not draw %d distinct addresses from %v", n, pools)
		}
		a := randomHost(rng, pools[rng.IntN(len(pools))])
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// randomHost returns an address inside p, avoiding an IPv4 network's first and last address (network and
// broadcast) when the prefix has room for hosts.
func randomHost(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for {
		for i := range b {
			free := min(max(hostBits-(len(b)-1-i)*8, 0), 8) // host bits in byte i
			if free == 0 {
				continue
			}
			mask := byte(1<<free - 1)
			b[i] = b[i]&^mask | byte(rng.UintN(256))&mask
		}
		a, _ := netip.AddrFromSlice(b)
		if !a.Is4() || hostBits < 2 || (!allBits(b, hostBits, 0) && !allBits(b, hostBits, 1)) {
			return a
		}
	}
}

// allBits reports whether the last hostBits bits of b are all set to bit.
func allBits(b []byte, hostBits, bit int) bool {
	for i := len(b)*8 - hostBits; i < len(b)*8; i++ {
		if int(b[i/8]>>(7-i%8)&1) != bit {
			return false
		}
	}
	return true
}

// hostCount is how many distinct addresses randomHost can return for p, capped to keep the arithmetic finite.
func hostCount(p netip.Prefix) float64 {
	hostBits := p.Addr().BitLen() - p.Bits()
	n := math.Pow(2, float64(min(hostBits, 62)))
	if p.Addr().Is4() && hostBits >= 2 {
		n -= 2
	}
	return n
}
