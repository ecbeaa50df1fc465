package harness_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// TestMain builds the fakeapp once for the package's tests and examples, which find it through SESSIONLAB_FAKEAPP.
func TestMain(m *testing.M) {
	if os.Getenv("SESSIONLAB_FAKEAPP") == "" {
		bin, err := sessionlabtest.FakeApp()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Setenv("SESSIONLAB_FAKEAPP", bin)
	}
	os.Exit(m.Run())
}
