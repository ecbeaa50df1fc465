package scenario_test

import (
	"fmt"
	"log"

	"github.com/sessionlab/sessionlab/harness/scenario"
)

// Load a scenario file with overrides, as `sessionlab run --set` does, and compile it into the plan a run starts
// from. Bad input is an error naming the file, line (or --set) and key.
func ExampleLoad() {
	s, err := scenario.Load("../../scenarios/rr-memory.yaml", "balancer.strategy=ip-hash", "app.replicas=4")
	if err != nil {
		log.Fatal(err)
	}
	p, err := scenario.Compile(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name, s.Balancer.Kind, s.Balancer.Strategy, p.Topology.ReplicaNames(), len(p.Users), "users")

	_, err = scenario.Load("../../scenarios/rr-memory.yaml", "app.replicas=0")
	fmt.Println(err)
	// Output:
	// rr-memory nginx ip-hash [replica-1 replica-2 replica-3 replica-4] 300 users
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
	_, err = scenario.Compile(&s)
	fmt.Println(err)
	// Output:
	// checkout redis haproxy cookie-insert
	// balancer.strategy: client-ip-sticky is not supported by nginx: open-source nginx has no client-IP stick table; use ip-hash (it keys on the /24), or kind: haproxy
}
