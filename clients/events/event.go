// Package events is the event log: one record per HTTP exchange a simulated user made (docs/event-log.md),
// the marks the nemesis and the harness add around them (faults, the app's side, the run header and the log's end),
// and the JSON-lines writer and reader. Clients write it, the harness adds to it,
// reports read it; it imports nothing of sessionlab's.
package events

// Steps of a journey an exchange belongs to, and the steps of the records that are not exchanges.
const (
	StepLogin  = "login"
	StepPage   = "page"
	StepLogout = "logout"
	// StepSetup is an exchange of the journey's setup request (a sign-up, say), sent once per user before the first
	// login attempt, and of the redirects it leads to.
	StepSetup = "setup"
	// StepReauth is an exchange on the way back from a page the app sent to its identity provider: the provider,
	// the app's callback, the page again.
	StepReauth = "reauth"
	// StepWS is a WebSocket connection: its upgrade request, and whether the replica still had the state.
	StepWS = "ws"
	// StepFault marks a record that is not an exchange: the nemesis began or finished a fault (Event.Fault).
	StepFault = "fault"
	// StepStore marks the record, written after the users finished, of what the app's side counted (Event.Store).
	StepStore = "store"
	// StepBalancer marks the record, written after the users finished, of what the balancer itself said about its
	// upstreams (Event.Balancer).
	StepBalancer = "balancer"
	// StepRun marks the log's first record: the scenario and topology a report needs (Header).
	StepRun = "run"
	// StepEnd marks the log's last record (Event.End): without it, a log was cut short.
	StepEnd = "end"
)

// Outcomes of one exchange. A login attempt fails with the cause of its first non-ok exchange.
const (
	OutcomeOK       = "ok"
	OutcomeLoss     = "loss"     // an authenticated user's protected page answered with the login page
	OutcomeLoop     = "loop"     // a login was accepted, then the next page bounced back to login
	OutcomeCSRF     = "csrf"     // the replica did not know the login form's state
	OutcomeRejected = "rejected" // the credentials were refused
	OutcomeError    = "error"    // 5xx, a connection error, a timeout or an answer the journey cannot use
	// OutcomeRateLimited is a refusal for rate: 429, or 503 with Retry-After. Apart from error, because its cause
	// is a limit (often one address for everyone behind the balancer), not a failure.
	OutcomeRateLimited = "rate_limited"
	// OutcomeHarnessLimit is an exchange the harness's own part broke, not the system under test: it failed
	// without an answer from the app while a part the harness started and sized (a balancer instance, the front)
	// said in its log that it ran out of connections or files (BalancerStats.Limits), or while this process had
	// none left itself. A run with any is not a measurement of the system.
	OutcomeHarnessLimit = "harness_limit"
	// OutcomeReauth is an authenticated user's page sent to the identity provider for a new session: a silent
	// re-authentication unless the provider then prompts (a loss, on the StepReauth exchange that shows the form).
	OutcomeReauth = "reauth"
	// OutcomeInterrupted is an exchange the harness itself cut short: the run was interrupted (Ctrl-C, SIGTERM, a
	// cancelled context) and the request was still in flight when the users' grace ran out. It is neither the
	// app's nor the balancer's failure: it counts in no failure rate, and a login attempt it cut is no attempt.
	OutcomeInterrupted = "interrupted"
)

// Event is one record of the log: an HTTP exchange (one JSON line each), or a fault mark, the store record or the
// end record, told apart by Step.
type Event struct {
	TMs      int64  `json:"t_ms"` // since the run started
	User     int    `json:"user"`
	Addr     string `json:"addr"`
	Step     string `json:"step"`
	Attempt  int    `json:"attempt,omitempty"` // login and reauth: the user's login attempt (1-based); ws: the connection (1-based)
	Method   string `json:"method"`
	Path     string `json:"path"`
	Host     string `json:"host,omitempty"` // set when the request went to another host than the balancer (the identity provider)
	Status   int    `json:"status"`         // 0 when no answer came
	Location string `json:"location,omitempty"`
	Replica  string `json:"replica"` // "" when no replica answered
	// Instance is the balancer instance that answered, as it named itself in its X-Sessionlab-Instance header: set
	// in a tier of several (balancer.instances), "" with one balancer or when no answer came.
	Instance string `json:"instance,omitempty"`
	// Conn is set on an exchange with the balancer that opened a new connection, and says why: "first" (the
	// user's first), "keep-alive" (the browser let the last one go over a pause longer than clients.keep_alive),
	// "roam" (the user's address changed), "closed" (the balancer's side had closed the last one while it was idle,
	// or it failed before any answer and the request went again on a new one), "error" (the exchange before
	// failed). Empty: the exchange reused the connection the one before left open.
	Conn string `json:"conn,omitempty"`
	// Sent names the cookies the request carried, each "name:fingerprint" (the first 8 hex characters of the
	// SHA-256 of its value: another value, another session, and never the value itself). Set names those the answer
	// set the same way, and a cookie it cleared (Max-Age ≤ 0, an expiry in the past, or an empty value) as "name:-".
	Sent []string `json:"sent,omitempty"`
	Set  []string `json:"set,omitempty"`
	// Failover names the replica the balancer tried first when another answered (nginx lists every upstream it
	// tried in its upstream header): a replica it could not reach.
	Failover  string `json:"failover,omitempty"`
	Outcome   string `json:"outcome"`
	LatencyUS int64  `json:"latency_us"`
	Error     string `json:"error,omitempty"`
	// Fault is set on StepFault records only; they are not requests and count in no request figure.
	Fault *FaultMark `json:"fault,omitempty"`
	// Store is set on the StepStore record only.
	Store *StoreStats `json:"store,omitempty"`
	// Balancer is set on the StepBalancer record only.
	Balancer *BalancerStats `json:"balancer,omitempty"`
	// End is set on the StepEnd record only.
	End *End `json:"end,omitempty"`
}

// IsFault reports whether e is a fault mark rather than an exchange.
func (e Event) IsFault() bool { return e.Step == StepFault }

// IsExchange reports whether e records an HTTP exchange (a request sent), rather than a fault mark, the store
// record, the log's header or its end.
func (e Event) IsExchange() bool {
	switch e.Step {
	case StepFault, StepStore, StepBalancer, StepRun, StepEnd:
		return false
	}
	return true
}

// StoreStats is what the app's side held and counted at the end of a run: read from the real Redis and from
// every replica's /metrics. It is not a request and counts in no request figure.
type StoreStats struct {
	// Kind is where sessions lived: memory, redis or cookie.
	Kind string `json:"kind"`
	// Sessions held at the end: the session keys in Redis, the replicas' own records (memory), or for sealed
	// cookies, which nothing holds, every session the replicas issued.
	Sessions        int `json:"sessions"`
	SessionsCreated int `json:"sessions_created"` // logged-in sessions the replicas issued
	Logins          int `json:"logins"`           // of which after a password prompt
	SilentReauths   int `json:"silent_reauths"`   // of which after the identity provider vouched without a prompt
	CSRFRefusals    int `json:"csrf_refusals"`
	BadCookies      int `json:"bad_cookies"` // session cookies a replica could not open
	// Unread names the replicas whose metrics could not be read (down at the end): their counts are missing.
	Unread []string `json:"unread,omitempty"`
	// Keys is the SCAN pattern counted for your own app (app.store_keys): Sessions is then that count, and the
	// counters are not read (the app has no /metrics for sessionlab).
	Keys string `json:"keys,omitempty"`
}

// Fault phases a FaultMark records.
const (
	FaultStart = "start" // the action began
	FaultEnd   = "end"   // the action (and its undo, for a fault with a duration) finished
)

// FaultMark records that the nemesis began or finished one of the scenario's faults, at the record's TMs.
type FaultMark struct {
	Index  int    `json:"index"` // the fault's position in the scenario's faults list, from 0 (Meta.Faults)
	Action string `json:"action"`
	Target string `json:"target,omitempty"` // a part name ("replica-2", "nginx"), or "" for scale-out and scale-in
	Phase  string `json:"phase"`            // FaultStart or FaultEnd
	Error  string `json:"error,omitempty"`  // why the action failed, on its FaultEnd mark
}

// End closes a log: how many records came before it, the header included, so that a reader knows none is missing,
// and whether the run was interrupted before every user had finished. A log written before the interruption fields
// existed reads as a run that was not interrupted, its users done unknown.
type End struct {
	Records int64 `json:"records"`
	// Interrupted: the run was stopped (Ctrl-C, SIGTERM, a cancelled context) before every user had finished;
	// Cause says by what ("SIGINT", "SIGTERM", or the context's cause).
	Interrupted bool   `json:"interrupted,omitempty"`
	Cause       string `json:"cause,omitempty"`
	// UsersDone counts the users whose journey ran to its end; nil when the writer did not say.
	UsersDone *int `json:"users_done,omitempty"`
}

// BalancerStats is what the balancer said about its upstreams over the run, from its own statistics or log.
type BalancerStats struct {
	Kind string `json:"kind"`
	// Source says where the figures were read: "nginx error log", "haproxy stats", "caddy admin api".
	Source    string          `json:"source"`
	Upstreams []UpstreamStats `json:"upstreams"`
	// Unread names what the balancer could not be asked, and why.
	Unread []string `json:"unread,omitempty"`
	// Limits are what the logs of the parts the harness started on the way to the app (each balancer instance,
	// the front) said of the limits the harness sized them with: any entry makes the run the harness's, not the
	// system's (OutcomeHarnessLimit).
	Limits []LimitHit `json:"limits,omitempty"`
}

// LimitHit is one limit one part ran out of during the run, as its log said it.
type LimitHit struct {
	Part  string `json:"part"`  // the part's name: balancer, balancer-2, front
	Limit string `json:"limit"` // worker_connections, open_files, maxconn
	Lines int    `json:"lines"` // the log lines that said it (this process's own: the connections it could not open)
	// FirstMs and LastMs are when the harness first read such a line (since the run started): within a quarter
	// of a second of the part writing it.
	FirstMs int64  `json:"first_ms"`
	LastMs  int64  `json:"last_ms"`
	Sample  string `json:"sample"` // the last such line
}

// UpstreamStats is one upstream as the balancer saw it.
type UpstreamStats struct {
	Name string `json:"name"` // the replica's name ("" for an address the harness does not know)
	Addr string `json:"addr"`
	// FailedOver counts requests the balancer moved away from this upstream to another (HAProxy's redispatches);
	// -1 when the balancer does not count them (nginx reports them in each answer instead).
	FailedOver int `json:"failed_over"`
	// MarkedFailed counts the times the balancer marked this upstream failed or down (nginx: "temporarily
	// disabled"; HAProxy: a health check took it down; Caddy: its passive health check saw max_fails).
	MarkedFailed int `json:"marked_failed"`
}
