package harness_test

import (
	"context"
	"fmt"
	"log"

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
