package harness

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
)

// filesPerProcess is what the harness holds besides its users' connections: logs, pipes, the store and metrics
// clients, the runtime's own.
const filesPerProcess = 1024

// portRangeFile holds the machine's ephemeral port range, from which every outgoing connection takes its port.
var portRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// prepareLimits sizes this process for the plan before anything starts: it raises the open-file limit to what the
// users need at the worst instant (the hard limit too, where the process may), and refuses a plan this machine
// cannot hold — this process's files, the files of a balancer or front started as a local process (which inherits
// its limits), the ephemeral ports — naming the limit, the number and what to change.
func prepareLimits(p *plan.Plan, localParts bool) error {
	t := p.Topology
	users, held := t.Concurrency, t.HeldConnections()
	peak := fmt.Sprintf("%d users at once hold up to %d connections at one instant", users, held)
	if arriveAtOnce(p) {
		peak = fmt.Sprintf("%d users arriving at once (clients.arrival: all) hold up to %d connections in the same instant", users, held)
	}
	spread := "spread the arrivals (clients.arrival: {kind: fixed, rate: N}), lower clients.concurrency, or split the run " +
		"into shards (sessionlab run --shard, on several machines)"
	// Two files for each connection the users hold at that instant: at the worst instant a user's connection that
	// broke lingers while its next opens. A balancer or front started as a local process inherits the same limits,
	// and holds two for each as well (the client's, and its own to the next hop).
	need := uint64(t.Connections() + filesPerProcess)
	if err := raiseNoFile(need); err != nil {
		also := ""
		if localParts && t.Target == nil {
			also = fmt.Sprintf(" (and as many in the balancer%s, started as a local process with the same limits)", frontToo(t))
		}
		return fmt.Errorf("clients.concurrency: %s, about %d open files in this process%s: %w; %s", peak, need, also, err, spread)
	}
	// Every user's connection goes from one source address to the balancer's one address, unless users connect
	// from addresses of their own (identity: bind): the ephemeral ports are then the limit.
	if t.Bind() {
		return nil
	}
	lo, hi, err := portRange()
	if err != nil {
		return nil // not Linux, or not readable: nothing known to refuse on
	}
	if ports := hi - lo + 1; held > ports-filesPerProcess {
		return fmt.Errorf("clients.concurrency: %s from one address to the balancer; "+
			"this machine's ephemeral ports (net.ipv4.ip_local_port_range %d-%d) give %d per destination, and the "+
			"harness keeps %d of them for everything else: lower clients.concurrency, shorten clients.keep_alive below "+
			"the think time (users thinking hold no connection), or set clients.identity: bind "+
			"(users connect from loopback addresses of their own)", peak, lo, hi, ports, filesPerProcess)
	}
	return nil
}

// arriveAtOnce reports whether every user is ready at the start (clients.arrival: all).
func arriveAtOnce(p *plan.Plan) bool {
	for _, u := range p.Users {
		if u.Start > 0 {
			return false
		}
	}
	return true
}

func frontToo(t plan.Topology) string {
	if t.Fronted() {
		return " (and the tier's front)"
	}
	return ""
}

// getrlimit and setrlimit are the system's, replaced by a test that plays a machine with other limits.
var (
	getrlimit = syscall.Getrlimit
	setrlimit = syscall.Setrlimit
)

// raiseNoFile makes the open-file soft limit at least need, raising the hard limit first where the process may
// (root); it says which limit stood in the way.
func raiseNoFile(need uint64) error {
	var lim syscall.Rlimit
	if err := getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // nothing to read: nothing to raise
	}
	if lim.Max < need {
		want := syscall.Rlimit{Cur: need, Max: need}
		if err := setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return fmt.Errorf("the hard open-file limit is %d (ulimit -Hn) and this process may not raise it", lim.Max)
		}
		return nil
	}
	// Up to the hard limit, not just to need: need is an estimate, and a system slower than it assumed has more
	// exchanges in flight, each a file.
	if lim.Cur >= lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
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

// limitMarker marks the exchanges the harness's own parts broke (events.OutcomeHarnessLimit) before anything
// else hears of them: an exchange that failed without the app's answer while a part the harness started said it ran
// out of connections or files (runtime.LimitWatch), or that this process could not open for want of files or ports.
type limitMarker struct {
	ctx   context.Context
	watch *runtime.LimitWatch
	mu    sync.Mutex
	own   []events.LimitHit // this process's own, by limit
}

// ownLimits are the connection errors that say this process ran out, by the limit's name.
var ownLimits = []struct{ limit, text string }{
	{"open_files", "too many open files"},
	{"ephemeral_ports", "cannot assign requested address"},
}

// ownPart names this process in a LimitHit.
const ownPart = "sessionlab (the users' process)"

// mark is record with the harness's own failures marked.
func (m *limitMarker) mark(record func(events.Event)) func(events.Event) {
	return func(e events.Event) {
		if e.IsExchange() && e.Outcome == events.OutcomeError && e.Replica == "" && e.Host == "" {
			if limit := m.ownLimit(e); limit != "" {
				e.Outcome = events.OutcomeHarnessLimit
			} else if m.watch.Broke(m.ctx, time.Duration(e.TMs)*time.Millisecond) {
				e.Outcome = events.OutcomeHarnessLimit
			}
		}
		record(e)
	}
}

// ownLimit names the limit of this process a failed exchange's error says it ran out of, counting it.
func (m *limitMarker) ownLimit(e events.Event) string {
	msg := strings.ToLower(e.Error)
	for _, l := range ownLimits {
		if !strings.Contains(msg, l.text) {
			continue
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		i := slices.IndexFunc(m.own, func(h events.LimitHit) bool { return h.Limit == l.limit })
		if i < 0 {
			m.own = append(m.own, events.LimitHit{Part: ownPart, Limit: l.limit, FirstMs: e.TMs})
			i = len(m.own) - 1
		}
		h := &m.own[i]
		h.Lines++
		h.LastMs, h.Sample = max(h.LastMs, e.TMs), e.Error
		return l.limit
	}
	return ""
}

// stop ends the watch and returns every limit a part, or this process, ran out of.
func (m *limitMarker) stop(ctx context.Context) []events.LimitHit {
	hits := m.watch.Stop(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	return append(hits, m.own...)
}
