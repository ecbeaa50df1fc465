package render_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

// refOf points at a copy of v, for the report's nullable figures.
func refOf[T any](v T) *T { return &v }

// loopingRun is a round-robin run over replicas keeping sessions in memory, the Wakapi report: most logins loop, a
// kill of replica-2 midway, a store record, WebSocket state, a diagnosis, and two expectations of which only the
// skew one is met. A replica name carries a pipe so that the table escaping shows.
func loopingRun() *reports.Report {
	return &reports.Report{
		Schema: reports.Schema, Scenario: "rr-memory", Seed: 7, Runtime: "local",
		Balancer: events.Balancer{Kind: "nginx", Strategy: "round-robin"},
		App:      events.App{Replicas: 3, Sessions: "memory", Login: "form", Secret: "shared", CookieName: "shared"},
		Totals: reports.Totals{
			Users:            300,
			Figures:          reports.Figures{Requests: 3900, Errors: 4, LoginAttempts: 300, LoginFailures: 201, LoginFailRate: refOf(0.67), PageRequests: 990, SessionLosses: 660, SessionLoss: refOf(0.6667)},
			UsersInLoginLoop: 180,
			AffectedUsers:    250,
			SessionsCreated:  420,
			UsersLoggedIn:    280,
			DuplicateRatio:   refOf(1.5),
		},
		FailureCauses: map[string]int{"rejected": 3, "loop": 198, "error": 0, "csrf": 0},
		Replicas: []reports.Replica{
			{Name: "replica-1", Requests: 1301, Share: refOf(0.3336), Users: 100},
			{Name: "replica|2", Requests: 1299, Share: refOf(0.3331), Users: 99},
			{Name: "replica-3", Requests: 1300, Share: refOf(0.3333), Users: 101},
		},
		Skew:       reports.Skew{MaxOverMean: refOf(1.0008), CoV: refOf(0.0006), Jain: refOf(0.9999)},
		Stickiness: reports.Stickiness{Users: 280, Mean: refOf(0.334), UsersAtOne: 2, ShareAtOne: refOf(0.007)},
		Phases: []reports.Phase{
			{Name: "before", FromMs: 0, ToMs: 800, Figures: reports.Figures{Requests: 2000, LoginAttempts: 150, LoginFailures: 100, LoginFailRate: refOf(0.6667)},
				Replicas: []reports.PhaseReplica{{Name: "replica-1", Requests: 667}, {Name: "replica|2", Requests: 667}, {Name: "replica-3", Requests: 666}}},
			{Name: "after kill replica-2", FromMs: 815, ToMs: 1600, UsersWithLoss: 97, Figures: reports.Figures{Requests: 1900, Errors: 4, SessionLosses: 300, PageRequests: 500, SessionLoss: refOf(0.6)},
				Replicas: []reports.PhaseReplica{{Name: "replica-1", Requests: 950}, {Name: "replica|2", Requests: 0}, {Name: "replica-3", Requests: 950}}},
		},
		Faults: []reports.FaultResult{{
			Index: 0, Action: "kill", Target: "replica-2", At: "1500 requests", StartMs: refOf[int64](812), EndMs: refOf[int64](815),
			UsersAcross: refOf(300), MovedUsers: refOf(98), MovedShare: refOf(0.3267), UsersOnTarget: refOf(98),
			LostOnTarget: refOf(97), LostElsewhere: refOf(0), UsersLost: refOf(97),
		}},
		Store: &reports.Store{StoreStats: events.StoreStats{Kind: "memory", Sessions: 420, SessionsCreated: 420, Logins: 420,
			CSRFRefusals: 1, BadCookies: 2, Unread: []string{"replica-2"}}, Source: "replicas"},
		WebSocket: &reports.WebSocket{Connections: 40, Errors: 1, Reconnects: 10, StateLost: 7, StateLossRate: refOf(0.7)},
		Diagnosis: []reports.Finding{{
			Rule:  "local-sessions-no-affinity",
			Text:  "Sessions live in each replica's memory and round-robin sends the next request elsewhere: a login loop.",
			Fixes: []string{"affinity: cookie on the ingress", "a shared session store"},
		}},
		Expectations: []reports.Expectation{
			{Key: "login_failure_rate", Want: "< 0.01", Got: refOf(0.67), OK: false},
			{Key: "skew.max_over_mean", Want: "< 1.5", Got: refOf(1.0008), OK: true},
		},
	}
}

// loopingVariants is one scenario under three variants: the looping run, a sticky run with a figure that could not be
// computed and no unmet expectation, and a strategy the balancer does not have.
func loopingVariants() []*reports.Report {
	sticky := loopingRun()
	sticky.Balancer.Strategy = "ip-hash"
	sticky.Totals.LoginFailures, sticky.Totals.LoginFailRate = 0, refOf(0.0)
	sticky.FailureCauses = map[string]int{"loop": 0}
	sticky.Skew.MaxOverMean = nil
	sticky.Diagnosis = nil
	sticky.Expectations = []reports.Expectation{{Key: "login_failure_rate", Want: "< 0.01", Got: refOf(0.0), OK: true}}
	return []*reports.Report{loopingRun(), sticky, reports.Skipped("haproxy", "hash-cookie", "haproxy has no hash-cookie balance")}
}

func TestRenderMarkdown(t *testing.T) {
	r := loopingRun()
	r.Expectations = append(r.Expectations, reports.Expectation{Key: "websocket.state_loss_rate", Want: "== 0", OK: false})
	var buf bytes.Buffer
	require.NoError(t, render.Markdown(&buf, r))
	out := buf.String()

	for _, want := range []struct{ text, why string }{
		{"### sessionlab: rr-memory · nginx round-robin · 3 replicas · sessions memory · runtime local · seed 7", "heading"},
		{"| login failure rate | **0.670** (201 of 300 attempts) |", "login failure rate with its counts"},
		{"| failure causes | loop 198, rejected 3 |", "causes in key order, zero counts left out"},
		{"| session loss rate | **0.667** (660 of 990 pages) |", "session loss rate with its counts"},
		{"| users in login loop | 180 |", "login loops"},
		{"| affected users | 250 of 300 |", "affected users"},
		{"| duplicate session ratio | 1.500", "duplicate ratio"},
		{"max/mean 1.001 · jain 1.000", "skew"},
		{"| stickiness mean | 0.334", "stickiness"},
		{"| store | memory: 420 held", "store line"},
		{"(unread: replica-2)", "unread replicas"},
		{"| websocket | 40 connections, 1 errors, state lost on 7 of 10 reconnects (0.700) |", "websocket line"},
		{"**Diagnosis.** Sessions live in each replica's memory", "diagnosis text"},
		{"(Fixes: affinity: cookie on the ingress; a shared session store)", "fixes"},
		{"**Expectations** (1 of 3 met)", "expectation count"},
		{"- ❌ `login_failure_rate < 0.01` got 0.670", "unmet expectation"},
		{"- ✅ `skew.max_over_mean < 1.5` got 1.001", "met expectation"},
		{"- ❌ `websocket.state_loss_rate == 0` got n/a", "nil figure"},
		{"| replica\\|2 | 1299 | 0.333 | 99 |", "escaped pipe in a replica row"},
		{"| after kill replica-2 | 815–1600 | 1900 | 0 (n/a) | 300 (0.600) | 97 | 4 | 950/0/950 |", "phase row"},
		{"- fault 1: kill replica-2 at 1500 requests (812–815 ms): 300 users across, 98 moved (0.327)", "fault line"},
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
	r := loopingRun()
	r.Diagnosis, r.Expectations, r.Phases, r.Faults, r.Store, r.WebSocket = nil, nil, nil, nil, nil, nil
	var buf bytes.Buffer
	require.NoError(t, render.Markdown(&buf, r))
	out := buf.String()
	for _, absent := range []string{"Diagnosis", "Expectations", "Phases", "fault 1", "| store |", "| websocket |"} {
		assert.NotContains(t, out, absent)
	}
	assert.Contains(t, out, "| replica-3 | 1300 | 0.333 | 101 |")
}

func TestRenderMarkdownCompare(t *testing.T) {
	rs := loopingVariants()
	var buf bytes.Buffer
	require.NoError(t, render.MarkdownCompare(&buf, rs))
	out := buf.String()

	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| nginx |") || strings.HasPrefix(line, "| haproxy |") {
			rows = append(rows, line)
		}
	}
	require.Len(t, rows, len(rs), "one row per variant:\n%s", out)
	assert.Contains(t, rows[0], "| round-robin | 3900 | 0.670 (201/300) | loop 198, rejected 3 | 0.667 (660/990) |")
	assert.Contains(t, rows[0], "| 1301/1299/1300 |")
	assert.Contains(t, rows[1], "| ip-hash | 3900 | 0.000 (0/300) | - |", "no failures, no causes")
	assert.Contains(t, rows[1], "| n/a |", "a figure that could not be computed")
	assert.Contains(t, rows[2], "| hash-cookie | skipped: haproxy has no hash-cookie balance |")

	assert.Contains(t, out, "### sessionlab: rr-memory · 3 variants")
	assert.Contains(t, out, "- **nginx round-robin**: Sessions live in each replica's memory")
	assert.Contains(t, out, "(Fixes: affinity: cookie on the ingress; a shared session store)")
	assert.NotContains(t, out, "- **nginx ip-hash**: Sessions", "a variant without findings has no diagnosis bullet")
	assert.Contains(t, out, "- **nginx round-robin**: ❌ `login_failure_rate < 0.01` got 0.670 · ✅ `skew.max_over_mean < 1.5` got 1.001")
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
			require.NoError(t, render.MarkdownCompare(&buf, tt.rs))
			for _, s := range tt.want {
				assert.Contains(t, buf.String(), s)
			}
			for _, s := range tt.notWant {
				assert.NotContains(t, buf.String(), s)
			}
		})
	}
}
