package harness_test

import (
	"flag"
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// The examples start real processes and check what they print, so -short skips them as it skips the tests that do.
func TestMain(m *testing.M) {
	flag.Parse()
	sessionlabtest.SkipExamplesIfShort()
	os.Exit(m.Run())
}
