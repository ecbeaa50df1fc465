package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/clients"
)

// Topology is what a runtime starts: the replicas, how each is configured, and the balancer in front.
type Topology struct {
	Name     string // the scenario's name, used in directory names and labels
	Seed     uint64 // secrets derive from it
	Users    int    // accounts the app must accept (user1..userN)
	App      AppSpec
	Replicas []ReplicaSpec
	Balancer BalancerSpec

	// BindIdentity: clients connect from real loopback source addresses, without a PROXY header.
	BindIdentity bool
	// Own is the user's app (app.command, app.image) run as the replicas; nil runs the built-in fakeapp.
	Own *ownApp
	// SessionCookie is the user's app's session cookie (app.session_cookie), which hash-cookie hashes.
	SessionCookie string

	perReplicaCookie bool
	perReplicaSecret bool
}

// ReplicaSpec is one replica's configuration.
type ReplicaSpec struct {
	Name       string // replica-1, replica-2, …
	CookieName string // the session cookie's name on this replica
	Secret     string // the secret sealing its cookies: the same for all replicas, or its own
}

// BalancerSpec is the balancer's configuration.
type BalancerSpec struct {
	Kind     string
	Strategy string
	Workers  int // nginx worker processes, HAProxy threads
	Settings BalancerSettings
	Template *template.Template // the user's config template (balancer.config), or nil for the built-in one
}

// Topology derives the topology the scenario asks for.
func (s *Scenario) Topology() Topology {
	t := Topology{
		Name: s.Name, Seed: s.Seed, Users: s.Clients.Users,
		App: AppSpec{Sessions: s.App.Sessions, Login: s.App.Login, SessionTTL: time.Duration(s.App.SessionTTL),
			IdleTimeout: time.Duration(s.App.IdleTimeout), ClearBadCookie: s.App.ClearBadCookie},
		perReplicaCookie: s.App.CookieName == "per-replica", perReplicaSecret: s.App.Secret == "per-replica",
		BindIdentity: s.Clients.Identity == clients.IdentityBind,
		Own:          s.own, SessionCookie: s.App.SessionCookie,
		Balancer: BalancerSpec{Kind: s.Balancer.Kind, Strategy: s.Balancer.Strategy, Workers: max(s.Balancer.Workers, 1),
			Settings: s.Balancer.settings(), Template: s.template},
	}
	if t.App.NeedsIdP() {
		t.App.IdPKey = derivedSecret(s.Seed, idpPartName)
	}
	for i := range s.App.Replicas {
		t.Replicas = append(t.Replicas, t.replicaSpec(i+1))
	}
	return t
}

// replicaSpec is the configuration of the replica numbered n (from 1), also for replicas a scale-out adds.
func (t Topology) replicaSpec(n int) ReplicaSpec {
	r := ReplicaSpec{Name: "replica-" + strconv.Itoa(n), CookieName: "sid", Secret: derivedSecret(t.Seed, "shared")}
	if t.perReplicaCookie {
		r.CookieName = "sid-" + r.Name
	}
	if t.SessionCookie != "" {
		r.CookieName = t.SessionCookie
	}
	if t.perReplicaSecret {
		r.Secret = derivedSecret(t.Seed, r.Name)
	}
	return r
}

// ReplicaNames lists the replicas in order.
func (t Topology) ReplicaNames() []string {
	names := make([]string, len(t.Replicas))
	for i, r := range t.Replicas {
		names[i] = r.Name
	}
	return names
}

// Runtime starts a topology for real.
type Runtime interface {
	Name() string
	// Start brings every part up and waits until each is ready. On error it still returns the partial deployment,
	// which the caller must Close.
	Start(ctx context.Context, t Topology) (*Deployment, error)
}

// Deployment is a started topology.
type Deployment struct {
	Runtime  string
	Endpoint string     // host:port the clients connect to (the balancer)
	Replicas []Endpoint // where each replica listens
	Dir      string     // the run's working directory: rendered configs and logs

	parts    []Part // what the runtime started, in start order
	topology Topology
	kind     *balancerKind
	balancer balancerPart
	gen      int // the balancer's config generation
	// addReplica starts one more replica and records it (scale-out); fillConfig adds where the balancer listens and
	// writes to its config. Both are the runtime's.
	addReplica func(ctx context.Context, r ReplicaSpec) error
	fillConfig func(*BalancerConfig)
	// hostAddr is where the harness reaches a part's HTTP port (replicas, the identity provider): the runtime's.
	hostAddr func(ctx context.Context, name string) (string, error)
	store    storePart // the shared session store, when the topology has one
	// storeAddr is where replicas reach the store; idpURL where browsers reach the identity provider.
	storeAddr string
	idpURL    string
	mu        sync.Mutex
	names     map[string]string // every address a replica listened on in this run -> its name
	closers   []closer
	closed    bool
	closeErr  error
}

// setEndpoint records where a replica listens, replacing an earlier address of the same replica.
func (d *Deployment) setEndpoint(e Endpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil {
		d.names = map[string]string{}
	}
	d.names[e.Addr] = e.Name
	for i := range d.Replicas {
		if d.Replicas[i].Name == e.Name {
			d.Replicas[i] = e
			return
		}
	}
	d.Replicas = append(d.Replicas, e)
}

// ReplicaOf names the replica that listened on addr (host:port, as the balancer reports it) at any time in the run,
// so that answers are attributed without the app's help; "" for an address no replica had.
func (d *Deployment) ReplicaOf(addr string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.names[addr]
}

// activeReplicas are the replicas the balancer sends to.
func (d *Deployment) activeReplicas() []Endpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Endpoint(nil), d.Replicas...)
}

// removeReplicas takes the last n replicas out of the balancer's next config (scale-in) and returns them.
func (d *Deployment) removeReplicas(n int) []Endpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	n = min(n, len(d.Replicas)-1)
	removed := append([]Endpoint(nil), d.Replicas[len(d.Replicas)-n:]...)
	d.Replicas = d.Replicas[:len(d.Replicas)-n]
	return removed
}

// replicasMade counts the replicas started so far, including ones a scale-in took away, so that a new replica
// never reuses a name.
func (d *Deployment) replicasMade() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, p := range d.parts {
		if strings.HasPrefix(p.Name(), "replica-") {
			n++
		}
	}
	return n
}

// renderBalancer renders the balancer's next config for the replicas recorded now.
func (d *Deployment) renderBalancer() (text []byte, gen int, err error) {
	d.mu.Lock()
	d.gen++
	gen = d.gen
	c := balancerConfigFor(d.topology, d.Replicas, gen)
	d.mu.Unlock()
	d.fillConfig(&c)
	text, err = d.kind.render(c, d.topology.Balancer.Template)
	return text, gen, err
}

// ReloadBalancer has the balancer load a config rendered for the replicas recorded now, and waits until it does.
func (d *Deployment) ReloadBalancer(ctx context.Context) error {
	if d.balancer == nil {
		return fmt.Errorf("reload balancer: no balancer was started")
	}
	text, gen, err := d.renderBalancer()
	if err != nil {
		return err
	}
	return d.balancer.Reload(ctx, text, gen, d.topology.Balancer.Template != nil)
}

// Endpoint is a named address.
type Endpoint struct {
	Name string
	Addr string
}

type closer struct {
	name string
	fn   func(context.Context) error
}

// onClose registers fn to run at Close, after every fn registered later (last started, first stopped).
func (d *Deployment) onClose(name string, fn func(context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, closer{name, fn})
}

// Close stops everything the deployment started, in reverse order. It is safe on a nil or partial deployment and
// idempotent; every part is stopped even when another fails to, and the errors are joined.
func (d *Deployment) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.closeErr
	}
	d.closed = true
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		c := d.closers[i]
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
	}
	d.closeErr = errors.Join(errs...)
	return d.closeErr
}
