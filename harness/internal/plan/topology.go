package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/sessionlab/sessionlab/clients"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// Topology is what a runtime starts: the replicas, how each is configured, and the balancer in front.
type Topology struct {
	Name     string // the scenario's name, used in directory names and labels
	Seed     uint64 // secrets derive from it
	Users    int    // accounts the app must accept (user1..userN)
	App      AppSpec
	Replicas []ReplicaSpec // replica-1 .. replica-N, in order
	Balancer BalancerSpec
	// Switches are the balancers switch-balancer faults move to (sets 1, 2, …), each started with the rest.
	Switches []BalancerSpec

	// Identity is how users' addresses reach the balancer (clients.identity): with a PROXY header, or from real
	// loopback source addresses (bind).
	Identity string
	// Concurrency is how many users are active at once.
	Concurrency int
	// ClientConns is how many connections they hold at once (as the clients section's pauses and keep-alive let
	// them): it sizes the balancer's connection limits and the harness's files. Zero: one per user at once.
	ClientConns int
	// Target, when set, is a live deployment the users drive: nothing is started (the target runtime).
	Target *TargetSpec
	// Own is the user's app (app.command, app.image) run as the replicas; nil runs the built-in fakeapp.
	Own *OwnApp

	// How Replica names a replica's cookie and secret, also for replicas a scale-out adds.
	CookiePerReplica bool   // app.cookie_name: per-replica
	SecretPerReplica bool   // app.secret: per-replica
	SessionCookie    string // the user's app's session cookie (app.session_cookie), which hash-cookie hashes
}

// NeedsFakeApp reports whether the topology runs the fakeapp: as the replicas (the built-in app), or as the identity
// provider.
func (t Topology) NeedsFakeApp() bool { return t.Own == nil || t.App.NeedsIdP() }

// Bind reports whether clients connect from real loopback source addresses, without a PROXY header.
func (t Topology) Bind() bool { return t.Identity == vocab.IdentityBind }

// TargetSpec is a live deployment: where it is, and how an answer names the replica that gave it.
type TargetSpec struct {
	URL         string
	Attribution clients.Attribution
}

// ReplicaSpec is one replica's configuration.
type ReplicaSpec struct {
	Name       string // replica-1, replica-2, …
	Index      int    // 1, 2, …: the number in its name
	CookieName string // the session cookie's name on this replica
	Secret     string // the secret sealing its cookies: the same for all replicas, or its own
}

// AppSpec is how every replica keeps sessions and logs users in.
type AppSpec struct {
	Sessions       string // memory | redis | cookie
	Login          string // form | form-csrf | sso
	SessionTTL     time.Duration
	IdleTimeout    time.Duration
	ClearBadCookie bool
	IdPKey         string // sso: the key the identity provider and every replica share; oidc: the client secret
	// IdP is "oidc" when the user's own app logs in through an OpenID Connect provider sessionlab starts (fakeapp
	// oidc: mockoidc, approving every login).
	IdP string
}

// The OpenID Connect provider sessionlab starts for your own app (fakeapp oidc, mockoidc): the client id it
// knows, where its issuer lives on its address, and the discovery document that answers once it serves.
const ()

// NeedsStore reports whether the topology has a shared Redis.
func (a AppSpec) NeedsStore() bool { return a.Sessions == "redis" }

// NeedsIdP reports whether the topology has an identity provider.
func (a AppSpec) NeedsIdP() bool { return a.Login == "sso" || a.IdP == "oidc" }

// BalancerSpec is the balancer's configuration.
type BalancerSpec struct {
	Kind     string
	Strategy string
	Workers  int // nginx worker processes, HAProxy threads
	Settings balancer.Settings
	Template *template.Template // the user's config template (balancer.config), or nil for the built-in one
	// The tier (balancer.instances > 1): that many instances behind an L4 front spreading connections by Front.
	Instances int
	Front     string
	Peers     bool          // HAProxy: a peers section over all instances shares their stick tables
	Stagger   time.Duration // each instance sees a change of replicas this much later than the one before it
	// CookieSecretPerInstance: each instance signs Caddy's affinity cookie with its own secret.
	CookieSecretPerInstance bool
}

// Tier reports whether the balancer is several instances behind a front.
func (b BalancerSpec) Tier() bool { return b.Instances > 1 }

// Fronted reports whether an L4 front stands before the balancer: for a tier, or for a switch to another balancer.
func (t Topology) Fronted() bool { return t.Balancer.Tier() || len(t.Switches) > 0 }

// Sets are the balancers the run starts: the scenario's (set 0), then each a switch-balancer moves to.
func (t Topology) Sets() []BalancerSpec { return append([]BalancerSpec{t.Balancer}, t.Switches...) }

// Set is balancer set number set (0: the scenario's own).
func (t Topology) Set(set int) BalancerSpec {
	if set == 0 {
		return t.Balancer
	}
	return t.Switches[set-1]
}

// Instances is how many instances each balancer set runs.
func (t Topology) Instances() int { return max(t.Balancer.Instances, 1) }

// SetInstanceName is the part name of instance number index (from 1) of balancer set number set: InstanceName for
// the scenario's own; the kind of a set a switch moves to, with "-b", "-c", … when an earlier set has that kind too.
func (t Topology) SetInstanceName(set, index int) string {
	if set == 0 {
		return t.InstanceName(index)
	}
	kind := t.Set(set).Kind
	name := kind
	for earlier := range set {
		if t.Set(earlier).Kind == kind {
			name = kind + "-" + string(rune('a'+set))
		}
	}
	if t.Balancer.Tier() {
		name += "-" + strconv.Itoa(index)
	}
	return name
}

// AllInstanceNames lists every set's instances, set by set, when a front stands before them; none otherwise.
func (t Topology) AllInstanceNames() []string {
	if !t.Fronted() {
		return nil
	}
	var names []string
	for set := range t.Sets() {
		for i := range t.Instances() {
			names = append(names, t.SetInstanceName(set, i+1))
		}
	}
	return names
}

// PartFront names the tier's L4 front among the parts.
const PartFront = "front"

// InstanceName is the part name of the balancer instance numbered index (from 1): the kind alone for a lone
// balancer ("nginx"), the kind and the number in a tier ("nginx-2").
func (t Topology) InstanceName(index int) string {
	if !t.Balancer.Tier() {
		return t.Balancer.Kind
	}
	return t.Balancer.Kind + "-" + strconv.Itoa(index)
}

// InstanceNames lists the tier's instances in order; none for a lone balancer.
func (t Topology) InstanceNames() []string {
	if !t.Balancer.Tier() {
		return nil
	}
	names := make([]string, t.Balancer.Instances)
	for i := range names {
		names[i] = t.InstanceName(i + 1)
	}
	return names
}

// Replica is the configuration of the replica numbered index (from 1), also for replicas a scale-out adds.
func (t Topology) Replica(index int) ReplicaSpec {
	r := ReplicaSpec{Name: ReplicaName(index), Index: index, CookieName: "sid", Secret: DerivedSecret(t.Seed, "shared")}
	if t.CookiePerReplica {
		r.CookieName = "sid-" + r.Name
	}
	if t.SessionCookie != "" {
		r.CookieName = t.SessionCookie
	}
	if t.SecretPerReplica {
		r.Secret = DerivedSecret(t.Seed, r.Name)
	}
	return r
}

// ReplicaName is the name of the replica numbered index: replica-2 (the scenario's name for it).
func ReplicaName(index int) string { return vocab.ReplicaName(index) }

// ReplicaNames lists the replicas in order.
func (t Topology) ReplicaNames() []string {
	names := make([]string, len(t.Replicas))
	for i, r := range t.Replicas {
		names[i] = r.Name
	}
	return names
}

// BalancerConfig is what the template of balancer instance number instance (from 1) receives for config generation
// gen sending to replicas; the runtime adds where the instance listens and writes (and its peers).
func (t Topology) BalancerConfig(set, instance, gen int, replicas []balancer.Upstream) balancer.Config {
	b := t.Set(set)
	c := balancer.Config{
		Scenario: t.Name, Kind: b.Kind, Strategy: b.Strategy, Workers: b.Workers,
		ReadyPath: balancer.ReadyPath, Generation: gen, Settings: b.Settings, ProxyProtocol: !t.Bind(),
		UpstreamHeader: balancer.UpstreamHeader, Replicas: replicas, InstanceHeader: balancer.InstanceHeader,
	}
	if t.Fronted() {
		// The front passes every client's address on in a PROXY header, whatever the clients themselves send.
		c.Instance, c.ProxyProtocol = t.SetInstanceName(set, instance), true
		if b.CookieSecretPerInstance {
			c.Settings.CookieSecret = DerivedSecret(t.Seed, c.Instance)
		}
	}
	c.SizeFor(t.Connections())
	if len(t.Replicas) > 0 {
		c.AppCookie = t.Replicas[0].CookieName
	}
	return c
}

// FrontConfig is the tier's front listening on listen and sending to instances (each named for its instance).
func (t Topology) FrontConfig(listen string, instances []balancer.Upstream) balancer.FrontConfig {
	var sized balancer.Config
	sized.SizeFor(t.Connections())
	return balancer.FrontConfig{Scenario: t.Name, Listen: listen, ProxyProtocol: !t.Bind(), Spread: t.Balancer.Front,
		Instances: instances, MaxConns: sized.MaxConns, ReadyPath: balancer.ReadyPath}
}

// Connections is how many client connections the balancer must hold at once: two for each the users hold (its
// kept-alive connection, and a WebSocket or a login's second request in flight).
func (t Topology) Connections() int { return 2 * t.HeldConnections() }

// HeldConnections is how many connections the users hold at once: ClientConns, or one per user at once.
func (t Topology) HeldConnections() int {
	if t.ClientConns > 0 {
		return t.ClientConns
	}
	return t.Concurrency
}

// DerivedSecret is a secret derived from the scenario's seed, so that a run is reproducible and "per-replica" gives
// every replica its own, as processes that each make up a random key do.
func DerivedSecret(seed uint64, scope string) string {
	sum := sha256.Sum256([]byte("sessionlab/" + strconv.FormatUint(seed, 10) + "/" + scope))
	return hex.EncodeToString(sum[:])
}

// FakeAppArgs is the built-in app's command line for replica r listening on listen. storeAddr and idpURL are where
// the replica reaches Redis and where browsers reach the identity provider ("" when the topology has none).
func (t Topology) FakeAppArgs(r ReplicaSpec, listen, storeAddr, idpURL string) []string {
	a := t.App
	args := []string{"-listen", listen, "-name", r.Name, "-users", strconv.Itoa(t.Users), "-cookie-name", r.CookieName,
		"-secret", r.Secret, "-sessions", a.Sessions, "-login", a.Login}
	if a.SessionTTL > 0 {
		args = append(args, "-session-ttl", a.SessionTTL.String())
	}
	if a.IdleTimeout > 0 {
		args = append(args, "-idle-timeout", a.IdleTimeout.String())
	}
	if a.ClearBadCookie {
		args = append(args, "-clear-bad-cookie")
	}
	if a.NeedsStore() {
		args = append(args, "-redis", storeAddr)
	}
	if a.NeedsIdP() {
		args = append(args, "-idp-url", idpURL, "-idp-key", a.IdPKey)
	}
	return args
}

// IdPArgs is the identity provider's command line.
func (t Topology) IdPArgs(listen string) []string {
	if t.App.IdP == "oidc" {
		return []string{"oidc", "-listen", listen, "-client-id", contract.OIDCClientID, "-client-secret", t.App.IdPKey}
	}
	return []string{"idp", "-listen", listen, "-key", t.App.IdPKey, "-users", strconv.Itoa(t.Users)}
}

// IdPReadyPath answers 2xx once the identity provider serves.
func (t Topology) IdPReadyPath() string {
	if t.App.IdP == "oidc" {
		return contract.OIDCReadyPath
	}
	return "/healthz"
}
