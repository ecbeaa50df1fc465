package render_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

// The JUnit schema as a CI reader sees it, written apart from the renderer's types so that the test checks the
// XML rather than the structs that produced it.
type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name     string    `xml:"name,attr"`
	Tests    int       `xml:"tests,attr"`
	Failures int       `xml:"failures,attr"`
	Skipped  int       `xml:"skipped,attr"`
	Cases    []xmlCase `xml:"testcase"`
}

type xmlCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

// parseJUnit renders twice, requires the same bytes both times, and reads the XML back.
func parseJUnit(t *testing.T, render func(*bytes.Buffer) error) xmlSuites {
	t.Helper()
	var first, second bytes.Buffer
	require.NoError(t, render(&first))
	require.NoError(t, render(&second))
	require.Equal(t, first.String(), second.String(), "the same input renders byte for byte the same")
	require.True(t, strings.HasPrefix(first.String(), xml.Header), "starts with the XML header")

	var got xmlSuites
	require.NoError(t, xml.Unmarshal(first.Bytes(), &got), first.String())
	return got
}

// assertTotals checks that every suite counts its own cases and the root sums the suites.
func assertTotals(t *testing.T, s xmlSuites) {
	t.Helper()
	var tests, failures, skipped int
	for _, suite := range s.Suites {
		var f, sk int
		for _, c := range suite.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		assert.Equal(t, len(suite.Cases), suite.Tests, suite.Name)
		assert.Equal(t, f, suite.Failures, suite.Name)
		assert.Equal(t, sk, suite.Skipped, suite.Name)
		tests, failures, skipped = tests+suite.Tests, failures+suite.Failures, skipped+suite.Skipped
	}
	assert.Equal(t, tests, s.Tests)
	assert.Equal(t, failures, s.Failures)
	assert.Equal(t, skipped, s.Skipped)
}

func TestRenderJUnit(t *testing.T) {
	r := reporttest.Build(reporttest.Looping(), withUncomputedExpectation)
	got := parseJUnit(t, func(b *bytes.Buffer) error { return render.Report(b, "junit", r) })
	assertTotals(t, got)

	require.Len(t, got.Suites, 1)
	suite := got.Suites[0]
	assert.Equal(t, "rr-memory nginx round-robin", suite.Name)
	assert.Equal(t, 4, suite.Tests)
	assert.Equal(t, 2, suite.Failures)
	assert.Equal(t, 0, suite.Skipped)

	byName := map[string]xmlCase{}
	for _, c := range suite.Cases {
		assert.Equal(t, "sessionlab.rr-memory", c.Classname)
		assert.Equal(t, "0", c.Time)
		byName[c.Name] = c
	}

	run := byName["run"]
	assert.Nil(t, run.Failure, "the run finished, so its case passes")
	for _, s := range []string{"login_failure_rate 0.670 (201 of 300)", "loop 198", "session_loss_rate 0.667", "jain 0.996"} {
		assert.Contains(t, run.SystemOut, s)
	}

	tests := []struct {
		name    string
		message string // "" when the expectation is met
	}{
		{"login_failure_rate < 0.01", "login_failure_rate = 0.670, want < 0.01"},
		{"skew.max_over_mean < 1.5", ""},
		{"websocket.state_loss_rate == 0", "websocket.state_loss_rate = n/a, want == 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := byName[tt.name]
			require.True(t, ok, "a case named %q", tt.name)
			if tt.message == "" {
				assert.Nil(t, c.Failure)
				return
			}
			require.NotNil(t, c.Failure)
			assert.Equal(t, tt.message, c.Failure.Message)
			assert.Equal(t, "expectation", c.Failure.Type)
			assert.Contains(t, c.Failure.Text, "Fixes: affinity: cookie on the ingress; a shared session store",
				"the diagnosis sits next to the failure")
		})
	}
}

func TestRenderJUnitWithoutExpectations(t *testing.T) {
	r := reporttest.Looping()
	r.Expectations = nil
	got := parseJUnit(t, func(b *bytes.Buffer) error { return render.Report(b, "junit", r) })
	assertTotals(t, got)
	require.Len(t, got.Suites, 1)
	require.Len(t, got.Suites[0].Cases, 1)
	assert.Equal(t, "run", got.Suites[0].Cases[0].Name)
	assert.Zero(t, got.Failures)
}

func TestRenderJUnitCompare(t *testing.T) {
	rs := reporttest.Variants()
	got := parseJUnit(t, func(b *bytes.Buffer) error { return render.Compare(b, "junit", rs) })
	assertTotals(t, got)
	assert.Equal(t, 6, got.Tests)
	assert.Equal(t, 2, got.Failures)
	assert.Equal(t, 1, got.Skipped)

	require.Len(t, got.Suites, len(rs), "one suite per variant")
	for i, r := range rs {
		suite := got.Suites[i]
		name := "rr-memory " + r.Balancer.Kind + " " + r.Balancer.Strategy
		assert.Equal(t, name, suite.Name)
		require.NotEmpty(t, suite.Cases)
		variant := suite.Cases[0]
		assert.Equal(t, name, variant.Name)

		if r.Skipped != "" {
			require.Len(t, suite.Cases, 1)
			require.NotNil(t, variant.Skipped)
			assert.Equal(t, r.Skipped, variant.Skipped.Message)
			continue
		}
		require.Len(t, suite.Cases, 1+len(r.Expectations))
		unmet := false
		for j, e := range r.Expectations {
			c := suite.Cases[1+j]
			assert.Equal(t, e.Key+" "+e.Want, c.Name)
			assert.Equal(t, !e.OK, c.Failure != nil, c.Name)
			unmet = unmet || !e.OK
		}
		assert.Equal(t, unmet, variant.Failure != nil, "%s fails iff one of its expectations is unmet", name)
		if unmet {
			assert.Contains(t, variant.Failure.Message, "login_failure_rate = 0.670")
			assert.NotContains(t, variant.Failure.Message, "skew.max_over_mean", "a met expectation is not listed")
		}
	}
	assert.NotEqual(t, got.Suites[0].Cases[1].Classname, got.Suites[1].Cases[1].Classname,
		"the same expectation of two variants stays apart in a reporter")
}

func TestRenderJUnitCompareEmpty(t *testing.T) {
	got := parseJUnit(t, func(b *bytes.Buffer) error { return render.Compare(b, "junit", nil) })
	assert.Empty(t, got.Suites)
	assert.Zero(t, got.Tests)
}
