// Package balancer is what a balancer config is made from: the kinds of real balancer sessionlab runs and the
// strategies each can run (one table, harness/internal/balancer/kinds/<kind>/kind.yaml, a row per kind; a pair a
// kind cannot run is refused by name), the built-in config templates (`sessionlab template KIND` prints one, to
// start a balancer.config of your own from) and what a template receives.
package balancer

import (
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// Kinds are the balancers a scenario may name (balancer.kind).
var Kinds = balancer.Kinds

// Strategies are the balancing strategies a scenario may name (balancer.strategy); each means one mechanism on every
// kind (docs/strategies.md).
var Strategies = balancer.Strategies

// Supports says why kind cannot run strategy ("not supported by nginx: …", naming what to use instead), or nil when
// it can. Unknown names are errors that list the allowed ones.
func Supports(kind, strategy string) error { return balancer.Supports(kind, strategy) }

// Template is the text of the built-in config template of kind.
func Template(kind string) ([]byte, error) { return balancer.Template(kind) }

// Config is what a balancer config template receives: the replicas (Upstream), where to listen, the strategy and its
// settings (Settings); docs/strategies.md lists every field a template may use.
type Config = balancer.Config
