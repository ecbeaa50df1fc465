package clients_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/clients"
)

// BenchmarkPopulation measures drawing 100,000 users with distinct addresses.
func BenchmarkPopulation(b *testing.B) {
	cfg := clients.DefaultConfig()
	cfg.Users = 100000
	cfg.Network.Pools = []string{"100.64.0.0/10", "2001:db8::/48"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := clients.Population(1, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
