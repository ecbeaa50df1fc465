package sessionlabtest_test

import (
	"flag"
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/harness/sessionlabtest"
)

// The example runs real processes and checks what it prints: -short skips it, as it skips the tests that do.
func TestMain(m *testing.M) {
	flag.Parse()
	sessionlabtest.SkipExamplesIfShort()
	os.Exit(m.Run())
}
