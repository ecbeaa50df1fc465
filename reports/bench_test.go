package reports_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// BenchmarkAccumulatorRecord measures the cost the report adds to every exchange of a run.
func BenchmarkAccumulatorRecord(b *testing.B) {
	meta := events.Meta{Replicas: []string{"replica-1", "replica-2", "replica-3"}, Users: 100000}
	recordJourneys(b, reports.NewAccumulator(meta), meta.Replicas)
}

// recordJourneys feeds acc login and page exchanges of 100,000 users, as fast as it takes them.
func recordJourneys(b *testing.B, acc *reports.Accumulator, replicas []string) {
	steps := []events.Event{
		{Step: events.StepLogin, Attempt: 1, Method: "GET", Path: "/login", Status: 200, Outcome: events.OutcomeOK},
		{Step: events.StepLogin, Attempt: 1, Method: "POST", Path: "/login", Status: 302, Outcome: events.OutcomeOK},
		{Step: events.StepPage, Method: "GET", Path: "/page/1", Status: 302, Outcome: events.OutcomeLoss},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := steps[i%len(steps)]
		e.TMs = int64(i / 1000)
		e.User = i / len(steps) % 100000
		e.Replica = replicas[i%3]
		acc.Record(e)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
