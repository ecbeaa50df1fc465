package docker_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sessionlab/sessionlab/harness"
	"github.com/sessionlab/sessionlab/harness/docker"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// Run a catalog scenario as containers on a private Docker network, with the images `make images` built (one of
// them replaced, as a user with a registry would).
func ExampleNew() {
	if err := docker.Available(context.Background()); err != nil {
		log.Fatal(err)
	}
	rt, err := docker.New(docker.WithImage("redis", "sessionlab/redis:bookworm"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := scenario.Load("../../scenarios/redis-shared-sessions.yaml", "clients.users=30")
	if err != nil {
		log.Fatal(err)
	}
	rep, err := harness.Run(context.Background(), s, harness.WithRuntime(rt))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Runtime, rep.Totals.LoginFailures)
}
