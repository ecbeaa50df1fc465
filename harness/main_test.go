package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
)

// TestMain builds the fakeapp once for every test of the package that starts replicas.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if os.Getenv("SESSIONLAB_FAKEAPP") == "" && !testing.Short() {
		bin, err := BuildFakeApp(context.Background(), "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(bin[:len(bin)-len("/fakeapp")])
		os.Setenv("SESSIONLAB_FAKEAPP", bin)
	}
	return m.Run()
}
