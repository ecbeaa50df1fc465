package sessionlabtest_test

import (
	"context"
	"fmt"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// exampleT stands in for the *testing.T of a test function and prints what the test would report.
type exampleT struct{}

func (exampleT) Helper()                           {}
func (exampleT) Context() context.Context          { return context.Background() }
func (exampleT) Cleanup(func())                    {}
func (exampleT) Logf(string, ...any)               {}
func (exampleT) Errorf(format string, args ...any) { fmt.Printf("test error: "+format+"\n", args...) }
func (exampleT) Fatalf(format string, args ...any) { fmt.Printf("test fatal: "+format+"\n", args...) }
func (exampleT) Skipf(format string, args ...any)  { fmt.Printf("test skipped: "+format+"\n", args...) }

// In a test, t is the test's *testing.T. Round-robin in front of replicas that keep sessions in memory: the
// expectation fails, and the test error says why and what fixes it.
func ExampleRun() {
	var t exampleT
	rep := sessionlabtest.Run(t, "../../scenarios/rr-memory.yaml",
		sessionlabtest.WithSet("clients.users=12", "clients.concurrency=1", "clients.pages=2"),
		sessionlabtest.WithExpect("login_failure_rate", "< 0.01"))
	if rep != nil { // nil when the helper skipped or failed the test
		fmt.Println("logins failed:", rep.Totals.LoginFailures, "of", rep.Totals.LoginAttempts)
	}
	// Output:
	// test error: sessionlab: rr-memory: login_failure_rate is 1, want < 0.01
	// 	100% of logins failed (24 bounced straight back to the login page) and 0% of protected pages were lost: each replica keeps its sessions in its own memory and round-robin keeps no affinity, so most requests reach a replica that never saw the user's session. Fixes: cookie affinity at the balancer (strategy: cookie-insert; on ingress-nginx, affinity: cookie with affinity-mode: persistent); a shared session store (app.sessions: redis).
	// logins failed: 24 of 24
}
