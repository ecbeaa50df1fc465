package reports_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
)

// The helpers below carry a "tierd" prefix: other test files of the package are written alongside this one.

// tierdLosses splits the tier's session losses: another instance than the login's, the login's, unattributed.
func tierdLosses(elsewhere, same, unattributed int) reporttest.Mod {
	return func(r *reports.Report) {
		r.Tier.LossesElsewhere, r.Tier.LossesSameInstance, r.Tier.LossesUnattributed = elsewhere, same, unattributed
		r.Totals.SessionLosses = elsewhere + same + unattributed
	}
}

func tierdPeers(r *reports.Report) { r.Balancer.Peers = true }

func tierdSecret(s string) reporttest.Mod {
	return func(r *reports.Report) { r.Balancer.CookieSecret = s }
}

func tierdStagger(ms int64) reporttest.Mod {
	return func(r *reports.Report) { r.Balancer.StaggerMs = ms }
}

// tierdOneBalancer takes the tier away, figures and all: the same run behind one balancer.
func tierdOneBalancer(r *reports.Report) {
	r.Tier, r.Balancer.Instances, r.Balancer.Front, r.Balancer.StaggerMs = nil, nil, "", 0
}

// tierdFlipped sets the scale-out's (fault 2's) flipped users; nil as before its end.
func tierdFlipped(n *int) reporttest.Mod {
	return func(r *reports.Report) { r.Faults[1].FlippedUsers = n }
}

// TestDiagnoseTierRules gives the tier's rules the figures that trigger them and near misses that do not, on
// reporttest.Tiered (client-ip-sticky, no peers, 88 of 92 attributed losses elsewhere, 37 users flipped).
func TestDiagnoseTierRules(t *testing.T) {
	stickFixes := []string{reports.FixPeers, reports.FixCookieAffinity, reports.FixSharedStore}
	cases := []struct {
		name  string
		mods  []reporttest.Mod
		rule  string
		fires bool
		fixes []string // exactly the finding's fixes, when it fires
	}{
		// tier-affinity: a stick table per instance.
		{"client-ip-sticky losses elsewhere", nil, "tier-affinity", true, stickFixes},
		{"learn-cookie losses elsewhere", []reporttest.Mod{diagStrategy("learn-cookie")}, "tier-affinity", true, stickFixes},
		{"half the losses elsewhere", []reporttest.Mod{tierdLosses(45, 45, 5)}, "tier-affinity", true, stickFixes},
		{"most losses on the login's instance", []reporttest.Mod{tierdLosses(44, 46, 5)}, "tier-affinity", false, nil},
		{"only unattributed losses", []reporttest.Mod{tierdLosses(0, 0, 95)}, "tier-affinity", false, nil},
		{"no loss", []reporttest.Mod{tierdLosses(0, 0, 0)}, "tier-affinity", false, nil},
		{"peers share the stick table", []reporttest.Mod{tierdPeers}, "tier-affinity", false, nil},
		{"sessions in redis", []reporttest.Mod{diagSessions("redis")}, "tier-affinity", false, nil},
		{"ip-hash keeps nothing per instance", []reporttest.Mod{diagStrategy("ip-hash")}, "tier-affinity", false, nil},
		{"one balancer", []reporttest.Mod{tierdOneBalancer}, "tier-affinity", false, nil},
		// tier-affinity: a cookie secret per instance.
		{"cookie-insert per-instance secret", []reporttest.Mod{diagStrategy("cookie-insert"), tierdSecret("per-instance")},
			"tier-affinity", true, []string{reports.FixSameBalancerSecret, reports.FixSharedStore}},
		{"cookie-insert shared secret", []reporttest.Mod{diagStrategy("cookie-insert"), tierdSecret("")},
			"tier-affinity", false, nil},
		// affinity-broken gives way to the tier's finding, and only to it.
		{"affinity-broken explained by the tier", nil, "affinity-broken", false, nil},
		{"affinity-broken with peers", []reporttest.Mod{tierdPeers}, "affinity-broken", true, []string{reports.FixSharedStore}},
		{"affinity-broken with one balancer", []reporttest.Mod{tierdOneBalancer}, "affinity-broken", true, []string{reports.FixSharedStore}},

		// tier-change-staggered.
		{"scale-out flipped users", nil, "tier-change-staggered", true, []string{reports.FixPersistentCookie, reports.FixSharedStore}},
		{"flipped users with sessions in redis", []reporttest.Mod{diagSessions("redis")}, "tier-change-staggered", true,
			[]string{reports.FixPersistentCookie}},
		{"no user flipped", []reporttest.Mod{tierdFlipped(new(0))}, "tier-change-staggered", false, nil},
		{"not ended", []reporttest.Mod{tierdFlipped(nil)}, "tier-change-staggered", false, nil},
		{"round-robin flips everyone anyway", []reporttest.Mod{diagStrategy("round-robin")}, "tier-change-staggered", false, nil},
		{"one balancer", []reporttest.Mod{tierdOneBalancer}, "tier-change-staggered", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			fs := diagDiagnose(t, reporttest.Build(reporttest.Tiered(), tc.mods...))
			f, ok := diagFind(fs, tc.rule)
			if !tc.fires {
				assert.False(t, ok, "%s fired: %q", tc.rule, f.Text)
				return
			}
			require.True(t, ok, "%s did not fire; findings: %v", tc.rule, diagRules(fs))
			assert.Equal(t, tc.fixes, f.Fixes)
		})
	}
}

// TestDiagnoseTierText checks the figures and the mechanism the tier's findings name.
func TestDiagnoseTierText(t *testing.T) {
	cases := []struct {
		name     string
		mods     []reporttest.Mod
		rule     string
		contains []string
		absent   []string
	}{
		{"stick table per instance", nil, "tier-affinity", []string{
			"88 of the 92 session losses with an instance on both sides came from another balancer instance than the one that answered the user's login",
			"(4 from the same one, 3 unattributed)", "120 users were answered by more than one instance",
			"the front sends each new connection to the next instance (front: connection)",
			"client-ip-sticky keeps the replica of each client address in a stick table in each instance's own memory",
			"the 2 instances do not share theirs"}, []string{"secret"}},
		{"learn-cookie", []reporttest.Mod{diagStrategy("learn-cookie")}, "tier-affinity",
			[]string{"learn-cookie keeps the replica of each session cookie it learned in a stick table"}, []string{"client address"}},
		{"source front", []reporttest.Mod{func(r *reports.Report) { r.Tier.Front = "source" }}, "tier-affinity",
			[]string{"an address that changes moves the user (front: source)"}, []string{"front: connection"}},
		{"cookie secret per instance", []reporttest.Mod{diagStrategy("cookie-insert"), tierdSecret("per-instance")},
			"tier-affinity", []string{"88 of the 92 session losses",
				"each of the 2 instances signs its affinity cookie with a secret of its own (cookie_secret: per-instance)",
				"could not read it"}, []string{"stick table"}},
		{"staggered scale-out", nil, "tier-change-staggered", []string{
			"scale-out (fault 2) sent 37 users back and forth between replicas while it lasted (4000–4600 ms)",
			"the 2 balancer instances saw the change at different times, each 500 ms after the one before (balancer.stagger)"}, nil},
		{"no stagger configured", []reporttest.Mod{tierdStagger(0)}, "tier-change-staggered",
			[]string{"saw the change at different times, each on its own"}, []string{"balancer.stagger"}},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			fs := diagDiagnose(t, reporttest.Build(reporttest.Tiered(), tc.mods...))
			f, ok := diagFind(fs, tc.rule)
			require.True(t, ok, "%s did not fire; findings: %v", tc.rule, diagRules(fs))
			for _, s := range tc.contains {
				assert.Contains(t, f.Text, s)
			}
			for _, s := range tc.absent {
				assert.NotContains(t, f.Text, s)
			}
		})
	}
}

// The tier's findings come in the rules' order: the tier's affinity before the faults, one finding per fault.
func TestDiagnoseTierOrder(t *testing.T) {
	r := reporttest.Build(reporttest.Tiered(), func(r *reports.Report) { r.Faults[0].FlippedUsers = new(3) })
	rules := diagRules(diagDiagnose(t, r))
	assert.Equal(t, []string{"tier-affinity", "replica-fault-lost-sessions", "tier-change-staggered",
		"tier-change-staggered", "address-affinity"}, rules)
}
