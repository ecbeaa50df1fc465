package reports

// What the tests of package reports_test reach that the package does not export.

// Diagnose is the diagnosis Report.Diagnosis holds, for tests that give it hand-built reports.
var Diagnose = diagnose

// ReadBound parses a bound, for tests of what it holds.
var ReadBound = parseBound

// Holds reports whether v meets the bound.
func (b bound) Holds(v float64) bool { return b.holds(v) }

// MaxTraced bounds the users whose exchanges the witnesses follow at once.
const MaxTraced = maxTraced

// Traced is how many users the witnesses follow now.
func (a *Accumulator) Traced() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wit.traced()
}
