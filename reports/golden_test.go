package reports_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
)

var updateGolden = flag.Bool("update", false, "write testdata/report.golden.json from the current code")

// The report JSON is a contract (docs/report.md, "Report JSON (v1)"): a report with phases, faults, store and diagnosis
// encodes to the same bytes as the golden file written before the totals and the phases came to share one struct
// of figures.
func TestReportJSONIsByteIdentical(t *testing.T) {
	rep := reports.Compute(faultMeta(killR2, scaleOut), withMarks())
	rep.Check(map[string]string{"login_failure_rate": "< 0.5", "skew.jain": "> 0.9"})
	got, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	if *updateGolden {
		require.NoError(t, os.WriteFile("testdata/report.golden.json", got, 0o644))
	}
	want, err := os.ReadFile("testdata/report.golden.json")
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "the report JSON changed:\n%s", got)
	require.NotEmpty(t, rep.Phases, "the golden report has phases")
}
