package reports_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/internal/reporttest"
)

// The helpers below carry a "diag" prefix: other test files of the package are written alongside this one.

func diagStrategy(s string) reporttest.Mod {
	return func(r *reports.Report) { r.Balancer.Strategy = s }
}
func diagKind(k string) reporttest.Mod { return func(r *reports.Report) { r.Balancer.Kind = k } }

func diagSessions(s string) reporttest.Mod {
	return func(r *reports.Report) {
		r.App.Sessions = s
		r.Store.Kind = s
	}
}

func diagReplicas(n int) reporttest.Mod { return func(r *reports.Report) { r.App.Replicas = n } }
func diagLogin(l string) reporttest.Mod { return func(r *reports.Report) { r.App.Login = l } }
func diagSecret(s string) reporttest.Mod {
	return func(r *reports.Report) { r.App.Secret = s }
}
func diagCookieName(s string) reporttest.Mod { return func(r *reports.Report) { r.App.CookieName = s } }

// diagFailures makes failed of the login attempts fail, loop of them by a login loop and the rest by the given
// cause.
func diagFailures(failed, loop int, other string) reporttest.Mod {
	return func(r *reports.Report) {
		t := &r.Totals
		t.LoginFailures = failed
		t.LoginFailRate = new(float64(float64(failed) / float64(t.LoginAttempts)))
		r.FailureCauses["loop"] = loop
		if failed > loop {
			r.FailureCauses[other] += failed - loop
		}
	}
}

// diagLoops makes a share of the login attempts fail, every one of them by a login loop.
func diagLoops(rate float64) reporttest.Mod {
	return func(r *reports.Report) {
		n := int(rate*float64(r.Totals.LoginAttempts) + 0.5)
		diagFailures(n, n, "")(r)
	}
}

// diagLosses makes a share of the protected pages lost.
func diagLosses(rate float64) reporttest.Mod {
	return func(r *reports.Report) {
		r.Totals.SessionLosses = int(rate*float64(r.Totals.PageRequests) + 0.5)
		r.Totals.SessionLoss = new(float64(rate))
	}
}

func diagCSRF(n int) reporttest.Mod { return diagFailures(n, 0, "csrf") }

func diagBadCookies(n int) reporttest.Mod { return func(r *reports.Report) { r.Store.BadCookies = n } }

func diagNoStore() reporttest.Mod {
	return func(r *reports.Report) {
		r.Store = nil
		r.Totals.StoreSessions = nil
	}
}

// diagDuplicates makes the store hold ratio sessions per logged-in user, each extra one silently re-authenticated.
func diagDuplicates(ratio float64) reporttest.Mod {
	return func(r *reports.Report) {
		t := &r.Totals
		held := int(ratio*float64(t.UsersLoggedIn) + 0.5)
		t.StoreSessions = new(int(held))
		t.SilentReauths = held - t.UsersLoggedIn
		t.DuplicateRatio = new(float64(ratio))
	}
}

func diagFault(f reports.FaultResult) reporttest.Mod {
	return func(r *reports.Report) {
		f.Index = len(r.Faults)
		r.Faults = append(r.Faults, f)
	}
}

// diagLost is a fault that has ended, with lost of across users losing a session.
func diagLost(action, target string, lost, across int) reports.FaultResult {
	start, end := int64(2000), int64(2500)
	return reports.FaultResult{Action: action, Target: target, At: "2s", StartMs: &start, EndMs: &end,
		UsersAcross: new(int(across)), MovedUsers: new(0), MovedShare: new(float64(0)), UsersLost: new(int(lost))}
}

// diagNoIndexes zeroes every fault's index, as in a report JSON written without them.
func diagNoIndexes() reporttest.Mod {
	return func(r *reports.Report) {
		for i := range r.Faults {
			r.Faults[i].Index = 0
		}
	}
}

func diagWebSocket(reconnects, lost int) reporttest.Mod {
	return func(r *reports.Report) {
		r.WebSocket = &reports.WebSocket{Connections: 300 + reconnects, Reconnects: reconnects, StateLost: lost}
		if reconnects > 0 {
			r.WebSocket.StateLossRate = new(float64(float64(lost) / float64(reconnects)))
		}
	}
}

func diagSkew(maxOverMean float64) reporttest.Mod {
	return func(r *reports.Report) { r.Skew.MaxOverMean = new(float64(maxOverMean)) }
}

func diagNetwork(addresses, hashKeys int) reporttest.Mod {
	return func(r *reports.Report) { r.Network = reports.Network{Addresses: addresses, HashKeys: hashKeys} }
}

func diagErrors(n int) reporttest.Mod { return func(r *reports.Report) { r.Totals.Errors = n } }

// diagUnreachable has the balancer fail over from replica name n times, which then answered nothing.
func diagUnreachable(name string, n int) reporttest.Mod {
	return func(r *reports.Report) {
		for i := range r.Replicas {
			if r.Replicas[i].Name == name {
				r.Replicas[i].Requests, r.Replicas[i].FailedOver = 0, n
			}
		}
	}
}

// diagMarked has the balancer mark name failed n times, with no failover seen (HAProxy's health check took it
// out, and the hash then sent nobody there).
func diagMarked(name string, n int) reporttest.Mod {
	return func(r *reports.Report) {
		for i := range r.Replicas {
			if r.Replicas[i].Name == name {
				r.Replicas[i].Requests, r.Replicas[i].MarkedFailed = 0, n
			}
		}
	}
}

// diagOwn makes the replicas the user's own app, whose sessions sessionlab does not see.
func diagOwn() reporttest.Mod { return func(r *reports.Report) { r.App.Own = true } }

// diagRateLimited has n requests refused for rate, logins of them failing.
func diagRateLimited(n, logins int) reporttest.Mod {
	return func(r *reports.Report) {
		r.Totals.RateLimited = n
		if logins > 0 {
			diagFailures(logins, 0, "rate_limited")(r)
		}
	}
}

func diagStickiness(mean float64) reporttest.Mod {
	return func(r *reports.Report) { r.Stickiness.Mean = new(float64(mean)) }
}

func diagPhases(ps ...reports.Phase) reporttest.Mod { return func(r *reports.Report) { r.Phases = ps } }

// diagDiagnose runs Diagnose and checks what holds for every finding: a rule, a text and a non-nil list of fixes
// (the JSON says [] rather than null).
func diagDiagnose(t *testing.T, r *reports.Report) []reports.Finding {
	t.Helper()
	fs := reports.Diagnose(r)
	require.NotNil(t, fs)
	for _, f := range fs {
		assert.NotEmpty(t, f.Rule)
		assert.NotEmpty(t, f.Text, f.Rule)
		assert.NotNil(t, f.Fixes, f.Rule)
	}
	return fs
}

func diagFind(fs []reports.Finding, rule string) (reports.Finding, bool) {
	for _, f := range fs {
		if f.Rule == rule {
			return f, true
		}
	}
	return reports.Finding{}, false
}

func diagRules(fs []reports.Finding) []string {
	rules := []string{}
	for _, f := range fs {
		rules = append(rules, f.Rule)
	}
	return rules
}

func diagAllFixes(fs []reports.Finding) []string {
	fixes := []string{}
	for _, f := range fs {
		fixes = append(fixes, f.Fixes...)
	}
	return fixes
}

// TestDiagnoseRules gives every rule the figures that trigger it and near-misses that do not.
func TestDiagnoseRules(t *testing.T) {
	ipHashMemory := []reporttest.Mod{diagStrategy("ip-hash")}
	cases := []struct {
		name  string
		mods  []reporttest.Mod
		rule  string
		fires bool
		fixes []string // what the finding's fixes must contain, when it fires
	}{
		// local-sessions-no-affinity: the Wakapi report.
		{"memory round-robin loops", []reporttest.Mod{diagLoops(0.70)}, "local-sessions-no-affinity", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"memory least-conn loops", []reporttest.Mod{diagStrategy("least-conn"), diagLoops(0.70)}, "local-sessions-no-affinity", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"memory round-robin losses only", []reporttest.Mod{diagLosses(0.67)}, "local-sessions-no-affinity", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"memory round-robin loops at the threshold", []reporttest.Mod{diagLoops(0.05)}, "local-sessions-no-affinity", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"memory cookie-insert loops", []reporttest.Mod{diagStrategy("cookie-insert"), diagLoops(0.70), diagLosses(0.67)},
			"local-sessions-no-affinity", false, nil},
		{"memory ip-hash loops", []reporttest.Mod{diagStrategy("ip-hash"), diagLoops(0.70), diagLosses(0.67)},
			"local-sessions-no-affinity", false, nil},
		{"redis round-robin loops", []reporttest.Mod{diagSessions("redis"), diagLoops(0.70), diagLosses(0.67)},
			"local-sessions-no-affinity", false, nil},
		// Your own app: sessionlab does not see where sessions live, so the finding names both mechanisms.
		{"own app round-robin loops", []reporttest.Mod{diagOwn(), diagLoops(0.70), diagStickiness(0.4)}, "session-not-accepted-elsewhere", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore, reports.FixSameKeyOwn}},
		{"own app: not the built-in app's sentence", []reporttest.Mod{diagOwn(), diagLoops(0.70)}, "local-sessions-no-affinity", false, nil},
		{"own app cookie-insert loops", []reporttest.Mod{diagOwn(), diagStrategy("cookie-insert"), diagLoops(0.70)},
			"session-not-accepted-elsewhere", false, nil},
		// rate-limited: a per-address limit behind the balancer (Wakapi's login limit).
		{"logins refused for rate", []reporttest.Mod{diagRateLimited(70, 70)}, "rate-limited", true,
			[]string{reports.FixTrustForwarded, reports.FixRaiseLimit}},
		{"no refusal for rate", nil, "rate-limited", false, nil},
		// topology-differs: the balancer failed over from a replica no fault took down.
		{"failovers from an unreachable replica", []reporttest.Mod{diagUnreachable("replica-1", 12)}, "topology-differs", true, nil},
		{"a replica the balancer marked failed", []reporttest.Mod{diagMarked("replica-1", 2)}, "topology-differs", true, nil},
		{"failovers from a killed replica", []reporttest.Mod{diagUnreachable("replica-1", 12), diagFault(diagLost("kill", "replica-1", 90, 280))},
			"topology-differs", false, nil},
		{"memory round-robin failure rate 0.01", []reporttest.Mod{diagLoops(0.01)}, "local-sessions-no-affinity", false, nil},
		{"memory round-robin failures mostly not loops", []reporttest.Mod{diagFailures(210, 100, "rejected")},
			"local-sessions-no-affinity", false, nil},

		// per-replica-key: the caddy-security report.
		{"cookie per-replica bad cookies", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica"), diagLoops(0.70),
			diagBadCookies(1098)}, "per-replica-key", true, []string{reports.FixSameKey, reports.FixCookieAffinity}},
		{"cookie per-replica bad cookies no failures", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica"),
			diagBadCookies(12)}, "per-replica-key", true, []string{reports.FixSameKey, reports.FixCookieAffinity}},
		{"cookie per-replica loops without a store record", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica"),
			diagLoops(0.70), diagNoStore()}, "per-replica-key", true, []string{reports.FixSameKey, reports.FixCookieAffinity}},
		{"redis per-replica bad cookies", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagLoops(0.70),
			diagBadCookies(1098)}, "per-replica-key", false, nil},
		{"cookie shared secret bad cookies", []reporttest.Mod{diagSessions("cookie"), diagBadCookies(5)}, "per-replica-key", false, nil},
		{"cookie per-replica no bad cookies no failures", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica")},
			"per-replica-key", false, nil},

		// login-state-elsewhere.
		{"csrf 5% memory", []reporttest.Mod{diagLogin("form-csrf"), diagCSRF(15)}, "login-state-elsewhere", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"csrf 5% redis", []reporttest.Mod{diagSessions("redis"), diagLogin("form-csrf"), diagCSRF(15)}, "login-state-elsewhere", true,
			[]string{reports.FixCookieAffinity, reports.FixSameKey}},
		{"csrf just under 5%", []reporttest.Mod{diagLogin("form-csrf"), diagCSRF(14)}, "login-state-elsewhere", false, nil},
		{"csrf without login attempts", []reporttest.Mod{func(r *reports.Report) {
			r.Totals.LoginAttempts, r.Totals.LoginFailRate = 0, nil
			r.FailureCauses["csrf"] = 20
		}}, "login-state-elsewhere", false, nil},

		// duplicate-sessions: the OAuth2-Proxy report.
		{"duplicates per-replica secret", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagDuplicates(1.99)},
			"duplicate-sessions", true, []string{reports.FixSameSecretName, reports.FixIPHashStopGap}},
		{"duplicates per-replica cookie name at the threshold", []reporttest.Mod{diagSessions("redis"), diagCookieName("per-replica"),
			diagDuplicates(1.2)}, "duplicate-sessions", true, []string{reports.FixSameSecretName, reports.FixIPHashStopGap}},
		{"ratio 1.0 per-replica", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagCookieName("per-replica"),
			diagDuplicates(1.0)}, "duplicate-sessions", false, nil},
		{"ratio 1.19 per-replica", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagDuplicates(1.19)},
			"duplicate-sessions", false, nil},
		{"ratio 2 everything shared", []reporttest.Mod{diagSessions("redis"), diagDuplicates(2)}, "duplicate-sessions", false, nil},
		{"ratio null per-replica", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), func(r *reports.Report) {
			r.Totals.DuplicateRatio = nil
		}}, "duplicate-sessions", false, nil},

		// replica-fault-lost-sessions.
		{"kill replica-2 memory", []reporttest.Mod{diagLosses(0.03), diagFault(diagLost("kill", "replica-2", 95, 280))},
			"replica-fault-lost-sessions", true, []string{reports.FixSharedStore}},
		{"rolling-restart memory", []reporttest.Mod{diagFault(diagLost("rolling-restart", "replicas", 200, 290))},
			"replica-fault-lost-sessions", true, []string{reports.FixSharedStore}},
		{"kill replica-2 redis", []reporttest.Mod{diagSessions("redis"), diagLosses(0.03),
			diagFault(diagLost("kill", "replica-2", 95, 280))}, "replica-fault-lost-sessions", false, nil},
		{"kill replica-2 nobody lost", []reporttest.Mod{diagFault(diagLost("kill", "replica-2", 0, 280))},
			"replica-fault-lost-sessions", false, nil},
		{"kill replica-2 never ended", []reporttest.Mod{diagFault(reports.FaultResult{Action: "kill", Target: "replica-2", At: "2s"})},
			"replica-fault-lost-sessions", false, nil},
		{"restart-store is not a replica fault", []reporttest.Mod{diagFault(diagLost("restart-store", "redis", 95, 280))},
			"replica-fault-lost-sessions", false, nil},

		// store-restart: the nginx + Redis report.
		{"restart-store users lost", []reporttest.Mod{diagSessions("redis"), diagLosses(0.1),
			diagFault(diagLost("restart-store", "redis", 298, 300))}, "store-restart", true,
			[]string{reports.FixStorePersist, reports.FixStoreReplicas}},
		{"restart-store nobody lost", []reporttest.Mod{diagSessions("redis"), diagFault(diagLost("restart-store", "redis", 0, 300))},
			"store-restart", false, nil},
		{"restart-store never ended", []reporttest.Mod{diagSessions("redis"),
			diagFault(reports.FaultResult{Action: "restart-store", Target: "redis", At: "2s"})}, "store-restart", false, nil},
		{"restart-store among faults without indexes", []reporttest.Mod{diagSessions("redis"), diagLosses(0.1),
			diagFault(reports.FaultResult{Action: "kill", Target: "replica-2", At: "1s"}),
			diagFault(diagLost("restart-store", "redis", 298, 300)), diagNoIndexes()}, "store-restart", true,
			[]string{reports.FixStorePersist, reports.FixStoreReplicas}},
		{"kill replica is no store restart", []reporttest.Mod{diagSessions("redis"), diagFault(diagLost("kill", "replica-2", 95, 280))},
			"store-restart", false, nil},

		// websocket-state-elsewhere: the nginx ip_hash / sticky cookie report.
		{"websocket state lost", []reporttest.Mod{diagWebSocket(600, 510)}, "websocket-state-elsewhere", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedState}},
		{"websocket state lost at the threshold", []reporttest.Mod{diagWebSocket(600, 30)}, "websocket-state-elsewhere", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedState}},
		{"websocket state lost under the threshold", []reporttest.Mod{diagWebSocket(600, 29)}, "websocket-state-elsewhere", false, nil},
		{"websocket without reconnects", []reporttest.Mod{diagWebSocket(0, 0)}, "websocket-state-elsewhere", false, nil},
		{"no websocket", nil, "websocket-state-elsewhere", false, nil},

		// affinity-broken.
		{"hash-cookie loops", []reporttest.Mod{diagStrategy("hash-cookie"), diagLoops(0.65)}, "affinity-broken", true,
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"cookie-insert loops (cookies not kept)", []reporttest.Mod{diagStrategy("cookie-insert"), diagLoops(0.3)}, "affinity-broken", true,
			[]string{reports.FixSharedStore}},
		{"round-robin loops are not broken affinity", []reporttest.Mod{diagLoops(0.65)}, "affinity-broken", false, nil},
		{"hash-cookie with redis sessions", []reporttest.Mod{diagStrategy("hash-cookie"), diagLoops(0.65), diagSessions("redis")}, "affinity-broken", false, nil},
		{"hash-cookie without failures", []reporttest.Mod{diagStrategy("hash-cookie")}, "affinity-broken", false, nil},
		// few-hash-keys.
		{"ip-hash skew few keys", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(2.1), diagNetwork(300, 3)}, "few-hash-keys", true,
			[]string{reports.FixCookieBalancing}},
		{"ip-hash skew at the threshold", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(1.3), diagNetwork(300, 4)}, "few-hash-keys", true,
			[]string{reports.FixCookieBalancing}},
		{"ip-hash front proxy", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(3), diagNetwork(1, 1)}, "few-hash-keys", true,
			[]string{reports.FixCookieBalancing}},
		{"client-ip-sticky skew", []reporttest.Mod{diagStrategy("client-ip-sticky"), diagSkew(1.8), diagNetwork(4, 4)}, "few-hash-keys", true,
			[]string{reports.FixCookieBalancing}},
		{"round-robin same skew", []reporttest.Mod{diagSkew(2.1), diagNetwork(300, 3)}, "few-hash-keys", false, nil},
		// 3 replicas: 30 keys are still few, 31 are enough to spread; skew then has another cause (a fault).
		{"ip-hash skew 30 keys", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(1.5), diagNetwork(300, 30)}, "few-hash-keys", true,
			[]string{reports.FixCookieBalancing}},
		{"ip-hash skew many keys", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(1.5), diagNetwork(300, 31)}, "few-hash-keys", false, nil},
		{"client-ip-sticky skew many addresses", []reporttest.Mod{diagStrategy("client-ip-sticky"), diagSkew(1.5), diagNetwork(300, 3)},
			"few-hash-keys", false, nil},
		{"ip-hash skew under the threshold", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(1.29), diagNetwork(300, 3)},
			"few-hash-keys", false, nil},
		{"ip-hash skew null", []reporttest.Mod{diagStrategy("ip-hash"), diagNetwork(300, 3), func(r *reports.Report) {
			r.Skew = reports.Skew{}
		}}, "few-hash-keys", false, nil},

		// errors.
		{"errors 1%", []reporttest.Mod{diagErrors(39)}, "errors", true, []string{}},
		{"errors under 1%", []reporttest.Mod{diagErrors(38)}, "errors", false, nil},

		// healthy.
		{"healthy", nil, "healthy", true, []string{}},
		{"one rejected login is not healthy", []reporttest.Mod{diagFailures(1, 0, "rejected")}, "healthy", false, nil},
		{"one lost page is not healthy", []reporttest.Mod{func(r *reports.Report) { r.Totals.SessionLosses = 1 }}, "healthy", false, nil},
		{"another finding is not healthy", []reporttest.Mod{diagErrors(39)}, "healthy", false, nil},

		// address-affinity.
		{"ip-hash memory", ipHashMemory, "address-affinity", true, []string{reports.FixCookieBalancing, reports.FixSharedState}},
		{"client-ip-sticky memory", []reporttest.Mod{diagStrategy("client-ip-sticky")}, "address-affinity", true,
			[]string{reports.FixCookieBalancing, reports.FixSharedState}},
		{"ip-hash redis websocket", []reporttest.Mod{diagStrategy("ip-hash"), diagSessions("redis"), diagWebSocket(600, 0)},
			"address-affinity", true, []string{reports.FixCookieBalancing, reports.FixSharedState}},
		{"ip-hash redis no websocket", []reporttest.Mod{diagStrategy("ip-hash"), diagSessions("redis")}, "address-affinity", false, nil},
		{"ip-hash memory few hash keys", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(2.1), diagNetwork(300, 3)},
			"address-affinity", false, nil},
		{"round-robin memory", nil, "address-affinity", false, nil},
		{"cookie-insert memory", []reporttest.Mod{diagStrategy("cookie-insert")}, "address-affinity", false, nil},

		// shared-store.
		{"redis", []reporttest.Mod{diagSessions("redis")}, "shared-store", true,
			[]string{reports.FixStorePersist, reports.FixStoreReplicas}},
		{"redis after a store restart", []reporttest.Mod{diagSessions("redis"), diagLosses(0.1),
			diagFault(diagLost("restart-store", "redis", 298, 300))}, "shared-store", false, nil},
		{"redis with duplicates", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagDuplicates(1.99)},
			"shared-store", false, nil},
		{"memory", nil, "shared-store", false, nil},
		{"cookie", []reporttest.Mod{diagSessions("cookie")}, "shared-store", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			var fs []reports.Finding
			require.NotPanics(t, func() { fs = diagDiagnose(t, reporttest.Build(reporttest.Healthy(), tc.mods...)) })
			f, ok := diagFind(fs, tc.rule)
			if !tc.fires {
				assert.False(t, ok, "%s fired: %q", tc.rule, f.Text)
				return
			}
			require.True(t, ok, "%s did not fire; findings: %v", tc.rule, diagRules(fs))
			assert.Subset(t, f.Fixes, tc.fixes)
			if len(tc.fixes) == 0 {
				assert.Empty(t, f.Fixes)
			}
		})
	}
}

// TestDiagnoseText checks the numbers and wording the findings' texts carry.
func TestDiagnoseText(t *testing.T) {
	cases := []struct {
		name     string
		mods     []reporttest.Mod
		rule     string
		contains []string
		absent   []string
	}{
		{"local sessions", []reporttest.Mod{diagLoops(0.70), diagLosses(0.67)}, "local-sessions-no-affinity",
			[]string{"70% of logins failed", "210 bounced", "67% of protected pages", "round-robin keeps no affinity"}, nil},
		{"per-replica key", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica"), diagLoops(0.70), diagBadCookies(1098)},
			"per-replica-key", []string{"1098 session cookies", "70% of logins failed", "210 bounced"}, nil},
		{"csrf form", []reporttest.Mod{diagLogin("form-csrf"), diagCSRF(30)}, "login-state-elsewhere",
			[]string{"30 of 300 login submissions", "CSRF token"}, []string{"identity provider"}},
		{"csrf sso", []reporttest.Mod{diagLogin("sso"), diagCSRF(45)}, "login-state-elsewhere",
			[]string{"45 of 300 login submissions", "identity provider"}, []string{"CSRF"}},
		{"duplicates with a store record", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagDuplicates(1.99)},
			"duplicate-sessions", []string{"1.99 sessions per logged-in user", "(597 for 300 users)", "after 297 silent"}, nil},
		{"duplicates without a store record", []reporttest.Mod{diagSessions("redis"), diagSecret("per-replica"), diagNoStore(),
			func(r *reports.Report) {
				r.Totals.SessionsCreated, r.Totals.SilentReauths, r.Totals.DuplicateRatio = 450, 150, new(1.5)
			}}, "duplicate-sessions", []string{"1.50 sessions per logged-in user", "(450 for 300 users)", "after 150 silent"}, nil},
		{"kill replica-2", []reporttest.Mod{diagFault(func() reports.FaultResult {
			f := diagLost("kill", "replica-2", 95, 280)
			f.UsersOnTarget, f.LostOnTarget, f.LostElsewhere, f.MovedUsers = new(93), new(90), new(5), new(93)
			return f
		}())}, "replica-fault-lost-sessions", []string{"kill replica-2 (fault 1)", "cost 95 of the 280 users",
			"90 of them users of replica-2", "93 users were moved"}, nil},
		{"kill replica-2 nobody moved", []reporttest.Mod{diagFault(diagLost("kill", "replica-2", 95, 280))},
			"replica-fault-lost-sessions", []string{"kill replica-2 (fault 1)", "cost 95 of the 280 users"},
			[]string{"moved", "of them users of"}},
		{"scale-in second fault", []reporttest.Mod{diagFault(diagLost("scale-out", "", 0, 280)), diagFault(diagLost("scale-in", "", 40, 270))},
			"replica-fault-lost-sessions", []string{"scale-in (fault 2)", "cost 40 of the 270 users"}, []string{"consistent-hash ring"}},
		{"scale-out under cookie-balanced", []reporttest.Mod{diagStrategy("cookie-balanced"), diagFault(diagLost("scale-out", "", 61, 300))},
			"replica-fault-lost-sessions", []string{"cost 61 of the 300 users", "consistent-hash ring of the replicas in service",
				"nothing rewrote the cookie"}, nil},
		{"restart-store", []reporttest.Mod{diagSessions("redis"), diagFault(diagLost("kill", "replica-1", 0, 300)),
			diagFault(diagLost("restart-store", "redis", 298, 300))}, "store-restart",
			[]string{"(fault 2)", "logged out 298 of the 300 users"}, nil},
		{"websocket", []reporttest.Mod{diagWebSocket(600, 510)}, "websocket-state-elsewhere",
			[]string{"510 of 600 WebSocket reconnects", "round-robin sent"}, nil},
		{"few hash keys ip-hash", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(2.1), diagNetwork(300, 3)}, "few-hash-keys",
			[]string{"2.10× the mean", "ip-hash keys an IPv4 client on its /24", "only 3 such networks (300 addresses)"}, nil},
		{"few hash keys front proxy", []reporttest.Mod{diagStrategy("ip-hash"), diagSkew(3), diagNetwork(1, 1)}, "few-hash-keys",
			[]string{"3.00× the mean", "one address", "CDN or a proxy", "gives ip-hash a single key"}, []string{"/24"}},
		{"few hash keys client-ip-sticky", []reporttest.Mod{diagStrategy("client-ip-sticky"), diagSkew(1.8), diagNetwork(4, 2)},
			"few-hash-keys", []string{"1.80× the mean", "client-IP stickiness keys on the address", "only 4 addresses"},
			[]string{"/24"}},
		{"own app loops", []reporttest.Mod{diagOwn(), diagLoops(0.70), diagStickiness(0.4)}, "session-not-accepted-elsewhere",
			[]string{"70% of logins failed", "did not accept the session the login had just created", "stickiness mean 0.400",
				"sessions kept in one process's memory", "a key or secret that differs per process"},
			[]string{"each replica keeps its sessions"}},
		{"unreachable replica", []reporttest.Mod{diagUnreachable("replica-1", 12)}, "topology-differs",
			[]string{"12 answers came from another replica than the one it picked first (replica-1 12)",
				"2 of its 3 replicas answered anything", "not the scenario's topology"}, nil},
		{"own app csrf", []reporttest.Mod{diagOwn(), diagCSRF(45)}, "login-state-elsewhere",
			[]string{"45 of 300 logins were refused with 403", "single sign-on callback", "lived in the other replica's memory",
				"signed with a key that differs per replica"}, []string{"forged"}},
		{"own app losses without loops", []reporttest.Mod{diagOwn(), diagLosses(0.5)}, "session-not-accepted-elsewhere",
			[]string{"50% of protected pages were lost: round-robin spread each user"}, []string{"bounced"}},
		{"rate limited", []reporttest.Mod{diagRateLimited(70, 70), diagNetwork(300, 120)}, "rate-limited",
			[]string{"70 of 3900 requests were refused for rate (429, or 503 with Retry-After)", "failing 70 of 300 logins",
				"came from 300 addresses", "balancer's address for all of them"}, nil},
		{"errors without phases", []reporttest.Mod{diagErrors(39)}, "errors", []string{"39 of 3900 requests"},
			[]string{"while a fault"}},
		{"errors during faults", []reporttest.Mod{diagErrors(60), diagPhases(
			reports.Phase{Name: "before", Figures: reports.Figures{Errors: 5}},
			reports.Phase{Name: "during kill replica-2", Figures: reports.Figures{Errors: 30}},
			reports.Phase{Name: "after kill replica-2", Figures: reports.Figures{Errors: 4}},
			reports.Phase{Name: "during restart-store redis", Figures: reports.Figures{Errors: 21}},
		)}, "errors", []string{"60 of 3900 requests", "51 of them while a fault was under way"}, nil},
		{"errors outside faults", []reporttest.Mod{diagErrors(60), diagPhases(
			reports.Phase{Name: "before", Figures: reports.Figures{Errors: 50}},
			reports.Phase{Name: "during kill replica-2", Figures: reports.Figures{Errors: 0}},
			reports.Phase{Name: "after kill replica-2", Figures: reports.Figures{Errors: 10}},
		)}, "errors", []string{"60 of 3900 requests"}, []string{"while a fault"}},
		{"address affinity ip-hash", []reporttest.Mod{diagStrategy("ip-hash")}, "address-affinity",
			[]string{"ip-hash holds users", "(120 keys for 300 addresses)"}, nil},
		{"address affinity caddy ip-hash", []reporttest.Mod{diagStrategy("ip-hash"), diagKind("caddy")}, "address-affinity",
			// Caddy's client_ip_hash, like HAProxy's balance source, hashes the whole address.
			[]string{"ip-hash holds users", "(300 keys for 300 addresses)"}, nil},
		{"few hash keys haproxy ip-hash", []reporttest.Mod{diagStrategy("ip-hash"), diagKind("haproxy"), diagSkew(1.8), diagNetwork(4, 2)},
			"few-hash-keys", []string{"haproxy's ip-hash hashes the whole address", "only 4 addresses"}, []string{"/24"}},
		{"address affinity client-ip-sticky", []reporttest.Mod{diagStrategy("client-ip-sticky")}, "address-affinity",
			// HAProxy sticks on the whole source address: the keys are the addresses, not nginx's /24s.
			[]string{"client-ip-sticky holds users", "(300 keys for 300 addresses)"}, nil},
		{"healthy counts", nil, "healthy", []string{"across 300 users and 3900 requests"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			fs := diagDiagnose(t, reporttest.Build(reporttest.Healthy(), tc.mods...))
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

// TestDiagnoseHealthy checks each reason the healthy finding gives for a run where nothing went wrong.
func TestDiagnoseHealthy(t *testing.T) {
	cases := []struct {
		name  string
		mods  []reporttest.Mod
		why   string
		rules []string
	}{
		{"one replica", []reporttest.Mod{diagReplicas(1)}, "there is one replica", []string{"healthy"}},
		{"one replica with redis", []reporttest.Mod{diagReplicas(1), diagSessions("redis")}, "there is one replica",
			[]string{"healthy", "shared-store"}},
		{"redis", []reporttest.Mod{diagSessions("redis")}, "every replica reads sessions from the same store",
			[]string{"healthy", "shared-store"}},
		{"cookie with a shared secret", []reporttest.Mod{diagSessions("cookie")}, "the session travels in a cookie every replica can open",
			[]string{"healthy"}},
		{"cookie-insert", []reporttest.Mod{diagStrategy("cookie-insert")},
			"cookie-insert kept every user on the replica that created the session (stickiness 1.000)", []string{"healthy"}},
		{"hash-cookie", []reporttest.Mod{diagStrategy("hash-cookie"), func(r *reports.Report) { r.Stickiness.Mean = new(0.995) }},
			"hash-cookie kept every user on the replica that created the session (stickiness 0.995)", []string{"healthy"}},
		{"ip-hash", []reporttest.Mod{diagStrategy("ip-hash")},
			"ip-hash kept every user on the replica that created the session (stickiness 1.000)",
			[]string{"healthy", "address-affinity"}},
		{"affinity without stickiness figure", []reporttest.Mod{diagStrategy("cookie-insert"), func(r *reports.Report) {
			r.Stickiness = reports.Stickiness{}
		}}, "cookie-insert kept every user on the replica that created the session (stickiness n/a)", []string{"healthy"}},
		{"memory round-robin", nil, "every user stayed on the replica that knew the session", []string{"healthy"}},
		// Your own app: what held, as seen.
		{"own app spread over replicas", []reporttest.Mod{diagOwn(), diagStickiness(0.35)},
			"round-robin spread each user over the replicas (stickiness mean 0.350) and every replica accepted every session", []string{"healthy"}},
		{"own app one replica per user", []reporttest.Mod{diagOwn()}, "each user stayed on one replica (stickiness 1.000)", []string{"healthy"}},
		{"own app single sign-on", []reporttest.Mod{diagOwn(), func(r *reports.Report) { r.Stickiness = reports.Stickiness{} }},
			"under round-robin every replica a user reached accepted the user's session", []string{"healthy"}},
		{"own app with a store", []reporttest.Mod{diagOwn(), diagSessions("redis"), diagStickiness(0.35)},
			"round-robin spread each user over the replicas (stickiness mean 0.350) and every replica accepted every session",
			[]string{"healthy", "shared-store"}},
		{"duplicates with everything shared", []reporttest.Mod{diagSessions("redis"), diagDuplicates(2)},
			"every replica reads sessions from the same store", []string{"healthy", "shared-store"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := diagDiagnose(t, reporttest.Build(reporttest.Healthy(), tc.mods...))
			assert.Equal(t, tc.rules, diagRules(fs))
			f, ok := diagFind(fs, "healthy")
			require.True(t, ok)
			assert.Contains(t, f.Text, "No login failed and no session was lost")
			assert.Contains(t, f.Text, ": "+tc.why+".")
			assert.Empty(t, f.Fixes)
		})
	}
}

// TestDiagnoseSkippedAndEmpty: a skipped variant carries no figures and gets no findings; a run that made no
// request (every figure null) gets no verdict that it was healthy, and nothing panics on the nulls.
func TestDiagnoseSkippedAndEmpty(t *testing.T) {
	t.Run("skipped", func(t *testing.T) {
		fs := reports.Diagnose(reports.Skipped("haproxy", "hash-cookie", "haproxy has no hash-cookie here"))
		require.NotNil(t, fs)
		assert.Empty(t, fs)
	})
	t.Run("skipped with figures that would fire", func(t *testing.T) {
		r := reporttest.Build(reporttest.Healthy(), diagLoops(0.70), diagErrors(100), diagWebSocket(600, 510))
		r.Skipped = "not run"
		fs := reports.Diagnose(r)
		require.NotNil(t, fs)
		assert.Empty(t, fs)
	})

	// nullReport has a topology and nothing else: no request was made, every figure is null or zero.
	nullReport := func(mods ...reporttest.Mod) *reports.Report {
		r := &reports.Report{Schema: reports.Schema, Scenario: "empty",
			Balancer: events.Balancer{Kind: "nginx", Strategy: "round-robin"},
			App:      events.App{Replicas: 3, Sessions: "memory", Login: "form", Secret: "shared", CookieName: "shared"},
			Faults: []reports.FaultResult{
				{Index: 0, Action: "kill", Target: "replica-2", At: "2s"},
				{Index: 1, Action: "restart-store", Target: "redis", At: "4s"},
			},
			WebSocket: &reports.WebSocket{},
		}
		for _, m := range mods {
			m(r)
		}
		return r
	}
	setApp := func(a events.App) reporttest.Mod { return func(r *reports.Report) { r.App = a } }
	cases := []struct {
		name string
		r    *reports.Report
	}{
		{"zero value", &reports.Report{}},
		{"memory round-robin", nullReport()},
		{"memory ip-hash", nullReport(diagStrategy("ip-hash"))},
		{"client-ip-sticky front proxy", nullReport(diagStrategy("client-ip-sticky"), diagNetwork(1, 1))},
		{"redis sso per-replica", nullReport(setApp(events.App{Replicas: 2, Sessions: "redis", Login: "sso",
			Secret: "per-replica", CookieName: "per-replica"}))},
		{"cookie per-replica", nullReport(setApp(events.App{Replicas: 3, Sessions: "cookie", Login: "form-csrf",
			Secret: "per-replica", CookieName: "shared"}))},
		{"no websocket", nullReport(func(r *reports.Report) { r.WebSocket = nil })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fs []reports.Finding
			require.NotPanics(t, func() { fs = diagDiagnose(t, tc.r) })
			_, healthy := diagFind(fs, "healthy")
			assert.False(t, healthy)
			for _, rule := range []string{"local-sessions-no-affinity", "per-replica-key", "login-state-elsewhere",
				"duplicate-sessions", "replica-fault-lost-sessions", "store-restart", "websocket-state-elsewhere",
				"few-hash-keys", "errors"} {
				_, ok := diagFind(fs, rule)
				assert.False(t, ok, "%s fired on a run without figures", rule)
			}
		})
	}
}

// TestDiagnoseDeterministic: the same report gives the same findings, and Diagnose leaves the report alone.
func TestDiagnoseDeterministic(t *testing.T) {
	build := func() *reports.Report {
		return reporttest.Build(reporttest.Healthy(), diagStrategy("ip-hash"), diagSecret("per-replica"), diagCookieName("per-replica"),
			diagLogin("form-csrf"), diagLoops(0.30), diagCSRF(40), diagLosses(0.2), diagBadCookies(17), diagDuplicates(1.5),
			diagFault(diagLost("kill", "replica-2", 20, 280)), diagFault(diagLost("restart-store", "redis", 10, 270)),
			diagWebSocket(600, 300), diagSkew(1.6), diagNetwork(40, 2), diagErrors(200),
			diagPhases(reports.Phase{Name: "during kill replica-2", Figures: reports.Figures{Errors: 150}}))
	}
	r := build()
	first := reports.Diagnose(r)
	second := reports.Diagnose(r)
	assert.Equal(t, first, second)
	assert.Equal(t, first, reports.Diagnose(build()))
	assert.Equal(t, build(), r, "Diagnose changed the report")
	assert.GreaterOrEqual(t, len(first), 5)
}

// TestDiagnoseCatalog gives Diagnose each row of docs/contract.md's table of real reports, with the figures our runs
// measured, and checks that it names the fixes the report's "known fixes" column names.
func TestDiagnoseCatalog(t *testing.T) {
	oauth2Proxy := func(r *reports.Report) {
		r.App = events.App{Replicas: 2, Sessions: "redis", Login: "sso", Secret: "per-replica", CookieName: "per-replica"}
		r.Replicas = r.Replicas[:2]
		r.Totals = reports.Totals{
			Users:           1000,
			Figures:         reports.Figures{Requests: 14000, LoginAttempts: 1000, LoginFailRate: new(float64(0)), PageRequests: 10000, SessionLoss: new(float64(0))},
			SilentReauths:   1994,
			StoreSessions:   new(1988),
			SessionsCreated: 1000,
			UsersLoggedIn:   1000,
			DuplicateRatio:  new(1.988),
		}
		r.Store.Kind, r.Store.Sessions, r.Store.SilentReauths = "redis", 1988, 1994
	}
	cases := []struct {
		name  string
		mods  []reporttest.Mod
		rules []string
		fixes []string
	}{
		{"Wakapi on Kubernetes", []reporttest.Mod{diagLoops(0.70), diagLosses(0.67)},
			[]string{"local-sessions-no-affinity"},
			[]string{reports.FixCookieAffinity, reports.FixSharedStore}},
		{"caddy-security", []reporttest.Mod{diagSessions("cookie"), diagSecret("per-replica"), diagLoops(0.70), diagBadCookies(1098)},
			[]string{"per-replica-key"},
			[]string{reports.FixCookieAffinity, reports.FixSameKey}},
		{"OAuth2-Proxy + Redis", []reporttest.Mod{oauth2Proxy},
			[]string{"duplicate-sessions"},
			[]string{reports.FixSameSecretName, reports.FixIPHashStopGap}},
		{"nginx + Redis session sharing", []reporttest.Mod{diagSessions("redis")},
			[]string{"healthy", "shared-store"},
			[]string{reports.FixStorePersist, reports.FixStoreReplicas}},
		{"nginx + Redis, store restarted without persistence", []reporttest.Mod{diagSessions("redis"), diagLosses(0.0993),
			diagFault(diagLost("restart-store", "redis", 298, 300))},
			[]string{"store-restart"},
			[]string{reports.FixStorePersist, reports.FixStoreReplicas}},
		{"WebSocket under ip_hash", []reporttest.Mod{diagSessions("redis"), diagStrategy("ip-hash"), diagWebSocket(600, 0),
			diagSkew(1.02)},
			[]string{"healthy", "address-affinity", "shared-store"},
			[]string{reports.FixCookieBalancing, reports.FixSharedState}},
		{"WebSocket under round-robin", []reporttest.Mod{diagSessions("redis"), diagWebSocket(600, 510)},
			[]string{"websocket-state-elsewhere", "shared-store"},
			[]string{reports.FixCookieAffinity, reports.FixSharedState}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := diagDiagnose(t, reporttest.Build(reporttest.Healthy(), tc.mods...))
			assert.Equal(t, tc.rules, diagRules(fs))
			assert.Subset(t, diagAllFixes(fs), tc.fixes)
		})
	}
}
