package render_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
	"github.com/sessionlab/sessionlab/reports/render"
)

// Each single-run format shows the first witness (reporttest.LoopWitness): the exchanges in order, the one that went
// wrong marked, the cookies sent and set, the cleared one as sid:-.
func TestRenderWitness(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"witness: user 7's loop: exchange 3 of 4 went wrong (marked >)\n",
			"     12 ms  GET /login → 200     replica-1  set csrf:5e1f0a2b                     ok\n",
			"     15 ms  POST /login → 302 /  replica-1  sent csrf:5e1f0a2b  set sid:1a2b3c4d  ok\n",
			"  >  17 ms  GET / → 302 /login   replica-2  sent sid:1a2b3c4d  set sid:-          loop\n",
			"     20 ms  GET /login → 200     replica-3  set csrf:77c0d1e9                     ok (new connection: closed)\n",
		}},
		{"markdown", []string{
			"**Witness**: user 7's loop: exchange 3 of 4 went wrong (❌)\n\n",
			"|  | t (ms) | request | answer | replica | sent | set | outcome |\n",
			"|  | 15 | POST /login | 302 / | replica-1 | csrf:5e1f0a2b | sid:1a2b3c4d | ok |\n",
			"| ❌ | 17 | GET / | 302 /login | replica-2 | sid:1a2b3c4d | sid:- | loop |\n",
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out := renderAs(t, tc.format, reporttest.Looping())
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			// After the diagnosis, before the expectations.
			diag, witness, expect := strings.Index(out, "iagnosis"), strings.Index(out, "itness"), strings.Index(out, "xpectations")
			assert.Less(t, diag, witness)
			assert.Less(t, witness, expect)
		})
	}
}

// The run page draws the first witness as a sequence diagram: a lane per party, an arrow pair per exchange with
// its cookies, the exchange that went wrong alone in the "failed" class.
func TestRenderHTMLWitnessDiagram(t *testing.T) {
	doc := htmlParse(t, htmlRun(t, reporttest.Looping()))
	svg := htmlPlot(t, doc, "witness")
	assert.Equal(t, []string{"browser", "balancer", "replica-1", "replica-2", "replica-3"}, htmlTexts(svg, "lane"))
	exchanges := htmlFind(svg, "g", "class", "exchange")
	require.Len(t, exchanges, 4)
	failed := htmlFind(svg, "g", "class", "failed")
	require.Len(t, failed, 1)
	assert.Same(t, exchanges[2], failed[0])
	assert.Equal(t, []string{"GET / · sent sid:1a2b3c4d"}, htmlTexts(failed[0], "request"))
	assert.Equal(t, []string{"302 /login · set sid:-"}, htmlTexts(failed[0], "answer"))
	assert.Equal(t, []string{"✘ loop"}, htmlTexts(failed[0], "outcome"))
	assert.Equal(t, []string{"GET /login · new connection: closed"}, htmlTexts(exchanges[3], "request"))
	for _, x := range exchanges {
		assert.Len(t, htmlFind(x, "line", "", ""), 2, "an arrow there and one back")
	}
	assert.Contains(t, htmlText(htmlFind(doc, "p", "class", "witness")[0]), "user 7's loop")
}

// A witness with an identity provider, a tier, a failover, an error and exchanges left out: each shows in every
// format, and the page still fetches nothing.
func TestRenderWitnessDetails(t *testing.T) {
	r := reporttest.Looping()
	x := reporttest.LoopWitness().Exchanges
	idp := events.Event{TMs: 13, User: 7, Step: events.StepLogin, Attempt: 1, Method: "GET", Host: "idp.test", Path: "/authorize",
		Status: 200, Outcome: events.OutcomeOK}
	x[1].Instance, x[1].Failover = "haproxy-2", "replica-3"
	x[3].Status, x[3].Replica, x[3].Outcome, x[3].Error = 0, "", events.OutcomeError, "connection refused"
	w := reports.Witness{Cause: events.OutcomeLoop, User: 7, Failed: 3, Exchanges: []events.Event{x[0], idp, x[1], x[2], x[3]},
		Omitted: 12, OmittedAt: 2}
	r.Witnesses = []reports.Witness{w, {Cause: "loop", User: 9}, {Cause: "error", User: 3}}

	text := renderAs(t, "text", r)
	for _, want := range []string{
		"  other witnesses in the JSON report: loop user 9; error user 3\n",
		"     13 ms  GET idp.test/authorize → 200  -",
		"     …      12 exchanges left out\n",
		"replica-1 (haproxy-2) after replica-3",
		"GET /login → no answer",
		"error: connection refused (new connection: closed)",
	} {
		assert.Contains(t, text, want)
	}
	md := renderAs(t, "markdown", r)
	assert.Contains(t, md, "|  |  | … 12 exchanges left out |  |  |  |  |  |\n")
	assert.Contains(t, md, "; other witnesses in the JSON report: loop user 9; error user 3\n")

	page := htmlRun(t, r)
	assert.Empty(t, htmlFetches(htmlParse(t, page)))
	svg := htmlPlot(t, htmlParse(t, page), "witness")
	assert.Equal(t, []string{"browser", "balancer", "replica-1", "replica-2", "idp.test"}, htmlTexts(svg, "lane"))
	assert.Equal(t, []string{"haproxy-2"}, htmlTexts(svg, "instance"))
	assert.Contains(t, htmlTexts(svg, "note"), "… 12 exchanges left out")
	assert.Contains(t, htmlTexts(svg, "note"), "connection refused")
	assert.Contains(t, htmlTexts(svg, "note"), "after replica-3")
}

// A failing JUnit case carries the first witness in its body, after the diagnosis; a passing one does not.
func TestRenderJUnitWitness(t *testing.T) {
	s := parseJUnit(t, func(b *bytes.Buffer) error { return render.Report(b, "junit", reporttest.Looping()) })
	require.Len(t, s.Suites, 1)
	var failed, passed int
	for _, c := range s.Suites[0].Cases {
		if c.Failure == nil {
			passed++
			assert.NotContains(t, c.SystemOut+c.Name, "witness:")
			continue
		}
		failed++
		body := c.Failure.Text
		assert.Contains(t, body, "Sessions live in each replica's memory")
		assert.Contains(t, body, "witness: user 7's loop: exchange 3 of 4 went wrong (marked >)\n")
		assert.Contains(t, body, "  >  17 ms  GET / → 302 /login   replica-2  sent sid:1a2b3c4d  set sid:-          loop\n")
		assert.Less(t, strings.Index(body, "Sessions live"), strings.Index(body, "witness:"))
	}
	assert.Equal(t, 1, failed)
	assert.Equal(t, 2, passed)
}

// Without a failure there is no witness to show, and no heading for one.
func TestRenderWithoutWitness(t *testing.T) {
	for _, format := range []string{"text", "markdown", "html", "junit"} {
		t.Run(format, func(t *testing.T) {
			assert.NotContains(t, strings.ToLower(renderAs(t, format, reporttest.Healthy())), "witness")
		})
	}
}
