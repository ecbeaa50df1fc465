package reports_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/reports"
)

// BenchmarkAccumulatorRecord measures the cost the report adds to every exchange of a run.
func BenchmarkAccumulatorRecord(b *testing.B) {
	meta := reports.Meta{Replicas: []string{"replica-1", "replica-2", "replica-3"}, Users: 100000}
	acc := reports.NewAccumulator(meta)
	steps := []clients.Event{
		{Step: clients.StepLogin, Attempt: 1, Method: "GET", Path: "/login", Status: 200, Outcome: clients.OutcomeOK},
		{Step: clients.StepLogin, Attempt: 1, Method: "POST", Path: "/login", Status: 302, Outcome: clients.OutcomeOK},
		{Step: clients.StepPage, Method: "GET", Path: "/page/1", Status: 302, Outcome: clients.OutcomeLoss},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := steps[i%len(steps)]
		e.User = i / len(steps) % 100000
		e.Replica = meta.Replicas[i%3]
		acc.Record(e)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
