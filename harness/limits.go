package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// filesPerProcess is what the harness holds besides its users' connections: logs, pipes, the store and metrics
// clients, the runtime's own.
const filesPerProcess = 1024

// portRangeFile holds the machine's ephemeral port range, from which every outgoing connection takes its port.
var portRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// prepareLimits sizes this process for the plan before anything starts: it raises the open-file limit to what the
// users at once need (the hard limit too, where the process may), and refuses a plan this machine cannot hold, with
// the limit and the number in the message.
func prepareLimits(p *plan.Plan) error {
	users := p.Topology.Concurrency
	need := uint64(p.Topology.Connections() + filesPerProcess)
	if err := raiseNoFile(need); err != nil {
		return fmt.Errorf("clients.concurrency: %d users at once need about %d open files in this process: %w; "+
			"lower clients.concurrency or raise the limit (ulimit -n)", users, need, err)
	}
	// Every user's connection goes from one source address to the balancer's one address, unless users connect
	// from addresses of their own (identity: bind): the ephemeral ports are then the limit.
	if p.Topology.Bind() {
		return nil
	}
	lo, hi, err := portRange()
	if err != nil {
		return nil // not Linux, or not readable: nothing known to refuse on
	}
	conns := p.Topology.HeldConnections()
	if ports := hi - lo + 1; conns > ports-filesPerProcess {
		return fmt.Errorf("clients.concurrency: %d users at once hold about %d connections from one address to the balancer; "+
			"this machine's ephemeral ports (net.ipv4.ip_local_port_range %d-%d) give %d per destination, and the "+
			"harness keeps %d of them for everything else: lower clients.concurrency, shorten clients.keep_alive below "+
			"the think time (users thinking hold no connection), or set clients.identity: bind "+
			"(users connect from loopback addresses of their own)", users, conns, lo, hi, ports, filesPerProcess)
	}
	return nil
}

// raiseNoFile makes the open-file soft limit at least need, raising the hard limit first where the process may
// (root); it says which limit stood in the way.
func raiseNoFile(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // nothing to read: nothing to raise
	}
	if lim.Max < need {
		want := syscall.Rlimit{Cur: need, Max: need}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return fmt.Errorf("the hard limit is %d (ulimit -Hn) and this process may not raise it", lim.Max)
		}
		return nil
	}
	// Up to the hard limit, not just to need: need is an estimate, and a system slower than it assumed has more
	// exchanges in flight, each a file.
	if lim.Cur >= lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising the soft limit to %d: %w", lim.Max, err)
	}
	return nil
}

func portRange() (lo, hi int, err error) {
	b, err := os.ReadFile(portRangeFile)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("%s: %q", portRangeFile, b)
	}
	if lo, err = strconv.Atoi(f[0]); err == nil {
		hi, err = strconv.Atoi(f[1])
	}
	return lo, hi, err
}
