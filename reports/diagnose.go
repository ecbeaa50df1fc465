package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/reports/internal/fig"
	"github.com/sessionlab/sessionlab/reports/internal/timeline"
)

// Finding is one sentence of a run's diagnosis: what its figures show, why, and which fixes fit.
type Finding struct {
	Rule  string   `json:"rule"`  // the rule that fired, e.g. "local-sessions-no-affinity"
	Text  string   `json:"text"`  // what the figures show and why, in a sentence or two
	Fixes []string `json:"fixes"` // the fixes that fit, as docs/contract.md's table of real reports names them
}

// Line is the finding as one line of text: what it says, then its fixes.
func (f Finding) Line() string {
	if len(f.Fixes) == 0 {
		return f.Text
	}
	return f.Text + " Fixes: " + strings.Join(f.Fixes, "; ") + "."
}

// The fixes a diagnosis names, worded as docs/contract.md's table of real reports words them, with the scenario key
// that tries each one (scenarios/README.md, "Fixes", lists them; docs/docs_test.go keeps it equal to these).
const (
	FixCookieAffinity   = "cookie affinity at the balancer (strategy: cookie-insert; on ingress-nginx, affinity: cookie with affinity-mode: persistent)"
	FixSharedStore      = "a shared session store (app.sessions: redis)"
	FixSameKey          = "the same crypto key on every replica (app.secret: shared)"
	FixSameSecretName   = "the same cookie secret and cookie name on every instance (app.secret: shared, app.cookie_name: shared)"
	FixIPHashStopGap    = "nginx ip_hash as a stop-gap (strategy: ip-hash)"
	FixStorePersist     = "persistence for the store (Redis RDB or AOF; restart-store persist: true shows it)"
	FixStoreReplicas    = "replicas of the store (Redis replication with failover)"
	FixSharedState      = "shared state: keep what the replicas remember per client in a store they all read"
	FixCookieBalancing  = "cookie affinity (strategy: cookie-insert), which balances per browser instead of per address"
	FixPersistentCookie = "a cookie that names the replica (strategy: cookie-insert; on ingress-nginx, affinity-mode: persistent)"
	FixSameKeyOwn       = "the same session key or secret on every replica (for Wakapi, one WAKAPI_COOKIE_KEY)"
	FixTrustForwarded   = "have the app take the client address from the balancer's X-Forwarded-For or X-Real-IP, which every built-in config sets, by trusting the balancer's address (Wakapi: WAKAPI_TRUST_REVERSE_PROXY_IPS)"
	FixRaiseLimit       = "or raise the app's limit for the test (Wakapi: WAKAPI_LOGIN_MAX_RATE)"
	// FixPeers and FixSameBalancerSecret are for a tier of balancer instances that each keep affinity of their own.
	FixPeers              = "share the stick table between instances (HAProxy peers: balancer.peers: true)"
	FixSameBalancerSecret = "the same cookie secret on every balancer instance (balancer.cookie_secret: shared)"
	// fixHarnessLimit is for a run whose own parts ran out (the harness's limits, not the system's).
	fixHarnessLimit = "give the run what it needs at its worst instant: spread the arrivals (clients.arrival: fixed or poisson), fewer users at once, shards on several machines, or a balancer config sized for them"
	// FixCompareBalancers is for a move from one balancer to another (switch-balancer).
	FixCompareBalancers = "compare both balancers on the same scenario before the move (sessionlab compare --balancers OLD,NEW), and move only once sessions live in a shared store"
)

// Thresholds below which a figure is noise rather than a finding.
const (
	notableRate = 0.05 // of login attempts, protected pages or reconnects
	notableDup  = 1.2  // store sessions per user logged in
	notableSkew = 1.3  // max/mean of requests per replica
	// fewKeysPerReplica: at most this many address-hash keys per replica count as "few" for an uneven spread.
	fewKeysPerReplica = 10
)

// affinityStrategies keep a user on one replica by something the user sends (address or cookie).
var affinityStrategies = []string{"ip-hash", "hash-cookie", "learn-cookie", "cookie-insert", "cookie-balanced", "client-ip-sticky"}

// replicaFaults are the faults that take a replica's memory away or move users between replicas.
var replicaFaults = []string{"kill", "stop", "restart", "rolling-restart", "scale-in", "scale-out"}

// diagnose derives a short diagnosis from the report's figures and topology alone: each rule that the figures
// trigger adds a finding, in a fixed order. A run where nothing went wrong gets one finding saying why it held.
func diagnose(r *Report) []Finding {
	if r.Skipped != "" {
		return []Finding{}
	}
	d := diagnosis{r: r, findings: []Finding{}}
	d.harnessLimits()
	d.unattributed()
	d.unreachable()
	d.localSessions()
	d.notAcceptedElsewhere()
	d.tierAffinity()
	d.affinityBroken()
	d.perReplicaKey()
	d.formState()
	d.duplicates()
	d.balancerSwitch()
	d.faultLosses()
	d.tierStagger()
	d.storeRestart()
	d.webSocketState()
	d.fewHashKeys()
	d.rateLimited()
	d.errors()
	d.healthy()
	d.addressAffinity()
	d.sharedStore()
	return d.findings
}

type diagnosis struct {
	r        *Report
	findings []Finding
}

func (d *diagnosis) add(rule, text string, fixes ...string) {
	if fixes == nil {
		fixes = []string{}
	}
	d.findings = append(d.findings, Finding{Rule: rule, Text: text, Fixes: fixes})
}

func (d *diagnosis) fired(rule string) bool {
	return slices.ContainsFunc(d.findings, func(f Finding) bool { return f.Rule == rule })
}

func (d *diagnosis) hasAffinity() bool {
	return slices.Contains(affinityStrategies, d.r.Balancer.Strategy)
}

func value(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

func pct(v *float64) string { return fmt.Sprintf("%.0f%%", 100*value(v)) }

// loopsOrLosses: logins bounced back to the login page, or logged-in users sent back to it, in notable numbers.
func (d *diagnosis) loopsOrLosses() bool {
	t := d.r.Totals
	loops := d.r.FailureCauses["loop"]
	return (value(t.LoginFailRate) >= notableRate && loops*2 >= t.LoginFailures) || value(t.SessionLoss) >= notableRate
}

// localSessions: sessions in each replica's memory behind a strategy that does not keep a user on one replica —
// the Wakapi report.
func (d *diagnosis) localSessions() {
	r, t := d.r, d.r.Totals
	if r.App.Own || r.App.Sessions != "memory" || d.hasAffinity() || !d.loopsOrLosses() {
		return
	}
	d.add("local-sessions-no-affinity", fmt.Sprintf(
		"%s of logins failed (%d bounced straight back to the login page) and %s of protected pages were lost: "+
			"each replica keeps its sessions in its own memory and %s keeps no affinity, so most requests reach a "+
			"replica that never saw the user's session.",
		pct(t.LoginFailRate), r.FailureCauses["loop"], pct(t.SessionLoss), r.Balancer.Strategy),
		FixCookieAffinity, FixSharedStore)
}

// affinityBroken: sessions in each replica's memory behind a strategy meant to keep users on one replica, and
// logins bounced anyway: what the strategy keys on changed between the login and the next page.
func (d *diagnosis) affinityBroken() {
	r, t := d.r, d.r.Totals
	if r.App.Sessions != "memory" || !d.hasAffinity() || !d.loopsOrLosses() || r.FailureCauses["loop"] == 0 ||
		d.fired("tier-affinity") {
		return
	}
	why := fmt.Sprintf("what %s keys on changed between the login and the next page (a cookie the browser did not keep, "+
		"an address that moved)", r.Balancer.Strategy)
	fixes := []string{FixSharedStore}
	if r.Balancer.Strategy == "hash-cookie" {
		why = "the session cookie it hashes does not exist until the login's answer sets it: every login hashes the " +
			"empty string onto one replica, and the next page, now carrying the cookie, hashes to another"
		if r.Balancer.Kind == "haproxy" {
			why = "the session cookie it hashes does not exist until the login's answer sets it: a request without it " +
				"(the login) is balanced round-robin, and the next page, now carrying the cookie, hashes to another"
		}
		fixes = []string{FixCookieAffinity, FixSharedStore}
	}
	d.add("affinity-broken", fmt.Sprintf("%s of logins failed (%d bounced straight back to the login page) although %s "+
		"should keep each user on one replica: %s.", pct(t.LoginFailRate), r.FailureCauses["loop"], r.Balancer.Strategy, why),
		fixes...)
}

// perReplicaKey: each replica seals cookies with its own key, so a cookie is opened only by its maker — the
// caddy-security report.
func (d *diagnosis) perReplicaKey() {
	r, t := d.r, d.r.Totals
	if r.App.Secret != "per-replica" || r.App.Sessions == "redis" {
		return // with a shared store the per-replica key shows as duplicates instead
	}
	bad := 0
	if r.Store != nil {
		bad = r.Store.BadCookies
	}
	if bad == 0 && !d.loopsOrLosses() {
		return
	}
	d.add("per-replica-key", fmt.Sprintf(
		"Each replica signs and encrypts with its own key: %d session cookies reached a replica that could not open "+
			"them, so a correct password still ends unauthenticated (%s of logins failed, %d bounced back to log in).",
		bad, pct(t.LoginFailRate), r.FailureCauses["loop"]),
		FixSameKey, FixCookieAffinity)
}

// formState: the login form's state (CSRF token, SSO state) was unknown to the replica that got the submission.
func (d *diagnosis) formState() {
	r, t := d.r, d.r.Totals
	csrf := r.FailureCauses["csrf"]
	if t.LoginAttempts == 0 || float64(csrf) < notableRate*float64(t.LoginAttempts) {
		return
	}
	what := "the login form's CSRF token"
	if r.App.Login == "sso" {
		what = "the sign-in state the app handed the identity provider"
	}
	fixes := []string{FixCookieAffinity, FixSharedStore}
	if r.App.Sessions == "redis" {
		fixes = []string{FixCookieAffinity, FixSameKey}
	}
	if r.App.Own {
		// What was seen, and both ways an app gets there.
		d.add("login-state-elsewhere", fmt.Sprintf(
			"%d of %d logins were refused with 403 at their submission or their single sign-on callback: the replica "+
				"that got that step did not accept the state the login started with on another (a CSRF token or "+
				"cookie), either because that state lived in the other replica's memory or because it was signed "+
				"with a key that differs per replica.", csrf, t.LoginAttempts),
			FixCookieAffinity, FixSharedStore, FixSameKeyOwn)
		return
	}
	d.add("login-state-elsewhere", fmt.Sprintf(
		"%d of %d login submissions were refused as forged: %s lived on the replica that started the login and "+
			"the submission reached another.", csrf, t.LoginAttempts, what), fixes...)
}

// duplicates: the store holds several sessions per user because instances cannot read each other's cookies and
// silently start their own — the OAuth2-Proxy report.
func (d *diagnosis) duplicates() {
	r, t := d.r, d.r.Totals
	ratio := value(t.DuplicateRatio)
	if ratio < notableDup || (r.App.Secret != "per-replica" && r.App.CookieName != "per-replica") {
		return
	}
	held := t.SessionsCreated
	if t.StoreSessions != nil {
		held = *t.StoreSessions
	}
	d.add("duplicate-sessions", fmt.Sprintf(
		"The store holds %.2f sessions per logged-in user (%d for %d users) after %d silent re-authentications: "+
			"each instance has its own cookie secret or cookie name, cannot read the others' cookies and quietly "+
			"creates a session of its own. Nothing fails visibly; the store grows with the number of instances.",
		ratio, held, t.UsersLoggedIn, t.SilentReauths),
		FixSameSecretName, FixIPHashStopGap)
}

// faultLosses: a fault on a replica took its users' sessions with it.
func (d *diagnosis) faultLosses() {
	r := d.r
	if r.App.Sessions != "memory" {
		return // a shared store or a sealed cookie outlives the replica; its losses have another cause
	}
	for _, f := range r.Faults {
		if !slices.Contains(replicaFaults, f.Action) || f.UsersLost == nil || *f.UsersLost == 0 || f.UsersAcross == nil {
			continue
		}
		text := fmt.Sprintf("%s (fault %d) cost %d of the %d users who were there before and after it their session",
			timeline.Label(f.Action, f.Target), f.Index+1, *f.UsersLost, *f.UsersAcross)
		if f.LostOnTarget != nil {
			text += fmt.Sprintf(", %d of them users of %s", *f.LostOnTarget, f.Target)
		}
		if f.MovedUsers != nil && *f.MovedUsers > 0 {
			text += fmt.Sprintf("; %d users were moved to another replica", *f.MovedUsers)
		}
		text += ": their sessions lived only in the memory of the replica they were on."
		fixes := []string{FixSharedStore}
		if r.Balancer.Strategy == "cookie-balanced" && (f.Action == "scale-out" || f.Action == "scale-in") {
			// ingress-nginx's balanced mode: the cookie holds a key, not a replica (its issue 4475).
			text += " cookie-balanced keeps a random key in its cookie and places it on a consistent-hash ring of the " +
				"replicas in service: changing their number moved the keys whose arc changed hands, and nothing rewrote the cookie."
			fixes = append(fixes, FixPersistentCookie)
		}
		d.add("replica-fault-lost-sessions", text, fixes...)
	}
}

// storeRestart: the shared store restarted without its data — the nginx + Redis report.
func (d *diagnosis) storeRestart() {
	for _, f := range d.r.Faults {
		if f.Action != "restart-store" || f.UsersLost == nil || *f.UsersLost == 0 {
			continue
		}
		d.add("store-restart", fmt.Sprintf(
			"Restarting the session store (fault %d) logged out %d of the %d users who were there before and after "+
				"it: every replica reads the same store, so what the store forgets every replica forgets.",
			f.Index+1, *f.UsersLost, value64(f.UsersAcross)),
			FixStorePersist, FixStoreReplicas)
	}
}

// balancerSwitch: users logged in before a move to another balancer (switch-balancer) who lost their session after
// it — the move off ingress-nginx.
func (d *diagnosis) balancerSwitch() {
	for _, f := range d.r.Faults {
		if f.Action != "switch-balancer" || f.UsersLost == nil || *f.UsersLost == 0 || f.To == nil {
			continue
		}
		why := "the affinity cookie users carried from the old one names nothing the new one knows, so it balanced them afresh"
		if d.r.Balancer.Strategy != "cookie-insert" && d.r.Balancer.Strategy != "cookie-balanced" {
			why = "the new one keeps its own affinity and knew none of them, so it balanced them afresh"
		}
		fixes := []string{FixSharedStore, FixCompareBalancers}
		if d.r.App.Sessions == "redis" {
			fixes = []string{FixCompareBalancers}
		}
		d.add("balancer-switch", fmt.Sprintf(
			"Switching from %s %s to %s %s (fault %d) logged out %d of the %d users who were there before and after it: "+
				"%s, and a replica that never saw a user's session sent it back to log in.",
			d.r.Balancer.Kind, d.r.Balancer.Strategy, f.To.Kind, f.To.Strategy, f.Index+1, *f.UsersLost, value64(f.UsersAcross), why),
			fixes...)
	}
}

func value64(v *int) int {
	if v == nil {
		return 0
	}
	return *v
}

// webSocketState: per-client state in a replica's memory, and reconnects that land elsewhere — the nginx ip_hash /
// sticky cookie report.
func (d *diagnosis) webSocketState() {
	ws := d.r.WebSocket
	if ws == nil || value(ws.StateLossRate) < notableRate {
		return
	}
	d.add("websocket-state-elsewhere", fmt.Sprintf(
		"%d of %d WebSocket reconnects found their state gone: it lives in the memory of one replica and %s sent "+
			"the reconnect to another.", ws.StateLost, ws.Reconnects, d.r.Balancer.Strategy),
		FixCookieAffinity, FixSharedState)
}

// fewHashKeys: skew under address hashing because the users came from few networks (offices, NAT, a proxy).
func (d *diagnosis) fewHashKeys() {
	r := d.r
	s := r.Balancer.Strategy
	n := r.Network
	keys := addressKeys(r)
	// With many keys per replica an address hash spreads evenly; uneven load then has another cause (a fault).
	if (s != "ip-hash" && s != "client-ip-sticky") || value(r.Skew.MaxOverMean) < notableSkew || keys > fewKeysPerReplica*r.App.Replicas {
		return
	}
	why := fmt.Sprintf("ip-hash keys an IPv4 client on its /24 and the users came from only %d such networks (%d addresses), "+
		"so each office lands whole on one replica", n.HashKeys, n.Addresses)
	if s == "ip-hash" && r.Balancer.Kind != "nginx" {
		why = fmt.Sprintf("%s's ip-hash hashes the whole address and the users came from only %d addresses, "+
			"so everyone behind one NAT lands on one replica", r.Balancer.Kind, n.Addresses)
	}
	if s == "client-ip-sticky" {
		why = fmt.Sprintf("client-IP stickiness keys on the address and the users came from only %d addresses, "+
			"so everyone behind one NAT lands on one replica", n.Addresses)
	}
	if n.Addresses == 1 {
		why = "every user reached the balancer from one address, as behind a CDN or a proxy, which gives " + s +
			" a single key: one replica takes everything"
	}
	d.add("few-hash-keys", fmt.Sprintf("Load is uneven (the busiest replica served %.2f× the mean): %s.",
		value(r.Skew.MaxOverMean), why), FixCookieBalancing)
}

// errors: answers that were not answers.
func (d *diagnosis) errors() {
	t := d.r.Totals
	if t.Requests == 0 || float64(t.Errors) < 0.01*float64(t.Requests) {
		return
	}
	during := 0
	for _, p := range d.r.Phases {
		if strings.HasPrefix(p.Name, "during ") {
			during += p.Errors
		}
	}
	text := fmt.Sprintf("%d of %d requests failed outright (5xx, refused or timed out)", t.Errors, t.Requests)
	if during > 0 {
		text += fmt.Sprintf(", %d of them while a fault was under way", during)
	}
	d.add("errors", text+".")
}

// unreachable: the balancer tried a replica it could not use and another answered (a failover) without any fault
// of the scenario taking that replica down: the figures describe fewer replicas than the scenario's.
func (d *diagnosis) unreachable() {
	r := d.r
	faulted := map[string]bool{}
	for _, f := range r.Faults {
		if f.Action == "rolling-restart" || f.Action == "scale-in" {
			return // every replica, or the last ones, go down on purpose
		}
		faulted[f.Target] = true
	}
	var names, marked []string
	failovers, marks, answering := 0, 0, 0
	for _, rep := range r.Replicas {
		if rep.Requests > 0 {
			answering++
		}
		if faulted[rep.Name] {
			continue
		}
		if rep.FailedOver > 0 {
			names = append(names, fmt.Sprintf("%s %d", rep.Name, rep.FailedOver))
			failovers += rep.FailedOver
		}
		if rep.MarkedFailed > 0 {
			marked = append(marked, fmt.Sprintf("%s %d", rep.Name, rep.MarkedFailed))
			marks += rep.MarkedFailed
		}
	}
	if failovers == 0 && marks == 0 {
		return
	}
	var said []string
	if failovers > 0 {
		said = append(said, fmt.Sprintf("%d answers came from another replica than the one it picked first (%s)",
			failovers, strings.Join(names, ", ")))
	}
	if marks > 0 {
		said = append(said, fmt.Sprintf("it marked replicas failed %d times (%s)", marks, strings.Join(marked, ", ")))
	}
	d.add("topology-differs", fmt.Sprintf(
		"The balancer could not use every replica: %s, with no fault of the scenario's, and %d of its %d replicas "+
			"answered anything. These figures describe the replicas the balancer could reach, not the scenario's "+
			"topology: check that every replica listens where the balancer sends.",
		strings.Join(said, "; "), answering, r.App.Replicas))
}

// notAcceptedElsewhere: the user's own app, whose sessions sessionlab cannot see, bounced logins or lost pages
// behind a strategy without affinity. Say what was seen, and the two mechanisms that produce it.
func (d *diagnosis) notAcceptedElsewhere() {
	r, t := d.r, d.r.Totals
	if !r.App.Own || d.hasAffinity() || !d.loopsOrLosses() {
		return
	}
	seen := fmt.Sprintf("%s of protected pages were lost", pct(t.SessionLoss))
	if loops := r.FailureCauses["loop"]; loops > 0 {
		seen = fmt.Sprintf("%s of logins failed (%d bounced straight back to the login page: the answer after the "+
			"login did not accept the session the login had just created) and ", pct(t.LoginFailRate), loops) + seen
	}
	spread := r.Balancer.Strategy + " spread each user over the replicas"
	if r.Stickiness.Mean != nil {
		spread += fmt.Sprintf(" (stickiness mean %s)", fig.Fmt(r.Stickiness.Mean))
	}
	d.add("session-not-accepted-elsewhere", fmt.Sprintf(
		"%s: %s, and a replica other than the one that created a session did not accept it. Two mechanisms do "+
			"this: sessions kept in one process's memory, or a key or secret that differs per process, so that a "+
			"cookie one replica sealed another cannot open.", seen, spread),
		FixCookieAffinity, FixSharedStore, FixSameKeyOwn)
}

// rateLimited: answers refused for rate. A limit per client address behind a balancer sees the balancer's address
// for every user unless the app trusts the address the balancer forwards.
func (d *diagnosis) rateLimited() {
	r, t := d.r, d.r.Totals
	if t.RateLimited == 0 {
		return
	}
	text := fmt.Sprintf("%d of %d requests were refused for rate (429, or 503 with Retry-After)", t.RateLimited, t.Requests)
	if n := r.FailureCauses["rate_limited"]; n > 0 {
		text += fmt.Sprintf(", failing %d of %d logins", n, t.LoginAttempts)
	}
	if r.Network.Addresses > 1 {
		text += fmt.Sprintf(": the users came from %d addresses, but a limit per client address that sees the "+
			"balancer's address for all of them counts them as one client and refuses them together.", r.Network.Addresses)
	} else {
		text += ": every user came from one address, which a limit per client address counts as one client."
	}
	d.add("rate-limited", text, FixTrustForwarded, FixRaiseLimit)
}

// healthy: nothing went wrong; say what kept it so.
func (d *diagnosis) healthy() {
	r, t := d.r, d.r.Totals
	if len(d.findings) > 0 || t.Requests == 0 || t.LoginFailures > 0 || t.SessionLosses > 0 {
		return
	}
	why := "every user stayed on the replica that knew the session"
	switch {
	case r.App.Replicas == 1:
		why = "there is one replica"
	case r.App.Own && r.Stickiness.Mean == nil:
		// No login created a session at one replica the clients could see (single sign-on): say only what held.
		why = fmt.Sprintf("under %s every replica a user reached accepted the user's session", r.Balancer.Strategy)
	case r.App.Own && value(r.Stickiness.Mean) < 1:
		// What was seen: sessionlab cannot see where the app keeps sessions, only that every replica took them.
		why = fmt.Sprintf("%s spread each user over the replicas (stickiness mean %s) and every replica accepted "+
			"every session", r.Balancer.Strategy, fig.Fmt(r.Stickiness.Mean))
	case r.App.Own:
		why = fmt.Sprintf("each user stayed on one replica (stickiness %s)", fig.Fmt(r.Stickiness.Mean))
	case r.App.Sessions == "redis":
		why = "every replica reads sessions from the same store"
	case r.App.Sessions == "cookie" && r.App.Secret != "per-replica":
		why = "the session travels in a cookie every replica can open"
	case d.hasAffinity():
		why = fmt.Sprintf("%s kept every user on the replica that created the session (stickiness %s)", r.Balancer.Strategy, fig.Fmt(r.Stickiness.Mean))
	}
	d.add("healthy", fmt.Sprintf("No login failed and no session was lost across %d users and %d requests: %s.", t.Users, t.Requests, why))
}

// addressAffinity: affinity by address holds only while addresses do; say what breaks it.
func (d *diagnosis) addressAffinity() {
	r := d.r
	s := r.Balancer.Strategy
	if (s != "ip-hash" && s != "client-ip-sticky") || r.App.Sessions == "redis" && r.WebSocket == nil || d.fired("few-hash-keys") {
		return
	}
	d.add("address-affinity", fmt.Sprintf(
		"%s holds users to replicas by address (%d keys for %d addresses): a replica that dies takes its users' "+
			"state with it, a user who changes network moves, and an office behind NAT or a proxy in front lands on "+
			"one replica.", s, addressKeys(r), r.Network.Addresses),
		FixCookieBalancing, FixSharedState)
}

// addressKeys counts the keys an address strategy had: nginx's ip_hash keys an IPv4 address on its /24; HAProxy's
// balance source, Caddy's client_ip_hash and every stick table key on the whole address.
func addressKeys(r *Report) int {
	if r.Balancer.Strategy == "ip-hash" && (r.Balancer.Kind == "nginx" || r.Balancer.Kind == "") {
		return r.Network.HashKeys
	}
	return r.Network.Addresses
}

// sharedStore: sessions in one shared store make every replica equal, and the store the thing to keep alive.
func (d *diagnosis) sharedStore() {
	r := d.r
	if r.App.Sessions != "redis" || d.fired("store-restart") || d.fired("duplicate-sessions") {
		return
	}
	d.add("shared-store", "Sessions live in one shared Redis, so any replica can serve any user; that store is now "+
		"what every login depends on: restarted without persistence it logs every user out.",
		FixStorePersist, FixStoreReplicas)
}

// unattributed says why a live target's report has no per-replica figures.
func (d *diagnosis) unattributed() {
	if d.r.Attribution != "none" {
		return
	}
	d.add("unattributed", "Which replica answered each request is unknown: the target was driven without a response header "+
		"or an affinity cookie that names it (target.replica_header, target.affinity_cookie), so the report has no "+
		"per-replica figures, skew or stickiness; the login and session figures stand.")
}
