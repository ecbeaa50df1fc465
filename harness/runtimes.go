package harness

import (
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
)

// Runtime is where a scenario's topology runs: Local (OS processes on loopback, the default) or docker.New
// (containers on a private network, package harness/docker, which alone links the container library). A scenario
// with target.url drives its live target and starts nothing. A new runtime is added inside this module
// (docs/architecture.md, "Adding a runtime"): it starts the harness's own topology.
type Runtime = runtime.Runtime

// LocalOption configures Local.
type LocalOption = local.Option

// WithFakeApp runs the fake app's replicas as command followed by their own arguments: the sessionlab binary and
// "fakeapp" (what the CLI passes), or a fakeapp binary alone. Default: $SESSIONLAB_FAKEAPP, else cmd/fakeapp built
// with the go tool once per process (inside a go test).
func WithFakeApp(command ...string) LocalOption { return local.WithFakeApp(command...) }

// WithBinary runs path as part (nginx, haproxy, caddy, redis-server) instead of the one found through
// $SESSIONLAB_<PART>, the tool cache (sessionlab install), PATH and /usr/sbin.
func WithBinary(part, path string) LocalOption { return local.WithBinary(part, path) }

// Local is the local runtime: every part a real OS process on a free loopback port, in a process group of its own,
// stopped when the run ends.
func Local(opts ...LocalOption) Runtime { return local.New(opts...) }

// Sweep stops the processes and removes the working directories of runs whose process is gone (a killed run's
// leftovers), and says how many of each; docker.Sweep does the same for containers.
func Sweep() (dirs, processes int, err error) {
	s, err := runtime.SweepLocal()
	return len(s.Dirs), len(s.Processes), err
}
