package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
)

// Deployment is a started topology. A runtime builds it with New and records each part as it starts it (AddPart,
// SetReplica, SetStore, SetBalancer), registering its release before it uses it; the harness and the nemesis then
// act on it, and Close stops everything.
type Deployment struct {
	Runtime  string
	Endpoint string // host:port the clients connect to (the balancer)

	dir      string // the run's working directory: rendered configs, logs, the app's directories
	topology plan.Topology
	kind     *balancer.Kind
	backend  Backend

	mu        sync.Mutex
	parts     []Part     // what the runtime started, in start order
	replicas  []Endpoint // the replicas the balancer sends to, in order
	made      int        // the highest replica index started, so that a scale-out never reuses a name
	names     map[string]string
	sets      [][]BalancerPart // per balancer set (the scenario's, then each a switch moves to), its instances in order
	kinds     []*balancer.Kind // per balancer set, its kind
	front     BalancerPart     // the L4 front, or nil
	route     []int            // per instance number (from 0), the set the front sends its new connections to
	withdrawn map[string]bool  // replicas a kill took out of the balancer's config until they start again
	restore   []Endpoint       // where each withdrawn replica listened
	admin     []string         // Caddy's admin sockets, when the runtime gave its instances one
	watches   []*caddyWatch    // what polling them saw, from WatchBalancer
	gen       int              // the balancer's config generation
	store     StorePart        // the shared session store, when the topology has one
	storeAddr string           // where replicas reach the store
	idpURL    string           // where browsers reach the identity provider
	closers   []closer
	closed    bool
	closeErr  error
}

// New is the deployment of t on the runtime named runtime, with nothing started yet.
func New(runtime string, t plan.Topology) (*Deployment, error) {
	d := &Deployment{Runtime: runtime, topology: t, names: map[string]string{}, withdrawn: map[string]bool{}, gen: 1,
		route: make([]int, t.Instances())}
	for _, b := range t.Sets() {
		kind, err := balancer.Lookup(b.Kind)
		if err != nil {
			return nil, err
		}
		d.kinds = append(d.kinds, kind)
		d.sets = append(d.sets, nil)
	}
	d.kind = d.kinds[0]
	return d, nil
}

var _ Recorder = (*Deployment)(nil)

// Dir is the run's working directory: rendered configs, logs, the app's directories.
func (d *Deployment) Dir() string { return d.dir }

// SetDir records the run's working directory.
func (d *Deployment) SetDir(dir string) { d.dir = dir }

// Topology is what the deployment was started from.
func (d *Deployment) Topology() plan.Topology { return d.topology }

// Kind is the balancer's kind.
func (d *Deployment) Kind() *balancer.Kind { return d.kind }

// KindOf is the kind of balancer set number set.
func (d *Deployment) KindOf(set int) *balancer.Kind { return d.kinds[set] }

// SetBackend gives the deployment the runtime's side.
func (d *Deployment) SetBackend(b Backend) { d.backend = b }

// SetReplica records where a replica listens, replacing an earlier address of the same replica.
func (d *Deployment) SetReplica(e Endpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names[e.Addr] = e.Name
	d.made = max(d.made, e.Index)
	for i := range d.replicas {
		if d.replicas[i].Name == e.Name {
			d.replicas[i] = e
			return
		}
	}
	if d.withdrawn[e.Name] {
		for i := range d.restore { // Restore lists it again, once it serves, wherever it listens then
			if d.restore[i].Name == e.Name {
				d.restore[i] = e
			}
		}
		return
	}
	// In the order of their numbers, whatever the order they were started or restored in: ip-hash picks by position.
	i, _ := slices.BinarySearchFunc(d.replicas, e.Index, func(r Endpoint, index int) int { return r.Index - index })
	d.replicas = slices.Insert(d.replicas, i, e)
}

// Replicas are the replicas the balancer sends to, in order.
func (d *Deployment) Replicas() []Endpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Endpoint(nil), d.replicas...)
}

// ReplicaOf names the replica that listened on addr (host:port, as the balancer reports it) at any time in the run,
// so that answers are attributed without the app's help; "" for an address no replica had.
func (d *Deployment) ReplicaOf(addr string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.names[addr]
}

// SetStore records the shared session store, reached by the replicas at addr.
func (d *Deployment) SetStore(st StorePart, addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store, d.storeAddr = st, addr
}

// StoreAddr is where replicas reach the store, or "".
func (d *Deployment) StoreAddr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.storeAddr
}

// SetIdPURL records where browsers reach the identity provider.
func (d *Deployment) SetIdPURL(u string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idpURL = u
}

// IdPURL is where browsers reach the identity provider, or "".
func (d *Deployment) IdPURL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.idpURL
}

// AddBalancer records the next instance of balancer set number set (the only one, or the tier's next), started
// from config generation 1.
func (d *Deployment) AddBalancer(set int, b BalancerPart) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sets[set] = append(d.sets[set], b)
}

// SetFront records the L4 front: a part that loads a new config (RenderFront's) while it runs.
func (d *Deployment) SetFront(p BalancerPart) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.front = p
}

// Balancers are the instances of the scenario's balancer (set 0), in order.
func (d *Deployment) Balancers() []BalancerPart {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sets[0])
}

// RenderFront renders the front's config: each instance number to the set the front now sends it to.
func (d *Deployment) RenderFront() ([]byte, error) {
	d.mu.Lock()
	route := slices.Clone(d.route)
	d.mu.Unlock()
	ups := make([]balancer.Upstream, len(route))
	for i, set := range route {
		ups[i] = balancer.NewUpstream(d.topology.SetInstanceName(set, i+1), i+1, d.backend.InstanceAddr(set, i+1))
	}
	return balancer.RenderFront(d.topology.FrontConfig(d.backend.FrontListen(), ups))
}

// Switch has the front send new connections to balancer set number set, one instance number after another, pause
// apart; the connections the old instances hold stay with them until they close (HAProxy's old worker drains them).
func (d *Deployment) Switch(ctx context.Context, set int, pause time.Duration) error {
	d.mu.Lock()
	front := d.front
	d.mu.Unlock()
	if front == nil {
		return errors.New("switch balancer: no front was started")
	}
	for i := range d.topology.Instances() {
		if i > 0 {
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		d.mu.Lock()
		d.route[i] = set
		d.mu.Unlock()
		text, err := d.RenderFront()
		if err != nil {
			return err
		}
		if err := front.Reload(ctx, text, 0, true); err != nil {
			return fmt.Errorf("switch balancer: %w", err)
		}
	}
	return nil
}

// SetEndpoint records where clients connect: the balancer, the tier's front, or a live target.
func (d *Deployment) SetEndpoint(endpoint string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Endpoint = endpoint
}

// RenderBalancer renders the current config generation of instance number instance (from 1) of balancer set
// number set for the replicas recorded now.
func (d *Deployment) RenderBalancer(set, instance int) (text []byte, gen int, err error) {
	d.mu.Lock()
	gen = d.gen
	ups := make([]balancer.Upstream, len(d.replicas))
	for i, r := range d.replicas {
		ups[i] = balancer.NewUpstream(r.Name, r.Index, r.Addr)
	}
	d.mu.Unlock()
	c := d.topology.BalancerConfig(set, instance, gen, ups)
	d.backend.FillConfig(set, instance, &c)
	text, err = d.kinds[set].Render(c, d.topology.Set(set).Template)
	return text, gen, err
}

// ReloadBalancer has every instance load a config rendered for the replicas recorded now, and waits until each
// does: the first at once, each next one balancer.stagger after the one before (the tier's instances pick a change
// up at different times). It returns once the last has.
func (d *Deployment) ReloadBalancer(ctx context.Context) error {
	if len(d.Balancers()) == 0 {
		return errors.New("reload balancer: no balancer was started")
	}
	d.mu.Lock()
	d.gen++
	sets := make([][]BalancerPart, len(d.sets))
	for i, set := range d.sets {
		sets[i] = slices.Clone(set)
	}
	d.mu.Unlock()
	// Every set learns the change, the one the users are not on yet too: a switch then finds it current.
	var errs []error
	for set, bs := range sets {
		errs = append(errs, d.reloadSet(ctx, set, bs))
	}
	return errors.Join(errs...)
}

// reloadSet has the instances of one balancer set load the current generation, as ReloadBalancer says.
func (d *Deployment) reloadSet(ctx context.Context, set int, bs []BalancerPart) error {
	reload := func(i int) error {
		text, gen, err := d.RenderBalancer(set, i+1)
		if err != nil {
			return err
		}
		return bs[i].Reload(ctx, text, gen, d.topology.Set(set).Template != nil)
	}
	stagger := d.topology.Balancer.Stagger
	if stagger == 0 {
		// All at once: a reload takes a while (the old workers finish what they hold), and one after another the
		// instances would disagree for that long.
		errs := make([]error, len(bs))
		var wg sync.WaitGroup
		for i := range bs {
			wg.Go(func() { errs[i] = reload(i) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for i := range bs {
		if i > 0 {
			select {
			case <-time.After(stagger):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := reload(i); err != nil {
			return err
		}
	}
	return nil
}

// Withdraw takes a replica out of the balancer's config, as Kubernetes takes a dead pod out of the endpoints,
// reaching each instance in turn (ReloadBalancer); it stays out until Restore.
func (d *Deployment) Withdraw(ctx context.Context, name string) error {
	d.mu.Lock()
	i := slices.IndexFunc(d.replicas, func(r Endpoint) bool { return r.Name == name })
	if i < 0 {
		d.mu.Unlock()
		return fmt.Errorf("withdraw %s: not among the replicas the balancer sends to", name)
	}
	d.withdrawn[name] = true
	removed := d.replicas[i]
	d.replicas = slices.Delete(d.replicas, i, i+1)
	d.restore = append(d.restore, removed)
	d.mu.Unlock()
	return d.ReloadBalancer(ctx)
}

// Restore lists a withdrawn replica again (started again, it serves) and has the instances send to it.
func (d *Deployment) Restore(ctx context.Context, name string) error {
	d.mu.Lock()
	i := slices.IndexFunc(d.restore, func(r Endpoint) bool { return r.Name == name })
	if i < 0 {
		d.mu.Unlock()
		return fmt.Errorf("restore %s: it was not withdrawn", name)
	}
	e := d.restore[i]
	d.restore = slices.Delete(d.restore, i, i+1)
	delete(d.withdrawn, name)
	d.mu.Unlock()
	d.SetReplica(e)
	return d.ReloadBalancer(ctx)
}

// ScaleOut starts n more replicas, numbered on from the last one ever started, then has the balancer send to them.
func (d *Deployment) ScaleOut(ctx context.Context, n int) error {
	for range n {
		d.mu.Lock()
		next := d.made + 1
		d.mu.Unlock()
		if err := d.backend.StartReplica(ctx, d.topology.Replica(next)); err != nil {
			return err
		}
	}
	return d.ReloadBalancer(ctx)
}

// ScaleIn takes the last n replicas (leaving at least one) out of the balancer's config, then stops them, as an
// orchestrator drains before it deletes.
func (d *Deployment) ScaleIn(ctx context.Context, n int) error {
	d.mu.Lock()
	n = min(n, len(d.replicas)-1)
	removed := append([]Endpoint(nil), d.replicas[len(d.replicas)-n:]...)
	d.replicas = d.replicas[:len(d.replicas)-n]
	d.mu.Unlock()
	if err := d.ReloadBalancer(ctx); err != nil {
		return err
	}
	var errs []error
	for _, r := range removed {
		p, err := d.Part(r.Name)
		if err == nil {
			err = p.Stop(ctx)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// HostAddr is where the harness reaches a part's HTTP port.
func (d *Deployment) HostAddr(ctx context.Context, name string) (string, error) {
	return d.backend.HostAddr(ctx, name)
}

// Part finds a started part by name ("replica-2", "nginx").
func (d *Deployment) Part(name string) (Part, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for _, p := range d.parts {
		if p.Name() == name {
			return p, nil
		}
		names = append(names, p.Name())
	}
	return nil, fmt.Errorf("no part named %q (parts: %s)", name, strings.Join(names, ", "))
}

// Parts lists the started parts in start order.
func (d *Deployment) Parts() []Part {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Part(nil), d.parts...)
}

// AddPart records a started part and registers what Close does to it (a process is stopped, a container removed).
func (d *Deployment) AddPart(p Part, release func(context.Context) error) {
	d.mu.Lock()
	d.parts = append(d.parts, p)
	d.mu.Unlock()
	d.OnClose(p.Name(), release)
}

// Logs is the last lines of every part's output, for an error message.
func (d *Deployment) Logs(ctx context.Context, lines int) string {
	var b strings.Builder
	for _, p := range d.Parts() {
		if l := p.Logs(ctx, lines); l != "" {
			fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", p.Name(), l)
		}
	}
	return b.String()
}

type closer struct {
	name string
	fn   func(context.Context) error
}

// OnClose registers fn to run at Close, after every fn registered later (last started, first stopped).
func (d *Deployment) OnClose(name string, fn func(context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, closer{name, fn})
}

// stopTimeout bounds how long Stop waits for every part to finish what it holds and exit.
const stopTimeout = 30 * time.Second

// Stop is Close within stopTimeout, also when ctx is already cancelled (a Ctrl-C, a failed test): what started is
// stopped whatever ended the run.
func (d *Deployment) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	return d.Close(ctx)
}

// Close stops everything the deployment started, in reverse order. It is safe on a nil or partial deployment and
// idempotent; every part is stopped even when another fails to, and the errors are joined.
func (d *Deployment) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return d.closeErr
	}
	d.closed = true
	closers := d.closers
	d.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		c := closers[i]
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
	}
	d.mu.Lock()
	d.closeErr = errors.Join(errs...)
	d.mu.Unlock()
	return d.closeErr
}
