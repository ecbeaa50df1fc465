package scenario_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/sessionlab/sessionlab/harness/scenario"
)

// Load a scenario file with overrides, as `sessionlab run --set` does: every key is checked, and the keys left out
// take their defaults (harness.Run and harness.Check go on to compile it into the plan of a run). Bad input is an
// error naming the file, line (or --set) and key.
func ExampleLoad() {
	s, err := scenario.Load("../../scenarios/rr-memory.yaml", "balancer.strategy=ip-hash", "app.replicas=4")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name, s.Balancer.Kind, s.Balancer.Strategy, s.App.Replicas, "replicas", s.Clients.Users, "users")

	_, err = scenario.Load("../../scenarios/rr-memory.yaml", "app.replicas=0")
	fmt.Println(err)
	// Output:
	// rr-memory nginx ip-hash 4 replicas 300 users
	// --set app.replicas=0: app.replicas: 0 is out of range (allowed 1..64)
}

// Build a scenario in Go, starting from the defaults; it is checked exactly as a file is.
func ExampleScenario_With() {
	s := scenario.Default()
	s.Name = "checkout"
	s.App.Sessions = "redis"
	s2, err := s.With("balancer.kind=haproxy", "balancer.strategy=cookie-insert")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s2.Name, s2.App.Sessions, s2.Balancer.Kind, s2.Balancer.Strategy)

	s.Balancer.Strategy = "client-ip-sticky"
	fmt.Println(errors.Join(s.Validate()...))
	// Output:
	// checkout redis haproxy cookie-insert
	// balancer.strategy: client-ip-sticky is not supported by nginx: open-source nginx has no client-IP stick table; use ip-hash (it keys on the /24), or kind: haproxy
}
