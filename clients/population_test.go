package clients_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients"
)

// config is a crowd of users users drawn from pools, each with an address of its own, opening 10 pages.
func config(users int, pools ...string) clients.Crowd {
	c := clients.Crowd{Users: users, NAT: 1, MinPages: 10, MaxPages: 10}
	for _, p := range pools {
		c.Pools = append(c.Pools, netip.MustParsePrefix(p))
	}
	return c
}

func population(t *testing.T, seed uint64, cfg clients.Crowd) []clients.User {
	t.Helper()
	users, err := clients.Population(seed, cfg)
	require.NoError(t, err)
	require.Len(t, users, cfg.Users)
	for i, u := range users {
		require.Equal(t, i+1, u.ID, "users are numbered from 1 in order")
	}
	return users
}

func addrs(users []clients.User) []netip.Addr {
	out := make([]netip.Addr, len(users))
	for i, u := range users {
		out[i] = u.Addr
	}
	return out
}

// broadcast is the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

func TestPopulationDeterministic(t *testing.T) {
	cfg := config(200, "203.0.113.0/24", "198.51.100.0/22", "2001:db8::/64")
	cfg.CookiesBlocked = 0.3

	a, b := population(t, 7, cfg), population(t, 7, cfg)
	assert.Equal(t, a, b, "same seed and config must give the same users")

	c := population(t, 8, cfg)
	assert.NotEqual(t, addrs(a), addrs(c), "another seed must draw other addresses")
	assert.Equal(t, 17, a[16].ID)
}

func TestPopulationAddressesInPools(t *testing.T) {
	tests := []struct {
		name  string
		users int
		pools []string
	}{
		{"two IPv4 pools", 500, []string{"203.0.113.0/24", "198.51.100.0/22"}},
		{"nearly full /24", 250, []string{"192.0.2.0/24"}},
		{"IPv6 pool", 300, []string{"2001:db8::/64"}},
		{"mixed families", 300, []string{"192.0.2.0/24", "2001:db8:1::/48"}},
		{"unmasked CIDR", 100, []string{"198.51.100.77/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := population(t, 1, config(tt.users, tt.pools...))
			seen := make(map[netip.Addr]bool)
			for _, u := range users {
				require.True(t, u.Addr.IsValid(), "user %d has no address", u.ID)
				assert.False(t, seen[u.Addr], "nat 1: %s given twice", u.Addr)
				seen[u.Addr] = true
				in := false
				for _, p := range tt.pools {
					pfx := netip.MustParsePrefix(p).Masked()
					in = in || pfx.Contains(u.Addr)
					if pfx.Contains(u.Addr) && u.Addr.Is4() {
						assert.NotEqual(t, pfx.Addr(), u.Addr, "%s is %s's network address", u.Addr, pfx)
						assert.NotEqual(t, broadcast(pfx), u.Addr, "%s is %s's broadcast address", u.Addr, pfx)
					}
				}
				assert.True(t, in, "%s lies in none of %v", u.Addr, tt.pools)
			}
		})
	}
}

// A pool with exactly as many hosts as users must yield every host and neither the network nor the broadcast address.
func TestPopulationFillsSmallPool(t *testing.T) {
	tests := []struct {
		pool string
		want []string
	}{
		{"192.0.2.8/29", []string{"192.0.2.9", "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"}},
		{"192.0.2.4/30", []string{"192.0.2.5", "192.0.2.6"}},
		{"192.0.2.4/31", []string{"192.0.2.4", "192.0.2.5"}},
		{"2001:db8::/126", []string{"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"}},
	}
	for _, tt := range tests {
		t.Run(tt.pool, func(t *testing.T) {
			var want []netip.Addr
			for _, s := range tt.want {
				want = append(want, netip.MustParseAddr(s))
			}
			users := population(t, 3, config(len(want), tt.pool))
			assert.ElementsMatch(t, want, addrs(users))
		})
	}
}

func TestPopulationSharedAddresses(t *testing.T) {
	t.Run("nat 3", func(t *testing.T) {
		cfg := config(10, "203.0.113.0/24")
		cfg.NAT = 3
		users := population(t, 1, cfg)
		groups := make(map[netip.Addr][]int)
		for _, u := range users {
			groups[u.Addr] = append(groups[u.Addr], u.ID)
		}
		require.Len(t, groups, 4, "10 users, 3 per address")
		assert.Equal(t, []int{1, 2, 3}, groups[users[0].Addr])
		assert.Equal(t, []int{4, 5, 6}, groups[users[3].Addr])
		assert.Equal(t, []int{7, 8, 9}, groups[users[6].Addr])
		assert.Equal(t, []int{10}, groups[users[9].Addr])
	})
	t.Run("front proxy", func(t *testing.T) {
		cfg := config(50, "203.0.113.0/24")
		cfg.FrontProxy = true
		users := population(t, 1, cfg)
		for _, u := range users {
			assert.Equal(t, users[0].Addr, u.Addr, "user %d", u.ID)
		}
		assert.True(t, netip.MustParsePrefix("203.0.113.0/24").Contains(users[0].Addr))
	})
}

func TestPopulationBlockedCookies(t *testing.T) {
	tests := []struct {
		users   int
		blocked float64
		want    int
	}{
		{100, 0.25, 25},
		{100, 0, 0},
		{100, 1, 100},
		{10, 0.33, 3},
	}
	for _, tt := range tests {
		cfg := config(tt.users, "198.18.0.0/15")
		cfg.CookiesBlocked = tt.blocked
		n := 0
		for _, u := range population(t, 5, cfg) {
			if u.BlockCookies {
				n++
			}
		}
		assert.Equal(t, tt.want, n, "cookies_blocked %g of %d users", tt.blocked, tt.users)
	}
}

// Population draws nothing from what it cannot: the scenario's validation refuses it first, with its key.
func TestPopulationRefuses(t *testing.T) {
	for name, c := range map[string]clients.Crowd{
		"no pools":          {Users: 3},
		"a weight per pool": {Users: 3, Pools: config(3, "203.0.113.0/24").Pools, PoolWeights: []float64{1, 2}},
		"a zero weight":     {Users: 3, Pools: config(3, "203.0.113.0/24").Pools, PoolWeights: []float64{0}},
		"roam above 1":      {Users: 3, Pools: config(3, "203.0.113.0/24").Pools, Roam: 1.5},
		"more offices":      {Users: 3, Pools: config(3, "203.0.113.0/24").Pools, Offices: 4},
		"pool too small":    {Users: 10, Pools: config(10, "203.0.113.0/30").Pools},
	} {
		_, err := clients.Population(1, c)
		assert.ErrorContains(t, err, "population: ", name)
	}
}

func TestOffices(t *testing.T) {
	cfg := config(300, "198.18.0.0/15", "2001:db8::/48")
	cfg.Offices = 4
	users := population(t, 3, cfg)
	nets := map[int]netip.Prefix{}
	seen := map[netip.Addr]bool{}
	for _, u := range users {
		require.True(t, u.Addr.Is4(), "offices are IPv4 /24s")
		p, _ := u.Addr.Prefix(24)
		require.GreaterOrEqual(t, u.Office, 1)
		if prev, ok := nets[u.Office]; ok {
			assert.Equal(t, prev, p, "user %d: an office is one /24", u.ID)
		}
		nets[u.Office] = p
		assert.False(t, seen[u.Addr], "user %d: addresses in an office are distinct", u.ID)
		seen[u.Addr] = true
	}
	require.Len(t, nets, 4)
	distinct := map[netip.Prefix]bool{}
	for _, p := range nets {
		distinct[p] = true
	}
	assert.Len(t, distinct, 4, "each office has its own /24")
	assert.Equal(t, 1, users[0].Office)
	assert.Equal(t, 4, users[299].Office)
}

func TestRoaming(t *testing.T) {
	cfg := config(1000, "198.18.0.0/15")
	cfg.Roam = 0.3
	cfg.MinPages, cfg.MaxPages = 8, 8
	users := population(t, 5, cfg)
	home := map[netip.Addr]bool{}
	for _, u := range users {
		home[u.Addr] = true
	}
	roamers := 0
	for _, u := range users {
		if !u.RoamAddr.IsValid() {
			assert.Zero(t, u.RoamAt)
			continue
		}
		roamers++
		assert.False(t, home[u.RoamAddr], "user %d moves to an address nobody had", u.ID)
		assert.True(t, u.RoamAt >= 1 && u.RoamAt <= 8, "user %d moves before page %d", u.ID, u.RoamAt)
	}
	assert.Equal(t, 300, roamers)
	assert.Equal(t, users, population(t, 5, cfg), "the roamers, where they go and when derive from the seed")
}

func TestPoolWeights(t *testing.T) {
	cfg := config(4000, "198.18.0.0/15", "2001:db8::/48")
	cfg.PoolWeights = []float64{3, 1}
	v4 := 0
	for _, u := range population(t, 9, cfg) {
		if u.Addr.Is4() {
			v4++
		}
	}
	assert.InDelta(t, 0.75, float64(v4)/4000, 0.03, "three in four users from the first pool")
}
