package scenario

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in   string
		want Range
		ok   bool
	}{
		{"10", fixed(10), true},
		{"5..15", Range{Min: 5, Max: 15}, true},
		{" 0 .. 3 ", Range{Min: 0, Max: 3}, true},
		{"9..3", Range{}, false},
		{"ten", Range{}, false},
		{"1..", Range{}, false},
	}
	for _, tt := range tests {
		got, err := parseRange(tt.in)
		if !tt.ok {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestClientsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Clients)
		key    string
	}{
		{"users 0", func(c *Clients) { c.Users = 0 }, "clients.users"},
		{"users too many", func(c *Clients) {
			c.Users, c.Network.Pools = maxUsers+1, []string{"10.0.0.0/8"}
		}, "clients.users"},
		{"concurrency 0", func(c *Clients) { c.Concurrency = 0 }, "clients.concurrency"},
		{"pages -1", func(c *Clients) { c.Pages = Range{Min: -1, Max: -1} }, "clients.pages"},
		{"relogin 101", func(c *Clients) { c.Relogin = 101 }, "clients.relogin"},
		{"cookies_blocked 1.5", func(c *Clients) { c.CookiesBlocked = 1.5 }, "clients.cookies_blocked"},
		{"cookies_blocked negative", func(c *Clients) { c.CookiesBlocked = -0.1 }, "clients.cookies_blocked"},
		{"pools empty", func(c *Clients) { c.Network.Pools = nil }, "clients.network.pools"},
		{"pool not a CIDR", func(c *Clients) { c.Network.Pools = []string{"nope"} }, "clients.network.pools[0]"},
		{"second pool bare address", func(c *Clients) { c.Network.Pools = []string{"198.18.0.0/15", "10.0.0.1"} }, "clients.network.pools[1]"},
		{"nat 0", func(c *Clients) { c.Network.NAT = 0 }, "clients.network.nat"},
		{"roam above 1", func(c *Clients) { c.Network.Roam = 1.5 }, "clients.network.roam"},
		{"roam behind a front proxy", func(c *Clients) { c.Network.Roam, c.Network.FrontProxy = 0.3, true }, "clients.network.roam"},
		{"roam without pages", func(c *Clients) { c.Network.Roam, c.Pages = 0.3, fixed(0) }, "clients.network.roam"},
		{"more offices than users", func(c *Clients) { c.Users, c.Network.Offices = 5, 6 }, "clients.network.offices"},
		{"offices fuller than a /24", func(c *Clients) { c.Users, c.Network.Offices = 1000, 2 }, "clients.network.offices"},
		{"offices behind a front proxy", func(c *Clients) { c.Network.Offices, c.Network.FrontProxy = 2, true }, "clients.network.offices"},
		{"a weight per pool", func(c *Clients) { c.Network.PoolWeights = []float64{1, 2} }, "clients.network.pool_weights"},
		{"weights are positive", func(c *Clients) { c.Network.PoolWeights = []float64{0} }, "clients.network.pool_weights[0]"},
		{"pool too small", func(c *Clients) {
			c.Users, c.Network.NAT, c.Network.Pools = 10, 1, []string{"203.0.113.0/30"}
		}, "clients.network.pools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultClients()
			tt.modify(&cfg)
			errs := cfg.validate()
			require.Len(t, errs, 1, "%v", errs)
			var fe *KeyError
			require.True(t, errors.As(errs[0], &fe), "%T is not a *KeyError", errs[0])
			assert.Equal(t, tt.key, fe.Key)
			assert.Contains(t, fe.Error(), tt.key+": ")

			s := Default()
			s.Name, s.Clients = "t", cfg
			errs = s.Validate()
			require.Len(t, errs, 1, "the scenario refuses what its clients section refuses: %v", errs)
			require.ErrorAs(t, errs[0], &fe)
			assert.Equal(t, tt.key, fe.Key)
		})
	}
}

func TestClientsValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Clients)
	}{
		{"default", func(*Clients) {}},
		{"edges", func(c *Clients) {
			c.Users, c.Concurrency, c.Pages, c.Relogin, c.CookiesBlocked = 1, 1, fixed(0), 100, 1
		}},
		{"pool just big enough", func(c *Clients) { c.Users, c.Network.Pools = 2, []string{"203.0.113.0/30"} }},
		{"nat fits a small pool", func(c *Clients) { c.Users, c.Network.NAT, c.Network.Pools = 10, 5, []string{"203.0.113.0/30"} }},
		{"front proxy needs one address", func(c *Clients) {
			c.Users, c.Network.FrontProxy, c.Network.Pools = 10, true, []string{"203.0.113.0/30"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultClients()
			tt.modify(&cfg)
			assert.Empty(t, cfg.validate())
		})
	}
}

// Validate is the gate scenario files go through: overlapping pools would count shared addresses twice and let
// the population fail later with an error that names no key, so they are refused up front, on the later pool's key.
func TestOverlappingPoolsAreRefused(t *testing.T) {
	tests := [][]string{
		{"203.0.113.0/30", "203.0.113.0/30"},
		{"203.0.113.0/24", "203.0.113.0/25"},
		{"2001:db8::/48", "2001:db8:0:1::/64"},
	}
	for _, pools := range tests {
		c := defaultClients()
		c.Users, c.Network.Pools = 3, pools
		errs := c.validate()
		require.Len(t, errs, 1, "pools %v", pools)
		var fe *KeyError
		require.ErrorAs(t, errs[0], &fe)
		assert.Equal(t, "clients.network.pools[1]", fe.Key)
		assert.Contains(t, fe.Msg, "overlaps pools[0]")
	}
}
