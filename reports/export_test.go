package reports

import (
	"github.com/sessionlab/sessionlab/reports/internal/bound"
	"github.com/sessionlab/sessionlab/reports/internal/witness"
)

// What the tests of package reports_test reach that the package does not export.

// Diagnose is the diagnosis Report.Diagnosis holds, for tests that give it hand-built reports.
var Diagnose = diagnose

// ReadBound parses a bound, for tests of what it holds.
var ReadBound = bound.Parse

// MaxTraced bounds the users whose exchanges the witnesses follow at once.
const MaxTraced = witness.MaxTraced

// Traced is how many users the witnesses follow now.
func (a *Accumulator) Traced() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wit.Traced()
}
