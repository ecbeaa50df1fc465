package local

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain builds the fakeapp once for every test of the package that starts replicas.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("SESSIONLAB_FAKEAPP") == "" && !testing.Short() {
		bin, err := BuildFakeApp(context.Background(), "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Setenv("SESSIONLAB_FAKEAPP", bin)
		code := m.Run()
		os.RemoveAll(filepath.Dir(bin))
		os.Exit(code)
	}
	os.Exit(m.Run())
}
