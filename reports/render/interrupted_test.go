package render_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

// interrupted is the looping run stopped by Ctrl-C after 120 of its 300 users, 7 exchanges cut short.
func interrupted() *reports.Report {
	return reporttest.Build(reporttest.Looping(), func(r *reports.Report) {
		r.Interrupted, r.InterruptedBy = true, "SIGINT"
		r.Totals.UsersDone = new(120)
		r.Totals.Interrupted = 7
		r.OverTime.Buckets[len(r.OverTime.Buckets)-1].Interrupted = 7
		for i := range r.Expectations {
			r.Expectations[i].OK = false // Check judges none met
		}
	})
}

const interruptedLine = "by SIGINT after 120 of 300 users had finished: the figures are those of what ran; " +
	"7 exchanges cut short count in no failure; the expectations are not judged"

// Every format opens an interrupted run's report by saying so, with the users done of those planned, and marks its
// expectations as not judged rather than met or failed; a run that was not interrupted says nothing of it.
func TestEveryFormatSaysTheRunWasInterrupted(t *testing.T) {
	tests := []struct {
		format string
		want   []string // in the interrupted report
		absent []string // in the interrupted report
	}{
		{"text", []string{"INTERRUPTED: " + interruptedLine + "\n", "errors 5  interrupted 7\n",
			"expectations (not judged: the run was interrupted)", "  skip  login_failure_rate < 0.01"}, []string{"FAIL "}},
		{"markdown", []string{"> **Interrupted** " + interruptedLine + ".\n", "**Expectations** (not judged: the run was interrupted)",
			"- ⏸️ `login_failure_rate < 0.01`"}, []string{"- ❌"}},
		{"html", []string{`<p class="interrupted"><strong>Interrupted</strong> ` + interruptedLine + `.</p>`,
			"Not judged: the run was interrupted.", "<td>users done</td><td class=\"n\">120</td>",
			"<td>interrupted</td><td class=\"n\">7</td>", `data-series="cut by the interruption"`}, nil},
		{"junit", []string{`type="interrupted"`, "the run was interrupted " + interruptedLine,
			`<skipped message="not judged: the run was interrupted (login_failure_rate = 0.670 so far)">`}, []string{`type="expectation"`}},
		{"json", []string{`"interrupted": true`, `"interrupted_by": "SIGINT"`, `"users_done": 120`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, render.Report(&buf, tt.format, interrupted()))
			for _, w := range tt.want {
				assert.Contains(t, buf.String(), w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, buf.String(), a)
			}

			buf.Reset()
			require.NoError(t, render.Report(&buf, tt.format, reporttest.Looping()))
			for _, w := range []string{"INTERRUPTED", "Interrupted", `"interrupted"`, "not judged", "cut by the interruption"} {
				assert.NotContains(t, buf.String(), w, "a run that finished says nothing of an interruption")
			}
		})
	}
}

// In JUnit an interrupted run is an error of the run case — neither a pass nor an expectation unmet — and its
// expectations are skipped; in a comparison, the interrupted variant's case is the error.
func TestJUnitInterruptedRunIsAnError(t *testing.T) {
	type suites struct {
		Errors   int `xml:"errors,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Errors int `xml:"errors,attr"`
			Cases  []struct {
				Name  string `xml:"name,attr"`
				Error *struct {
					Type string `xml:"type,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	tests := []struct {
		name                      string
		write                     func(*bytes.Buffer) error
		errors, failures, skipped int
	}{
		{"one run", func(b *bytes.Buffer) error { return render.Report(b, "junit", interrupted()) }, 1, 0, 2},
		{"a comparison", func(b *bytes.Buffer) error {
			rs := reporttest.Variants()
			rs[0] = interrupted()
			return render.Compare(b, "junit", rs)
		}, 1, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tt.write(&buf))
			var got suites
			require.NoError(t, xml.Unmarshal(buf.Bytes(), &got), buf.String())
			assert.Equal(t, tt.errors, got.Errors)
			if tt.failures >= 0 {
				assert.Equal(t, tt.failures, got.Failures)
				assert.Equal(t, tt.skipped, got.Skipped)
			}
			require.NotEmpty(t, got.Suites)
			first := got.Suites[0]
			assert.Equal(t, 1, first.Errors)
			require.NotNil(t, first.Cases[0].Error, "the run's case is the error")
			assert.Equal(t, "interrupted", first.Cases[0].Error.Type)
		})
	}
}

// A comparison names the interrupted variant in text and Markdown, and the JSON list carries its mark.
func TestCompareNamesTheInterruptedVariant(t *testing.T) {
	rs := reporttest.Variants()
	rs[0] = interrupted()
	name := rs[0].Balancer.Kind + " " + rs[0].Balancer.Strategy
	for format, want := range map[string]string{
		"text":     "INTERRUPTED " + name + ": " + interruptedLine,
		"markdown": "> **" + name + " interrupted** " + interruptedLine,
		"html":     `<p class="interrupted"><strong>Interrupted</strong> ` + interruptedLine,
	} {
		var buf bytes.Buffer
		require.NoError(t, render.Compare(&buf, format, rs), format)
		assert.Contains(t, buf.String(), want, format)
	}
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "json", rs))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &list))
	assert.Equal(t, true, list[0]["interrupted"])
	assert.NotContains(t, list[1], "interrupted")
}
