// Package draw draws what a population needs from the scenario's seed: a pool by weight, distinct addresses in
// pools, a host in a prefix, and the users' arrival times. Every draw takes the caller's random source, so that
// the same seed draws the same population.
package draw

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// PoolPicker picks a pool index: uniformly, or in proportion to the weights.
func PoolPicker(rng *rand.Rand, pools []netip.Prefix, weights []float64) func() int {
	if len(weights) == 0 {
		return func() int { return rng.IntN(len(pools)) }
	}
	cum := make([]float64, len(weights))
	total := 0.0
	for i, w := range weights {
		total += w
		cum[i] = total
	}
	return func() int {
		x := rng.Float64() * total
		for i, c := range cum {
			if x < c {
				return i
			}
		}
		return len(cum) - 1
	}
}

// Distinct picks n different addresses: a pool (by pick), then a host in it uniformly. key, when not nil, maps
// an address to what must be distinct (its /24, for offices); taken lists addresses already in use.
func Distinct(rng *rand.Rand, pools []netip.Prefix, pick func() int, n int, key func(netip.Addr) netip.Addr, taken ...map[netip.Addr]bool) ([]netip.Addr, error) {
	seen := make(map[netip.Addr]bool, n)
	out := make([]netip.Addr, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 50*n+1000 {
			return nil, fmt.Errorf("population: could not draw %d distinct addresses from %v", n, pools)
		}
		a := Host(rng, pools[pick()])
		if key != nil {
			a = key(a)
		}
		if seen[a] || (len(taken) > 0 && taken[0][a]) {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

// Host returns an address inside p, avoiding an IPv4 network's first and last address (network and
// broadcast) when the prefix has room for hosts.
func Host(rng *rand.Rand, p netip.Prefix) netip.Addr {
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

// Arrivals are the users' start offsets from the run's start: one user every 1/rate seconds, or exponential gaps
// of that mean (poisson); nil when every user is ready at once (rate 0).
func Arrivals(rng *rand.Rand, rate float64, poisson bool, n int) []time.Duration {
	if rate <= 0 {
		return nil
	}
	out := make([]time.Duration, n)
	var t float64
	for i := range out {
		out[i] = time.Duration(t * float64(time.Second))
		if poisson {
			t += rng.ExpFloat64() / rate
		} else {
			t += 1 / rate
		}
	}
	return out
}
