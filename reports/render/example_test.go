package render_test

import (
	"log"
	"os"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
	"github.com/sessionlab/sessionlab/reports/render"
)

// Compute a report from a run's events (here a user whose login is accepted by replica-1, which sets the session
// cookie, and bounced by replica-2, which clears it: the witness after the diagnosis shows it) and render it; any
// of render.Formats works, and render.Compare renders several reports side by side.
func ExampleReport() {
	meta := events.Meta{Scenario: "two-replicas", Seed: 1, Runtime: "local", Users: 1, Replicas: []string{"replica-1", "replica-2"},
		Balancer: events.Balancer{Kind: "nginx", Strategy: "round-robin"}, App: events.App{Sessions: "memory"}}
	rep := reports.Compute(meta, []events.Event{
		{TMs: 1, User: 1, Step: events.StepLogin, Attempt: 1, Method: "GET", Path: "/login", Status: 200, Replica: "replica-1", Outcome: events.OutcomeOK},
		{TMs: 2, User: 1, Step: events.StepLogin, Attempt: 1, Method: "POST", Path: "/login", Status: 302, Location: "/", Replica: "replica-1",
			Set: []string{"sid:1a2b3c4d"}, Outcome: events.OutcomeOK},
		{TMs: 3, User: 1, Step: events.StepLogin, Attempt: 1, Method: "GET", Path: "/", Status: 302, Location: "/login", Replica: "replica-2",
			Sent: []string{"sid:1a2b3c4d"}, Set: []string{"sid:-"}, Outcome: events.OutcomeLoop},
	})
	rep.Check(map[string]string{"login_failure_rate": "< 0.01"})
	if err := render.Report(os.Stdout, "text", rep); err != nil {
		log.Fatal(err)
	}
	// Output:
	// two-replicas  seed 1  runtime local  nginx round-robin  2 replicas  sessions memory
	//
	// users 1  requests 3  errors 0
	// logins    1 attempts, 1 failed (rate 1.000)  causes: loop 1
	// sessions  0 of 0 protected pages lost (rate n/a)
	// users     1 affected, 0 in a login loop; stickiness mean n/a, n/a of users at 1.0
	//           1 created for 1 users logged in (duplicate ratio 1.000), 0 silent re-authentications
	//
	//     replica  requests  share  users
	//   replica-1         2  0.667      1
	//   replica-2         1  0.333      1
	// skew: max/mean 1.333  cov 0.333  jain 0.900
	//
	// diagnosis
	//   100% of logins failed (1 bounced straight back to the login page) and 0% of protected pages were lost: each replica keeps its sessions in its own memory and round-robin keeps no affinity, so most requests reach a replica that never saw the user's session. Fixes: cookie affinity at the balancer (strategy: cookie-insert; on ingress-nginx, affinity: cookie with affinity-mode: persistent); a shared session store (app.sessions: redis).
	//
	// witness: user 1's loop: exchange 3 of 3 went wrong (marked >)
	//      1 ms  GET /login → 200     replica-1                                ok
	//      2 ms  POST /login → 302 /  replica-1  set sid:1a2b3c4d              ok
	//   >  3 ms  GET / → 302 /login   replica-2  sent sid:1a2b3c4d  set sid:-  loop
	//
	// expectations
	//   FAIL  login_failure_rate < 0.01  (got 1.000)
}
