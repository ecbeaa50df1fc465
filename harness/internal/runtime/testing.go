package runtime

import (
	"context"
	"testing"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// StartT starts topology t on rt for a test and registers the deployment's Close with tb.Cleanup before checking
// the error, so that a failing or aborted test still stops every part it started.
func StartT(tb testing.TB, rt Runtime, t plan.Topology) *Deployment {
	tb.Helper()
	d, err := New(rt.Name(), t)
	if err != nil {
		tb.Fatalf("start %s runtime: %v", rt.Name(), err)
	}
	tb.Cleanup(func() {
		if err := d.Stop(context.Background()); err != nil {
			tb.Errorf("close deployment: %v", err)
		}
	})
	if err := rt.Start(context.Background(), d); err != nil {
		tb.Fatalf("start %s runtime: %v", rt.Name(), err)
	}
	return d
}
