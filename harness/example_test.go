package harness_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// Run a catalog scenario with two keys changed, on the local runtime (real nginx and fakeapp processes), and read
// the report's figures. ip_hash picks a replica from the address alone, so the counts are the same on every run.
func ExampleRun() {
	s, err := scenario.Load("../scenarios/rr-memory.yaml", "balancer.strategy=ip-hash", "clients.users=60")
	if err != nil {
		log.Fatal(err)
	}
	rep, err := harness.Run(context.Background(), s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d logins, %d failed\n", rep.Totals.LoginAttempts, rep.Totals.LoginFailures)
	for _, r := range rep.Replicas {
		fmt.Println(r.Name, r.Requests)
	}
	// Output:
	// 60 logins, 0 failed
	// replica-1 234
	// replica-2 221
	// replica-3 325
}

// Start a scenario's topology without its users and drive it yourself: here, one request through the balancer.
// The stack's Close is deferred before the error check, so that a half-started stack is stopped too.
func ExampleStart() {
	s, err := scenario.Load("../scenarios/rr-memory.yaml", "clients.identity=bind")
	if err != nil {
		log.Fatal(err)
	}
	stack, err := harness.Start(context.Background(), s)
	defer func() { _ = stack.Close(context.Background()) }() // nil-safe: registered before the error check
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get("http://" + stack.Endpoint + "/login")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Replica") != "")
	// Output:
	// 200 true
}

// Say what a scenario needs on this machine, as `sessionlab doctor FILE` does.
func ExampleDoctor() {
	s, err := scenario.Load("../scenarios/redis-shared-sessions.yaml")
	if err != nil {
		log.Fatal(err)
	}
	needs, err := harness.Doctor(context.Background(), s, "local")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range needs {
		fmt.Println(r.Name, r.Missing == nil)
	}
	// Output:
	// nginx true
	// redis-server true
}
