package harness

import (
	"context"
	"io"

	"github.com/sessionlab/sessionlab/harness/internal/tools"
)

// Install builds the program named name (caddy, oauth2-proxy) at the version this sessionlab pins, from the Go
// module proxy, into the per-user tool cache ($SESSIONLAB_TOOLS, else sessionlab/tools under os.UserCacheDir), and
// returns its path. It does nothing when the cache already holds it: every checkout, CI run, test binary and
// installed CLI on the machine finds the one build. The build's output goes to progress.
func Install(ctx context.Context, name string, progress io.Writer) (string, error) {
	t, err := tools.Lookup(name)
	if err != nil {
		return "", err
	}
	return tools.Install(ctx, t, progress)
}
