package harness_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// TestMain builds the fakeapp once for the package's tests and examples, which find it through SESSIONLAB_FAKEAPP.
// The examples start real processes and check what they print, so -short skips them as it skips the tests that do.
func TestMain(m *testing.M) {
	flag.Parse()
	if sessionlabtest.SkipExamplesIfShort() {
		os.Exit(m.Run())
	}
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
