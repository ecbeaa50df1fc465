// Package reports is the checker: it turns a run's event stream into the figures of docs/report.md (login failures and
// their causes, lost sessions, duplicate sessions, per-replica load and skew), splits them into the phases the run's
// fault marks delimit and sums up what each fault did to the users, checks them against a scenario's expectations
// and says in a few sentences what they mean (the diagnosis). It reads events only and starts nothing; its
// sub-package render writes the reports out.
package reports

import (
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports/internal/timeline"
)

// Schema names the version of the report JSON.
const Schema = "sessionlab.report/v1"

// Report is the v1 report JSON. A figure that cannot be computed (its denominator is zero) is null, never zero.
type Report struct {
	Schema string `json:"schema"`
	// Interrupted: the run was stopped (Ctrl-C, SIGTERM, a cancelled context) before every user had finished. The
	// figures are those of what ran (Totals.UsersDone of Totals.Users), exchanges cut short count as Interrupted
	// and in no failure, and no expectation is judged met. InterruptedBy says by what ("SIGINT", "SIGTERM", or the
	// context's cause).
	Interrupted   bool   `json:"interrupted,omitempty"`
	InterruptedBy string `json:"interrupted_by,omitempty"`
	// Skipped says why this variant of a comparison was not run (a strategy its balancer does not have); such a
	// report carries no figures.
	Skipped  string `json:"skipped,omitempty"`
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	Runtime  string `json:"runtime"`
	// Target is the live URL a target run drove; Attribution how its answers named the replica that gave them
	// ("header NAME", "cookie NAME", or "none": then there are no per-replica figures).
	Target        string          `json:"target,omitempty"`
	Attribution   string          `json:"attribution,omitempty"`
	Balancer      events.Balancer `json:"balancer"`
	App           events.App      `json:"app"`
	Totals        Totals          `json:"totals"`
	FailureCauses map[string]int  `json:"failure_causes"`
	Replicas      []Replica       `json:"replicas"`
	Skew          Skew            `json:"skew"`
	Stickiness    Stickiness      `json:"stickiness"`
	// Tier is the balancer tier, when the run had several balancer instances (Meta.Balancer.Instances).
	Tier   *Tier         `json:"tier,omitempty"`
	Phases []Phase       `json:"phases"` // empty when the scenario has no faults and no fault mark came
	Faults []FaultResult `json:"faults"` // one per Meta.Faults entry, in scenario order
	// Store is what the app's side held and counted, when the run read it (the harness does after every run).
	Store *Store `json:"store,omitempty"`
	// WebSocket sums up the WebSocket connections, when the users made any.
	WebSocket *WebSocket `json:"websocket,omitempty"`
	// Network is where the users' requests came from, as the balancer saw them.
	Network Network `json:"network"`
	// OverTime counts the exchanges' outcomes by when their answers arrived, for the plot of the run.
	OverTime OverTime `json:"over_time"`
	// Invalid, when set, says why the figures are the harness's rather than the system's: a part the harness
	// started and sized (a balancer instance, the front) or this process itself ran out of connections or files
	// (HarnessLimits), and the exchanges that broke on it count as harness_limit. Such a run measures nothing.
	Invalid string `json:"invalid,omitempty"`
	// HarnessLimits are the limits the harness's own parts ran out of, as their logs said (events.LimitHit).
	HarnessLimits []events.LimitHit `json:"harness_limits,omitempty"`
	// Diagnosis says in a few sentences what the figures mean and which fixes fit (docs/report.md, "Diagnosis").
	Diagnosis []Finding `json:"diagnosis"`
	// Witnesses are, for each failure cause that occurred, the first users it hit (the lowest ids, at most three)
	// and their exchanges around it (Witness); empty when nothing failed.
	Witnesses    []Witness     `json:"witnesses"`
	Expectations []Expectation `json:"expectations"`
}

// Network counts the distinct client addresses the exchanges carried.
type Network struct {
	Addresses int `json:"addresses"`
	// HashKeys are the distinct keys nginx ip_hash would hash: an IPv4 address's /24, an IPv6 address whole.
	HashKeys int `json:"hash_keys"`
}

// OverTime is the run cut into equal buckets by answer time (t_ms + latency), each counting its exchanges by
// outcome. The bucket width grows with the run so that there are at most 120 of them.
type OverTime struct {
	BucketMs int64    `json:"bucket_ms"`
	Buckets  []Bucket `json:"buckets"`
}

// Bucket is one stretch of OverTime: [FromMs, FromMs+BucketMs).
type Bucket struct {
	FromMs   int64 `json:"from_ms"`
	OK       int   `json:"ok"`
	Reauth   int   `json:"reauth"`
	Loss     int   `json:"loss"`
	Loop     int   `json:"loop"`
	CSRF     int   `json:"csrf"`
	Rejected int   `json:"rejected"`
	// RateLimited answers refused for rate (429, or 503 with Retry-After).
	RateLimited int `json:"rate_limited"`
	Error       int `json:"error"` // errors, and any outcome a client did not write
	// HarnessLimit counts the exchanges the harness's own parts broke (outcome harness_limit).
	HarnessLimit int `json:"harness_limit,omitempty"`
	// Interrupted exchanges the harness cut short when the run was interrupted.
	Interrupted int `json:"interrupted,omitempty"`
}

// Figures are what a whole run (Totals) and each phase of it (Phase) count: requests, logins and lost sessions.
type Figures struct {
	Requests    int `json:"requests"`
	Errors      int `json:"errors"`       // exchanges with outcome "error"
	RateLimited int `json:"rate_limited"` // exchanges refused for rate: 429, or 503 with Retry-After
	// HarnessLimit counts the exchanges the harness's own parts broke, not the system (outcome harness_limit).
	HarnessLimit int `json:"harness_limit,omitempty"`
	// Interrupted counts the exchanges the harness cut short when the run was interrupted (outcome interrupted):
	// neither errors nor failures of the app's or the balancer's.
	Interrupted   int      `json:"interrupted,omitempty"`
	LoginAttempts int      `json:"login_attempts"`
	LoginFailures int      `json:"login_failures"`
	LoginFailRate *float64 `json:"login_failure_rate"`
	PageRequests  int      `json:"page_requests"` // protected pages requested by authenticated users
	SessionLosses int      `json:"session_losses"`
	SessionLoss   *float64 `json:"session_loss_rate"`
	// ConnectionsClosed counts the exchanges that opened a new connection because the balancer's side had closed
	// the last one or it broke (events' conn "closed" or "error"): a balancer instance that dies closes its
	// connections. 0 in a log that does not record why connections opened (Totals.Connections is then absent).
	ConnectionsClosed int `json:"connections_closed"`
}

// setRates computes the rates from the counts; a rate whose denominator is zero is null.
func (f *Figures) setRates() {
	f.LoginFailRate = ratio(f.LoginFailures, f.LoginAttempts)
	f.SessionLoss = ratio(f.SessionLosses, f.PageRequests)
}

// Totals are the run's headline figures (docs/report.md, "Figures").
type Totals struct {
	Users int `json:"users"` // the users planned: the population's size
	// UsersDone counts the users whose journey ran to its end: all of Users, but on an interrupted run; absent when
	// the event log does not say (a log written before it did).
	UsersDone *int `json:"users_done,omitempty"`
	// PeakUsersAtOnce is the most users between their first exchange's start and their last one's end at one
	// moment.
	PeakUsersAtOnce int `json:"peak_users_at_once"`
	Figures
	// UsersInLoginLoop had two logins in a row bounced back to log in: a loop on the login itself, or a loss on
	// the very next protected page.
	UsersInLoginLoop int `json:"users_in_login_loop"`
	// AffectedUsers had any failed login, lost session or error.
	AffectedUsers int `json:"affected_users"`
	// SilentReauths are sessions issued after the identity provider vouched without a prompt, as the replicas
	// counted them; without the store record, the pages the clients saw sent to the identity provider.
	SilentReauths int `json:"silent_reauths"`
	// StoreSessions are the sessions the store(s) held at the end (Report.Store); null without the store record.
	StoreSessions *int `json:"store_sessions"`
	// SessionsCreated counts accepted login submissions: each creates one session in the app.
	SessionsCreated int `json:"sessions_created"`
	// UsersLoggedIn counts users with at least one accepted login submission.
	UsersLoggedIn int `json:"users_logged_in"`
	// DuplicateRatio is store_sessions / users_logged_in; without the store record, sessions_created /
	// users_logged_in.
	DuplicateRatio *float64 `json:"duplicate_session_ratio"`
	// Connections counts the exchanges that opened a new connection to the balancer, by why (events' conn:
	// first, keep-alive, roam, closed, error; every cause named); absent when the log does not record it.
	Connections map[string]int `json:"connections,omitempty"`
}

// Store is what the app's side held and counted at the end of the run, and where the figures came from.
type Store struct {
	events.StoreStats
	Source string `json:"source"`
}

// WebSocket sums up the users' WebSocket connections to state kept in the replicas' memory.
type WebSocket struct {
	Connections int `json:"connections"`
	Errors      int `json:"errors"`
	// Reconnects are connections after a user's first that got an answer; StateLost of them found the counter gone.
	Reconnects    int      `json:"reconnects"`
	StateLost     int      `json:"state_lost"`
	StateLossRate *float64 `json:"state_loss_rate"`
}

// Replica is one replica's share of the traffic.
type Replica struct {
	Name     string   `json:"name"`
	Requests int      `json:"requests"`
	Share    *float64 `json:"share"`
	Users    int      `json:"users"` // distinct users it served at least once
	// FailedOver counts the answers another replica gave after the balancer had picked this one first and could
	// not use it: a failover the balancer reported in its upstream header (nginx) or counted itself (HAProxy's
	// redispatches).
	FailedOver int `json:"failed_over"`
	// MarkedFailed counts the times the balancer marked this replica failed or down, as its own log or statistics
	// said (the balancer record of the event log).
	MarkedFailed int `json:"marked_failed"`
}

// Skew summarises how unevenly requests spread over the replicas.
type Skew struct {
	MaxOverMean *float64 `json:"max_over_mean"`
	CoV         *float64 `json:"cov"`  // standard deviation / mean
	Jain        *float64 `json:"jain"` // (sum x)^2 / (n * sum x^2); 1 is perfectly even
}

// Phase is the stretch of a run between two consecutive fault boundaries (a fault's start or end). An exchange
// belongs to the phase its answer arrived in (t_ms + latency); a login attempt to the phase of its first exchange.
type Phase struct {
	Name   string `json:"name"` // "before", "during kill replica-2", "after kill replica-2"
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
	Figures
	Users         int            `json:"users"`           // distinct users with an exchange in the phase
	UsersWithLoss int            `json:"users_with_loss"` // distinct users who lost a session in the phase
	Replicas      []PhaseReplica `json:"replicas"`        // the same names, in the same order, as Report.Replicas
}

// PhaseReplica is the requests one replica answered in a phase.
type PhaseReplica struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
}

// FaultResult is what one fault did to the users who were there before it and still there after it ("across").
// The user figures are null until the fault has ended: without an end there is no "after" to compare with.
type FaultResult struct {
	Index   int    `json:"index"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	At      string `json:"at"`
	StartMs *int64 `json:"start_ms"` // null when the run never reached the fault
	EndMs   *int64 `json:"end_ms"`
	Error   string `json:"error,omitempty"`
	// UsersAcross had an answer from a replica before the start and another at or after the end.
	UsersAcross *int `json:"users_across"`
	// MovedUsers are those across whose last replica before the start is not the one they settled on after the end
	// (the last to answer them before the next fault's start, or the end of the run).
	MovedUsers *int     `json:"moved_users"`
	MovedShare *float64 `json:"moved_share"`
	// UsersOnTarget are those across last served by the target before the start. It and the two loss splits are
	// null when the target is not a replica (a balancer, the store, or none).
	UsersOnTarget *int `json:"users_on_target"`
	// LostOnTarget and LostElsewhere split UsersLost by UsersOnTarget.
	LostOnTarget  *int `json:"lost_on_target"`
	LostElsewhere *int `json:"lost_elsewhere"`
	// UsersLost are those across who lost a session from the start until the next fault's start (or the run's end).
	UsersLost *int `json:"users_lost"`
	// To is the balancer a switch-balancer moved the users to.
	To *events.Balancer `json:"to,omitempty"`
	// FlippedUsers are the users answered during the fault ([start, end], by answer time) whose replicas in that
	// window went back to one they had left (A, B, then A again): balancers that disagreed on where a user belongs.
	FlippedUsers *int `json:"flipped_users"`
}

// loginCauses lists every failure cause a login attempt can have; the report always names all of them.
var loginCauses = []string{"loop", "csrf", "rejected", "rate_limited", "error", events.OutcomeHarnessLimit}

func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}

// Skipped is the row of a comparison for a balancer and strategy that cannot run together, saying why.
func Skipped(kind, strategy, why string) *Report {
	return &Report{Schema: Schema, Skipped: why, Balancer: events.Balancer{Kind: kind, Strategy: strategy},
		FailureCauses: map[string]int{}, Replicas: []Replica{}, Expectations: []Expectation{}, Phases: []Phase{}, Faults: []FaultResult{},
		OverTime: OverTime{Buckets: []Bucket{}}, Diagnosis: []Finding{}, Witnesses: []Witness{}}
}

// Label names the fault as the phases do: "kill replica-2", "scale-out".
func (f FaultResult) Label() string { return timeline.Label(f.Action, f.Target) }
