package render_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

// withPipeInName renames replica-2 "replica|2" in the replica table and the phases, so that the table escaping
// shows.
func withPipeInName(r *reports.Report) {
	for i := range r.Replicas {
		if r.Replicas[i].Name == "replica-2" {
			r.Replicas[i].Name = "replica|2"
		}
	}
	for i := range r.Phases {
		for j := range r.Phases[i].Replicas {
			if r.Phases[i].Replicas[j].Name == "replica-2" {
				r.Phases[i].Replicas[j].Name = "replica|2"
			}
		}
	}
}

// withUncomputedExpectation adds an unmet expectation on a figure that could not be computed.
func withUncomputedExpectation(r *reports.Report) {
	r.Expectations = append(r.Expectations, reports.Expectation{Key: "websocket.state_loss_rate", Want: "== 0", OK: false})
}

func TestRenderMarkdown(t *testing.T) {
	r := reporttest.Build(reporttest.Looping(), withPipeInName, withUncomputedExpectation)
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "markdown", r))
	out := buf.String()

	for _, want := range []struct{ text, why string }{
		{"### sessionlab: rr-memory · nginx round-robin · 3 replicas · sessions memory · runtime local · seed 7", "heading"},
		{"| login failure rate | **0.670** (201 of 300 attempts) |", "login failure rate with its counts"},
		{"| failure causes | loop 198, rejected 3 |", "causes in key order, zero counts left out"},
		{"| session loss rate | **0.667** (660 of 990 pages) |", "session loss rate with its counts"},
		{"| users in login loop | 180 |", "login loops"},
		{"| affected users | 250 of 300 |", "affected users"},
		{"| duplicate session ratio | 1.500", "duplicate ratio"},
		{"max/mean 1.077 · jain 0.996", "skew"},
		{"| stickiness mean | 0.334", "stickiness"},
		{"| store | memory: 420 held", "store line"},
		{"(unread: replica-2)", "unread replicas"},
		{"| websocket | 40 connections, 1 errors, state lost on 7 of 10 reconnects (0.700) |", "websocket line"},
		{"**Diagnosis.** Sessions live in each replica's memory", "diagnosis text"},
		{"(Fixes: affinity: cookie on the ingress; a shared session store)", "fixes"},
		{"**Expectations** (1 of 3 met)", "expectation count"},
		{"- ❌ `login_failure_rate < 0.01` got 0.670", "unmet expectation"},
		{"- ✅ `skew.max_over_mean < 1.5` got 1.077", "met expectation"},
		{"- ❌ `websocket.state_loss_rate == 0` got n/a", "nil figure"},
		{"| replica\\|2 | 1300 | 0.333 | 200 |", "escaped pipe in a replica row"},
		{"| after kill replica-2 | 2500–3500 | 1900 | 0 (n/a) | 300 (0.600) | 97 | 4 | 950/0/950 |", "phase row"},
		{"- fault 1: kill replica-2 at 1.5s (1500–2500 ms): 300 users across, 98 moved (0.327)", "fault line"},
	} {
		assert.Contains(t, out, want.text, want.why)
	}
	assert.NotContains(t, out, "| replica|2", "a bare pipe splits the cell")

	// Every table row has as many unescaped pipes as its header.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| replica") {
			assert.Equal(t, 5, strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"), line)
		}
	}

	var again bytes.Buffer
	require.NoError(t, render.Report(&again, "markdown", r))
	assert.Equal(t, out, again.String(), "the same report renders byte for byte the same")
}

func TestRenderMarkdownOmitsEmptySections(t *testing.T) {
	r := reporttest.Looping()
	r.Diagnosis, r.Expectations, r.Phases, r.Faults, r.Store, r.WebSocket = nil, nil, nil, nil, nil, nil
	var buf bytes.Buffer
	require.NoError(t, render.Report(&buf, "markdown", r))
	out := buf.String()
	for _, absent := range []string{"Diagnosis", "Expectations", "Phases", "fault 1", "| store |", "| websocket |"} {
		assert.NotContains(t, out, absent)
	}
	assert.Contains(t, out, "| replica-3 | 1200 | 0.308 | 190 |")
}

func TestRenderMarkdownCompare(t *testing.T) {
	rs := reporttest.Variants()
	var buf bytes.Buffer
	require.NoError(t, render.Compare(&buf, "markdown", rs))
	out := buf.String()

	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| nginx |") || strings.HasPrefix(line, "| haproxy |") {
			rows = append(rows, line)
		}
	}
	require.Len(t, rows, len(rs), "one row per variant:\n%s", out)
	assert.Contains(t, rows[0], "| round-robin | 3900 | 0.670 (201/300) | loop 198, rejected 3 | 0.667 (660/990) |")
	assert.Contains(t, rows[0], "| 1400/1300/1200 |")
	assert.Contains(t, rows[1], "| ip-hash | 3900 | 0.000 (0/300) | - |", "no failures, no causes")
	assert.Contains(t, rows[1], "| n/a (0/0) |", "a figure that could not be computed")
	assert.Contains(t, rows[2], "| hash-cookie | skipped: haproxy has no hash-cookie strategy |")

	assert.Contains(t, out, "### sessionlab: rr-memory · 3 variants")
	assert.Contains(t, out, "- **nginx round-robin**: Sessions live in each replica's memory")
	assert.Contains(t, out, "(Fixes: affinity: cookie on the ingress; a shared session store)")
	assert.NotContains(t, out, "- **nginx ip-hash**: Sessions", "a variant without findings has no diagnosis bullet")
	assert.Contains(t, out, "- **nginx round-robin**: ❌ `login_failure_rate < 0.01` got 0.670 · ✅ `skew.max_over_mean < 1.5` got 1.077")
	assert.Contains(t, out, "- **nginx ip-hash**: ✅ `login_failure_rate < 0.01` got 0.000")
	assert.Contains(t, out, "\n2 of 3 expectations met\n")

	var again bytes.Buffer
	require.NoError(t, render.Compare(&again, "markdown", rs))
	assert.Equal(t, out, again.String(), "the same reports render byte for byte the same")
}

func TestRenderMarkdownCompareEdges(t *testing.T) {
	tests := []struct {
		name    string
		rs      []*reports.Report
		want    []string
		notWant []string
	}{
		{"no variants", nil, nil, []string{"|"}},
		{"all skipped", []*reports.Report{reports.Skipped("nginx", "cookie-insert", "needs nginx plus | sticky")},
			[]string{"none run", `skipped: needs nginx plus \| sticky`}, []string{"expectations met"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, render.Compare(&buf, "markdown", tt.rs))
			for _, s := range tt.want {
				assert.Contains(t, buf.String(), s)
			}
			for _, s := range tt.notWant {
				assert.NotContains(t, buf.String(), s)
			}
		})
	}
}

// A live target's run names the target and says its balancer is whatever serves it, in every format's header: the
// scenario's balancer section did not run.
func TestTargetRunNamesTheTarget(t *testing.T) {
	r := reporttest.Looping()
	r.Runtime, r.Target = "target", "https://staging.example"
	r.Balancer.Kind, r.Balancer.Strategy = "unknown", "unknown"
	for _, format := range []string{"text", "markdown", "html", "junit"} {
		var buf bytes.Buffer
		require.NoError(t, render.Report(&buf, format, r))
		assert.Contains(t, buf.String(), "target https://staging.example (its balancer: whatever serves it)", format)
		assert.NotContains(t, buf.String(), "nginx round-robin", format)
	}
}
