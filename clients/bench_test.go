package clients_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// BenchmarkPopulation measures drawing 100,000 users with distinct addresses.
func BenchmarkPopulation(b *testing.B) {
	cfg := config(100000, "100.64.0.0/10", "2001:db8::/48")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := clients.Population(1, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClients drives users (log in, two pages) against an in-process fake app behind a PROXY-protocol listener
// and reports requests per second and bytes allocated per simulated user, the client side's own cost.
func BenchmarkClients(b *testing.B) {
	srv := startProxyServer(b, fakeapp.New(fakeapp.Config{Name: "replica-1"}))
	cfg := config(500, "198.18.0.0/15")
	users, err := clients.Population(1, cfg)
	if err != nil {
		b.Fatal(err)
	}
	journey := fakeAppJourney(2, 0)
	var requests int64
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for b.Loop() {
		st, err := clients.Run(context.Background(), srv.addr, users, journey, (func(events.Event) {}),
			clients.RunOptions{Concurrency: 50})
		if err != nil {
			b.Fatal(err)
		}
		requests += st.Sent
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(requests)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*len(users)), "B/user")
}
