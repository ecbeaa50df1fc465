package reports_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

func TestParseBound(t *testing.T) {
	tests := []struct {
		bound    string
		holds    []float64
		holdsNot []float64
		reason   string
	}{
		{"< 0.01", []float64{0, 0.0099}, []float64{0.01, 1}, "strict upper bound"},
		{"<0.01", []float64{0.0099}, []float64{0.01}, "no space"},
		{"  <=  2 ", []float64{2, -1}, []float64{2.0001}, "padding"},
		{">= 0.5", []float64{0.5, 3}, []float64{0.4999}, "inclusive lower bound"},
		{"> 0.5", []float64{0.5001}, []float64{0.5}, "strict lower bound"},
		{"== 0", []float64{0}, []float64{0.0001, -0.0001}, "equality"},
		{"!= 1", []float64{0, 1.0001}, []float64{1}, "inequality"},
		{"between 1.8 2.2", []float64{1.8, 2, 2.2}, []float64{1.7999, 2.2001}, "inclusive range"},
		{"between 1 1", []float64{1}, []float64{0.9999, 1.0001}, "degenerate range"},
	}
	for _, tt := range tests {
		t.Run(tt.bound, func(t *testing.T) {
			require.NoError(t, reports.ParseBound(tt.bound))
			b, err := reports.ReadBound(tt.bound)
			require.NoError(t, err)
			for _, v := range tt.holds {
				assert.True(t, b.Holds(v), "%s: %q must hold for %g", tt.reason, tt.bound, v)
			}
			for _, v := range tt.holdsNot {
				assert.False(t, b.Holds(v), "%s: %q must not hold for %g", tt.reason, tt.bound, v)
			}
		})
	}
}

func TestParseBoundInvalid(t *testing.T) {
	for _, s := range []string{"", "   ", "lt 1", "< x", "<", "between 2 1", "between 1", "between 1 2 3", "between a b", "1 <", "=< 1"} {
		t.Run(s, func(t *testing.T) {
			err := reports.ParseBound(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "between X Y", "the error says what is allowed")
		})
	}
}

// sample is the report of runEvents: login_failure_rate 0.6, replicas replica-1..3 then replica-0 and zz.
func sample() *reports.Report {
	return reports.Compute(meta("replica-1", "replica-2", "replica-3"), runEvents())
}

func TestLookup(t *testing.T) {
	tests := []struct {
		key   string
		want  float64
		found bool
	}{
		{"login_failure_rate", 0.6, true},
		{"totals.login_failure_rate", 0.6, true},
		{"requests", 16, true},
		{"totals.requests", 16, true},
		{"skew.max_over_mean", 5.0 / 3, true},
		{"failure_causes.loop", 1, true},
		{"failure_causes.csrf", 0, true},
		{"replicas.1.share", 4.0 / 15, true},
		{"replicas.4.requests", 3, true},
		{"seed", 1, true},
		{"nope", 0, false},
		{"totals.nope", 0, false},
		{"failure_causes.timeout", 0, false},
		{"replicas.5.share", 0, false},
		{"replicas.-1.share", 0, false},
		{"replicas.x.share", 0, false},
		{"skew", 0, false},
		{"replicas", 0, false},
		{"replicas.0.name", 0, false},
		{"scenario", 0, false},
		{"", 0, false},
	}
	r := sample()
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			v, found := r.Lookup(tt.key)
			assert.Equal(t, tt.found, found)
			if !tt.found {
				assert.Nil(t, v)
				return
			}
			assert.InDelta(t, tt.want, figure(t, v), 1e-12)
		})
	}
	t.Run("null figure is found", func(t *testing.T) {
		v, found := reports.Compute(meta("a"), nil).Lookup("session_loss_rate")
		assert.True(t, found)
		assert.Nil(t, v)
	})
}

func TestCheck(t *testing.T) {
	r := sample()
	r.Totals.SessionLoss = nil // a figure that could not be computed
	ok := r.Check(map[string]string{
		"skew.max_over_mean": "< 2",
		"login_failure_rate": "< 0.01",
		"requests":           "== 16",
		"session_loss_rate":  "< 1",
		"nope":               "< 1",
		"replicas.0.share":   "maybe",
	})
	assert.False(t, ok)

	type row struct {
		Key, Want string
		OK        bool
		Got       any
	}
	want := []row{
		{"login_failure_rate", "< 0.01", false, 0.6},
		{"nope", "< 1", false, nil},
		{"replicas.0.share", "maybe", false, nil},
		{"requests", "== 16", true, 16.0},
		{"session_loss_rate", "< 1", false, nil},
		{"skew.max_over_mean", "< 2", true, 5.0 / 3},
	}
	require.Len(t, r.Expectations, len(want))
	for i, w := range want {
		e := r.Expectations[i]
		assert.Equal(t, w.Key, e.Key, "expectations are sorted by key")
		assert.Equal(t, w.Want, e.Want)
		assert.Equal(t, w.OK, e.OK, w.Key)
		if w.Got == nil {
			assert.Nil(t, e.Got, w.Key)
		} else {
			assert.InDelta(t, w.Got, figure(t, e.Got), 1e-12, w.Key)
		}
	}

	assert.True(t, r.Check(map[string]string{"login_failure_rate": "between 0.5 0.7", "failure_causes.csrf": "== 0"}))
	assert.Len(t, r.Expectations, 2, "Check replaces earlier expectations")
	assert.True(t, r.Check(nil), "no expectations are all met")
	assert.Empty(t, r.Expectations)
}

// twoThirds is a report whose figures print as 0.667.
func twoThirds(strategy string) *reports.Report {
	r := reports.Compute(meta("replica-1", "replica-2", "replica-3"), nil)
	r.Balancer.Strategy = strategy
	v := 2.0 / 3
	r.Totals.LoginFailRate = &v
	r.Totals.LoginFailures = 2
	r.Totals.LoginAttempts = 3
	r.FailureCauses["loop"] = 2
	r.Replicas[1].Requests = 201
	return r
}

func TestRenderText(t *testing.T) {
	r := twoThirds("round-robin")
	r.Check(map[string]string{"login_failure_rate": "< 0.01"})
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "text", r))
	out := buf.String()
	for _, s := range []string{"rr-memory", "nginx round-robin", "rate 0.667", "loop 2", "replica-2", "201",
		"max/mean n/a", "FAIL  login_failure_rate < 0.01  (got 0.667)"} {
		assert.Contains(t, out, s)
	}

	var viaRender bytes.Buffer
	require.NoError(t, render.Report(&viaRender, "text", r))
	assert.Equal(t, out, viaRender.String())
	require.Error(t, render.Report(&viaRender, "yaml", r))
}

func TestRenderCompare(t *testing.T) {
	a, b := twoThirds("round-robin"), sample()
	b.Balancer.Strategy = "ip-hash"
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "text", []*reports.Report{a, b}))
	out := buf.String()
	for _, s := range []string{"rr-memory", "round-robin", "ip-hash", "0.667", "0.600", "loop 2", "0/201/0", "5/4/2/1/3", "1.667"} {
		assert.Contains(t, out, s)
	}

	buf.Reset()
	require.NoError(t, render.Compare(&buf, "text", nil))
	assert.Empty(t, buf.String())
}
