package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runFormats runs a scenario with the given overrides into a directory and returns the report JSON and the text.
func runFormats(t *testing.T, dir, file string, set ...string) (*reports.Report, string) {
	t.Helper()
	args := []string{"run", "--quiet", "--format", "json,text,html", "--out", dir, file}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	if _, err := execute(t, args...); err != nil {
		var unmet unmetError
		require.ErrorAs(t, err, &unmet, "the run itself must finish")
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep reports.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	text, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	require.NoError(t, err)
	return &rep, string(text)
}

// cookieOf is the fingerprint a cookie fact names for cookie name ("" when the list has none).
func cookieOf(facts []string, name string) string {
	for _, f := range facts {
		if n, fp, ok := strings.Cut(f, ":"); ok && n == name {
			return fp
		}
	}
	return ""
}

// The login loop as one user's story: the login's session created on one replica (its answer sets sid), the next
// page, carrying that very cookie, refused on another. The JSON holds it, the text prints it, the HTML draws it as a
// sequence diagram and asks for nothing but itself; a replica that clears the cookie it cannot open shows the
// clearing in its witness.
func TestWitnessShowsTheLoop(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	rep, text := runFormats(t, dir, rrMemory, "clients.users=60", "clients.concurrency=10")
	i := slices.IndexFunc(rep.Witnesses, func(w reports.Witness) bool { return w.Cause == events.OutcomeLoop })
	require.GreaterOrEqual(t, i, 0, "a loop witness: %+v", rep.Witnesses)
	w := rep.Witnesses[i]
	failed := w.Exchanges[w.Failed]
	require.Equal(t, events.OutcomeLoop, failed.Outcome)
	sent := cookieOf(failed.Sent, "sid")
	require.NotEmpty(t, sent, "the refused page carried the session cookie: %+v", failed)
	created := slices.IndexFunc(w.Exchanges[:w.Failed], func(e events.Event) bool { return cookieOf(e.Set, "sid") == sent })
	require.GreaterOrEqual(t, created, 0, "an earlier answer set that session: %+v", w.Exchanges)
	assert.NotEqual(t, w.Exchanges[created].Replica, failed.Replica, "created on one replica, refused on another")
	// The text prints the first witness (the most frequent cause's), the exchange that went wrong marked.
	first := rep.Witnesses[0]
	assert.Contains(t, text, "witness: user ")
	assert.Contains(t, text, "sid:"+cookieOf(first.Exchanges[first.Failed].Sent, "sid"))
	assert.Contains(t, text, "\n  >")

	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), `id="witness"`, "the sequence diagram")
	assert.Contains(t, string(html), `class="exchange failed"`, "the exchange that went wrong marked")
	page := filepath.Join(dir, "report.html")
	assert.Equal(t, []string{"file://" + page}, requestsOf(t, chromium(t), page), "the report asks for nothing but itself")

	wakapi, _ := runFormats(t, t.TempDir(), "../../scenarios/wakapi-round-robin.yaml", "app.sessions=cookie", "app.secret=per-replica",
		"app.clear_bad_cookie=true", "clients.users=60")
	cleared := false
	for _, w := range wakapi.Witnesses {
		for _, e := range w.Exchanges {
			cleared = cleared || slices.ContainsFunc(e.Set, func(f string) bool { return strings.HasSuffix(f, ":-") })
		}
	}
	assert.True(t, cleared, "a witness shows the replica clearing the cookie it could not open: %+v", wakapi.Witnesses)
}
