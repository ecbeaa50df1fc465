package scenarios_test

import (
	"fmt"
	"testing"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The catalog's scenarios for each real report, each run as written (its expect block must hold) and with the
// fixes scenarios/README.md lists for it, on both runtimes.

// assertExpectationsMet fails for every expectation of the scenario's own expect block that the run did not meet.
func assertExpectationsMet(t *testing.T, rep *reports.Report) {
	t.Helper()
	require.NotEmpty(t, rep.Expectations, "the catalog scenario has an expect block")
	for _, e := range rep.Expectations {
		got := "null"
		if e.Got != nil {
			got = fmt.Sprint(*e.Got)
		}
		assert.True(t, e.OK, "expect %s %s, got %s (failure causes %v)", e.Key, e.Want, got, rep.FailureCauses)
	}
}

// assertNamesFixes fails unless the report's diagnosis names every fix scenarios/README.md lists for the scenario.
func assertNamesFixes(t *testing.T, rep *reports.Report, fixes ...string) {
	t.Helper()
	var named []string
	for _, f := range rep.Diagnosis {
		named = append(named, f.Fixes...)
	}
	for _, fix := range fixes {
		assert.Contains(t, named, fix, "the diagnosis names the fix; it said %v", rep.Diagnosis)
	}
}

func failRate(t *testing.T, rep *reports.Report) float64 {
	t.Helper()
	require.NotNil(t, rep.Totals.LoginFailRate)
	return *rep.Totals.LoginFailRate
}

func TestWakapiRoundRobin(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		t.Run("memory sessions loop", func(t *testing.T) {
			rep, _ := runOn(t, rt, "wakapi-round-robin.yaml")
			assertExpectationsMet(t, rep)
			assertNamesFixes(t, rep, reports.FixCookieAffinity, reports.FixSharedStore)
			assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["loop"], "every failure is a login loop")
		})
		for _, fix := range []string{"balancer.strategy=cookie-insert", "app.sessions=redis"} {
			t.Run("fixed by "+fix, func(t *testing.T) {
				rep, _ := runOn(t, rt, "wakapi-round-robin.yaml", fix)
				assert.Zero(t, failRate(t, rep))
				assert.Zero(t, rep.Totals.SessionLosses)
			})
		}
	})
	// Wakapi's own mechanism: a login cookie sealed with each process's random key, cleared by a replica that cannot
	// open it, so that returning to the replica that made it no longer helps.
	t.Run("cookie cleared by the replica that cannot open it", func(t *testing.T) {
		wakapi := []string{"app.sessions=cookie", "app.secret=per-replica"}
		kept, _ := run(t, "wakapi-round-robin.yaml", wakapi...)
		cleared, evs := run(t, "wakapi-round-robin.yaml", append(wakapi, "app.clear_bad_cookie=true")...)
		assert.GreaterOrEqual(t, failRate(t, cleared), 0.5)
		require.NotNil(t, cleared.Totals.SessionLoss)
		require.NotNil(t, kept.Totals.SessionLoss)
		assert.Greater(t, *cleared.Totals.SessionLoss, *kept.Totals.SessionLoss+0.1,
			"a cleared cookie is lost for good: more pages bounce than when the browser keeps it")
		// Once a replica cleared the cookie, no later page of that login succeeds, wherever it lands.
		for user, evs := range pagesByUserAttempt(evs) {
			lost := false
			for _, e := range evs {
				if lost {
					require.Equal(t, events.OutcomeLoss, e.Outcome, "user %d: after a cleared cookie every page bounces", user.user)
				}
				lost = lost || e.Outcome == events.OutcomeLoss
			}
		}
	})
}

type userAttempt struct{ user, attempt int }

// pagesByUserAttempt groups page events by user and by the login they followed.
func pagesByUserAttempt(evs []events.Event) map[userAttempt][]events.Event {
	out := map[userAttempt][]events.Event{}
	attempt := map[int]int{}
	for _, e := range evs {
		switch e.Step {
		case events.StepLogin:
			attempt[e.User] = e.Attempt
		case events.StepPage:
			k := userAttempt{e.User, attempt[e.User]}
			out[k] = append(out[k], e)
		}
	}
	return out
}

func TestCaddySecurityReplicas(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		t.Run("per-replica keys refuse each other's tokens", func(t *testing.T) {
			rep, _ := runOn(t, rt, "caddy-security-replicas.yaml")
			assertExpectationsMet(t, rep)
			assertNamesFixes(t, rep, reports.FixCookieAffinity, reports.FixSameKey)
			require.NotNil(t, rep.Store)
			assert.Zero(t, rep.Store.CSRFRefusals)
		})
		t.Run("a shared key works with plain round-robin", func(t *testing.T) {
			rep, _ := runOn(t, rt, "caddy-security-replicas.yaml", "app.secret=shared")
			assert.Zero(t, failRate(t, rep))
			assert.Zero(t, rep.Totals.SessionLosses)
			require.NotNil(t, rep.Store)
			assert.Zero(t, rep.Store.BadCookies)
		})
	})
}

func TestOAuth2ProxyRedis(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		t.Run("per-replica secret and cookie name double the records", func(t *testing.T) {
			rep, _ := runOn(t, rt, "oauth2-proxy-redis.yaml")
			assertExpectationsMet(t, rep)
			assertNamesFixes(t, rep, reports.FixIPHashStopGap, reports.FixSameSecretName)
			assert.GreaterOrEqual(t, rep.Totals.Users, 1000)
			// No prompt fails; the only failures are the rare browser redirect limit of a user bounced between
			// the instances (see the scenario file).
			assert.Less(t, failRate(t, rep), 0.005, "failure causes %v", rep.FailureCauses)
			assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["error"], "failure causes %v", rep.FailureCauses)
			require.NotNil(t, rep.Totals.DuplicateRatio)
			assert.InDelta(t, 2.0, *rep.Totals.DuplicateRatio, 0.2)
			// The figure is Redis's key count, not what the clients saw: they submitted one password each.
			require.NotNil(t, rep.Store)
			assert.Equal(t, "redis", rep.Store.Kind)
			assert.Equal(t, rep.Totals.UsersLoggedIn, rep.Totals.SessionsCreated, "one password per user")
			assert.Greater(t, rep.Store.Sessions, rep.Totals.SessionsCreated+rep.Totals.SessionsCreated*8/10)
			assert.Greater(t, rep.Totals.SilentReauths, rep.Totals.Users/2, "the second instance re-authenticates silently")
			assert.Equal(t, rep.Store.SilentReauths, rep.Totals.SilentReauths)
		})
		t.Run("shared secret and cookie name keep one record per user", func(t *testing.T) {
			rep, _ := runOn(t, rt, "oauth2-proxy-redis.yaml", "name=oauth2-shared", "app.secret=shared", "app.cookie_name=shared")
			assert.Zero(t, failRate(t, rep))
			require.NotNil(t, rep.Totals.DuplicateRatio)
			assert.InDelta(t, 1.0, *rep.Totals.DuplicateRatio, 0.02)
			assert.Zero(t, rep.Totals.SilentReauths)
			assertNothingLeft(t, rt, "oauth2-shared") // the identity provider and Redis included
		})
	})
	t.Run("per-replica secret, shared name: records grow per bounce", func(t *testing.T) {
		rep, _ := run(t, "oauth2-proxy-redis.yaml", "app.cookie_name=shared", "clients.users=300")
		require.NotNil(t, rep.Totals.DuplicateRatio)
		assert.Greater(t, *rep.Totals.DuplicateRatio, 3.0, "each instance overwrites the other's cookie and writes a new record")
		require.NotNil(t, rep.Store)
		assert.Positive(t, rep.Store.BadCookies)
	})
	t.Run("ip-hash keeps each user on one instance", func(t *testing.T) {
		rep, _ := run(t, "oauth2-proxy-redis.yaml", "balancer.strategy=ip-hash", "clients.users=300")
		require.NotNil(t, rep.Totals.DuplicateRatio)
		assert.InDelta(t, 1.0, *rep.Totals.DuplicateRatio, 0.02)
	})
	t.Run("the SSO state in each instance's memory fails callbacks", func(t *testing.T) {
		rep, _ := run(t, "oauth2-proxy-redis.yaml", "app.sessions=memory", "clients.users=300")
		assert.Greater(t, failRate(t, rep), 0.3)
		assert.Equal(t, rep.Totals.LoginFailures, rep.FailureCauses["csrf"])
	})
}

func TestRedisSharedSessions(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		t.Run("round-robin keeps everyone logged in", func(t *testing.T) {
			rep, _ := runOn(t, rt, "redis-shared-sessions.yaml")
			assertExpectationsMet(t, rep)
			assertNamesFixes(t, rep, reports.FixStorePersist, reports.FixStoreReplicas)
		})
		for _, persist := range []bool{false, true} {
			t.Run("restart-store persist "+map[bool]string{false: "false", true: "true"}[persist], func(t *testing.T) {
				p := map[bool]string{false: "false", true: "true"}[persist]
				rep, _ := runOn(t, rt, "redis-shared-sessions.yaml", "name=restart-store-"+p, "clients.concurrency=300", "clients.pages=40",
					`faults=[{at: "1500 requests", action: restart-store, persist: `+p+`}]`)
				require.Len(t, rep.Faults, 1)
				f := rep.Faults[0]
				require.NotNil(t, f.EndMs, "the restart finished")
				assert.Empty(t, f.Error)
				require.NotNil(t, f.UsersAcross)
				require.Positive(t, *f.UsersAcross)
				if persist {
					assert.Zero(t, *f.UsersLost, "a saved store brings every session back")
				} else {
					// Users across whose next exchange was already a new login (they were between a loss and
					// their relogin) had nothing left to lose: 0.87 to 0.99 of them lose a session here.
					assert.GreaterOrEqual(t, float64(*f.UsersLost), 0.8*float64(*f.UsersAcross), "a store without persistence logs everyone out")
					assertNamesFixes(t, rep, reports.FixStorePersist, reports.FixStoreReplicas)
					assert.Equal(t, "store-restart", rep.Diagnosis[0].Rule, "the restart is the first finding")
				}
				assertNothingLeft(t, rt, "restart-store-"+p)
			})
		}
	})
}

func TestWebSocketIPHash(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		for _, kind := range kinds {
			t.Run(kind+" ip-hash keeps the state", func(t *testing.T) {
				rep, _ := runOn(t, rt, "websocket-ip-hash.yaml", "balancer.kind="+kind)
				assertExpectationsMet(t, rep)
				assertNamesFixes(t, rep, reports.FixCookieBalancing, reports.FixSharedState)
			})
		}
		t.Run("round-robin loses it", func(t *testing.T) {
			rep, _ := runOn(t, rt, "websocket-ip-hash.yaml", "balancer.strategy=round-robin")
			require.NotNil(t, rep.WebSocket)
			require.NotNil(t, rep.WebSocket.StateLossRate)
			// A reconnect finds everything only on the replica that saw every earlier increment.
			assert.Greater(t, *rep.WebSocket.StateLossRate, 0.6)
			assert.Zero(t, failRate(t, rep), "logins are shared through Redis: only the WebSocket state is lost")
			assertNamesFixes(t, rep, reports.FixCookieAffinity, reports.FixSharedState)
		})
	})
}

func TestFormCSRFRoundRobin(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt harness.Runtime) {
		t.Run("the token is unknown to the replica the form is posted to", func(t *testing.T) {
			rep, _ := runOn(t, rt, "form-csrf-round-robin.yaml")
			assertExpectationsMet(t, rep)
			assertNamesFixes(t, rep, reports.FixCookieAffinity, reports.FixSharedStore)
			assert.GreaterOrEqual(t, failRate(t, rep), 0.5)
			assert.Greater(t, rep.FailureCauses["csrf"], rep.Totals.LoginFailures/2, "csrf is the dominant cause")
			require.NotNil(t, rep.Store)
			assert.Equal(t, rep.FailureCauses["csrf"], rep.Store.CSRFRefusals, "each refusal the clients saw, the replicas counted")
		})
		for _, fix := range []string{"app.sessions=redis", "balancer.strategy=cookie-insert"} {
			t.Run("fixed by "+fix, func(t *testing.T) {
				rep, _ := runOn(t, rt, "form-csrf-round-robin.yaml", fix)
				assert.Zero(t, failRate(t, rep))
			})
		}
	})
}
