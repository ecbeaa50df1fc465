// Package reporttest holds the report fixtures the reports and render tests share: hand-built *reports.Report
// values of one scenario, rr-memory (nginx round-robin over three replicas keeping their sessions in memory, 300
// users), so that a diagnosis test and a renderer test read the same run; Tiered is the same app behind a tier of
// two HAProxy instances. Every call returns a fresh report a test
// may change as it likes; Build applies named changes (Mod) to one. The tests assert the figures documented here:
// change one and change the assertions that read it.
package reporttest

import (
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// Mod changes one thing about a report.
type Mod func(*reports.Report)

// Build applies mods to base, in order, and returns it.
func Build(base *reports.Report, mods ...Mod) *reports.Report {
	for _, m := range mods {
		m(base)
	}
	return base
}

// storeSource is what Compute says of a memory store's figures.
const storeSource = "sessions held in the replicas' memory and counters, from every replica's /metrics"

// run is the scenario both fixtures ran, with no figures yet.
func run() *reports.Report {
	return &reports.Report{
		Schema: reports.Schema, Scenario: "rr-memory", Seed: 7, Runtime: "local",
		Balancer: events.Balancer{Kind: "nginx", Strategy: "round-robin"},
		App:      events.App{Replicas: 3, Sessions: "memory", Login: "form", Secret: "shared", CookieName: "shared"},
	}
}

// Healthy is a run where nothing went wrong: every login of the 300 users succeeded, no session was lost, the
// 3900 requests spread evenly, every user stayed on one replica, the store holds one session per user, and every
// figure is computed. Its phases, faults, over-time buckets, diagnosis, witnesses and expectations are empty (not
// null, as Compute writes them) and it has no WebSocket record.
func Healthy() *reports.Report {
	r := run()
	share := 1.0 / 3
	r.Totals = reports.Totals{
		Users:           300,
		Figures:         reports.Figures{Requests: 3900, LoginAttempts: 300, LoginFailRate: new(0.0), PageRequests: 3000, SessionLoss: new(0.0)},
		StoreSessions:   new(300),
		SessionsCreated: 300,
		UsersLoggedIn:   300,
		DuplicateRatio:  new(1.0),
	}
	r.FailureCauses = causes(nil)
	r.Replicas = []reports.Replica{
		{Name: "replica-1", Requests: 1300, Share: new(share), Users: 100},
		{Name: "replica-2", Requests: 1300, Share: new(share), Users: 100},
		{Name: "replica-3", Requests: 1300, Share: new(share), Users: 100},
	}
	r.Skew = reports.Skew{MaxOverMean: new(1.0), CoV: new(0.0), Jain: new(1.0)}
	r.Stickiness = reports.Stickiness{Users: 300, Mean: new(1.0), UsersAtOne: 300, ShareAtOne: new(1.0)}
	r.Phases, r.Faults = []reports.Phase{}, []reports.FaultResult{}
	r.Store = &reports.Store{StoreStats: events.StoreStats{Kind: "memory", Sessions: 300, SessionsCreated: 300, Logins: 300},
		Source: storeSource}
	r.Network = reports.Network{Addresses: 300, HashKeys: 120}
	r.OverTime = reports.OverTime{Buckets: []reports.Bucket{}}
	r.Diagnosis, r.Witnesses, r.Expectations = []reports.Finding{}, []reports.Witness{}, []reports.Expectation{}
	return r
}

// Looping is the Wakapi report: round-robin sends a user's next request to a replica that never saw the session.
// 201 of the 300 logins fail (loop 198, rejected 3) and 660 of the 990 protected pages are lost; the replicas got
// 1400, 1300 and 1200 requests.
//
// Its three faults: kill replica-2 at 1.5s (1500–2500 ms, ended, 97 of the 300 users across lost their session;
// replica-2 answers nothing after and its metrics are unread), pause nginx at 3.5s (started, never ended) and
// restart-store redis at 60s (never reached). Its four phases are before, during and after the kill, and during the
// pause. It carries five seconds of over-time buckets, a store record (420 sessions held for 280 users logged in,
// ratio 1.500), WebSocket state lost on 7 of 10 reconnects, one finding (local-sessions-no-affinity, two fixes),
// one witness (LoopWitness) and two expectations in key order: login_failure_rate < 0.01 unmet,
// skew.max_over_mean < 1.5 met.
func Looping() *reports.Report {
	r := run()
	r.Totals = reports.Totals{
		Users:           300,
		PeakUsersAtOnce: 300,
		Figures: reports.Figures{Requests: 3900, Errors: 5, LoginAttempts: 300, LoginFailures: 201, LoginFailRate: new(0.67),
			PageRequests: 990, SessionLosses: 660, SessionLoss: new(0.6667)},
		UsersInLoginLoop: 180,
		AffectedUsers:    250,
		StoreSessions:    new(420),
		SessionsCreated:  420,
		UsersLoggedIn:    280,
		DuplicateRatio:   new(1.5),
	}
	r.FailureCauses = causes(map[string]int{"loop": 198, "rejected": 3})
	r.Replicas = []reports.Replica{
		{Name: "replica-1", Requests: 1400, Share: new(0.359), Users: 210},
		{Name: "replica-2", Requests: 1300, Share: new(0.333), Users: 200},
		{Name: "replica-3", Requests: 1200, Share: new(0.308), Users: 190},
	}
	r.Skew = reports.Skew{MaxOverMean: new(1.077), CoV: new(0.063), Jain: new(0.996)}
	r.Stickiness = reports.Stickiness{Users: 280, Mean: new(0.334), UsersAtOne: 2, ShareAtOne: new(0.007)}
	r.Phases = []reports.Phase{
		{Name: "before", FromMs: 0, ToMs: 1500, Users: 300, UsersWithLoss: 150,
			Figures: reports.Figures{Requests: 1200, LoginAttempts: 150, LoginFailures: 100, LoginFailRate: new(0.6667),
				PageRequests: 300, SessionLosses: 200, SessionLoss: new(0.6667)},
			Replicas: perReplica(400, 400, 400)},
		{Name: "during kill replica-2", FromMs: 1500, ToMs: 2500, Users: 290, UsersWithLoss: 90,
			Figures: reports.Figures{Requests: 800, LoginAttempts: 150, LoginFailures: 101, LoginFailRate: new(0.6733),
				PageRequests: 190, SessionLosses: 90, SessionLoss: new(0.3)},
			Replicas: perReplica(400, 0, 400)},
		{Name: "after kill replica-2", FromMs: 2500, ToMs: 3500, Users: 300, UsersWithLoss: 97,
			Figures:  reports.Figures{Requests: 1900, Errors: 4, PageRequests: 500, SessionLosses: 300, SessionLoss: new(0.6)},
			Replicas: perReplica(950, 0, 950)},
		{Name: "during pause nginx", FromMs: 3500, ToMs: 5000, Users: 1,
			Figures:  reports.Figures{Requests: 1, Errors: 1},
			Replicas: perReplica(0, 0, 0)},
	}
	r.Faults = []reports.FaultResult{
		{Index: 0, Action: "kill", Target: "replica-2", At: "1.5s", StartMs: new(int64(1500)), EndMs: new(int64(2500)),
			UsersAcross: new(300), MovedUsers: new(98), MovedShare: new(0.3267), UsersOnTarget: new(98),
			LostOnTarget: new(97), LostElsewhere: new(0), UsersLost: new(97)},
		{Index: 1, Action: "pause", Target: "nginx", At: "3.5s", StartMs: new(int64(3500))},
		{Index: 2, Action: "restart-store", Target: "redis", At: "60s"},
	}
	r.Store = &reports.Store{StoreStats: events.StoreStats{Kind: "memory", Sessions: 420, SessionsCreated: 420, Logins: 420,
		CSRFRefusals: 1, BadCookies: 2, Unread: []string{"replica-2"}}, Source: storeSource}
	r.WebSocket = &reports.WebSocket{Connections: 40, Errors: 1, Reconnects: 10, StateLost: 7, StateLossRate: new(0.7)}
	r.Network = reports.Network{Addresses: 300, HashKeys: 2}
	buckets := make([]reports.Bucket, 10)
	for i := range buckets {
		buckets[i] = reports.Bucket{FromMs: int64(i) * 500, OK: 40 + i, Loss: i % 3, Loop: i / 4, CSRF: 1, Error: i % 2}
	}
	r.OverTime = reports.OverTime{BucketMs: 500, Buckets: buckets}
	r.Diagnosis = []reports.Finding{{
		Rule:  "local-sessions-no-affinity",
		Text:  "Sessions live in each replica's memory and round-robin sends the next request elsewhere: a login loop.",
		Fixes: []string{"affinity: cookie on the ingress", "a shared session store"},
	}}
	r.Witnesses = []reports.Witness{LoopWitness()}
	r.Expectations = []reports.Expectation{
		{Key: "login_failure_rate", Want: "< 0.01", Got: new(0.67), OK: false},
		{Key: "skew.max_over_mean", Want: "< 1.5", Got: new(1.077), OK: true},
	}
	return r
}

// LoopWitness is user 7's login loop, Looping's witness: replica-1 answers the form (setting csrf:5e1f0a2b) and
// accepts the submission (setting sid:1a2b3c4d), replica-2 sends the next page back to /login (the failing exchange,
// index 2) and clears the cookie (sid:-), and replica-3 answers the next attempt's form, on a new connection
// because the balancer's side closed the last one.
func LoopWitness() reports.Witness {
	ex := func(tms int64, attempt int, method, path string, status int, location, replica string, sent, set []string, outcome string) events.Event {
		return events.Event{TMs: tms, User: 7, Addr: "198.18.0.7", Step: events.StepLogin, Attempt: attempt, Method: method,
			Path: path, Status: status, Location: location, Replica: replica, Sent: sent, Set: set, Outcome: outcome,
			LatencyUS: 1500}
	}
	x := []events.Event{
		ex(12, 1, "GET", "/login", 200, "", "replica-1", nil, []string{"csrf:5e1f0a2b"}, events.OutcomeOK),
		ex(15, 1, "POST", "/login", 302, "/", "replica-1", []string{"csrf:5e1f0a2b"}, []string{"sid:1a2b3c4d"}, events.OutcomeOK),
		ex(17, 1, "GET", "/", 302, "/login", "replica-2", []string{"sid:1a2b3c4d"}, []string{"sid:-"}, events.OutcomeLoop),
		ex(20, 2, "GET", "/login", 200, "", "replica-3", nil, []string{"csrf:77c0d1e9"}, events.OutcomeOK),
	}
	x[0].Conn, x[3].Conn = "first", "closed"
	return reports.Witness{Cause: events.OutcomeLoop, User: 7, Failed: 2, Exchanges: x}
}

// Variants is rr-memory compared under three balancer and strategy pairs, the last of which its balancer refuses:
//
//  0. nginx round-robin: Looping.
//  1. nginx ip-hash: no login fails, the session loss rate could not be computed (no protected page was
//     answered: n/a of 0 pages), two hash keys crowd the requests onto replica-1 (max/mean 2.900), no
//     finding, no witness, and its one expectation (login_failure_rate < 0.01) is met.
//  2. haproxy hash-cookie: skipped, "haproxy has no hash-cookie strategy".
//
// Two of the three expectations are met.
func Variants() []*reports.Report {
	sticky := Looping()
	sticky.Balancer.Strategy = "ip-hash"
	t := &sticky.Totals
	t.LoginFailures, t.LoginFailRate = 0, new(0.0)
	t.PageRequests, t.SessionLosses, t.SessionLoss = 0, 0, nil
	t.UsersInLoginLoop, t.AffectedUsers = 0, 0
	sticky.FailureCauses = causes(nil)
	sticky.Replicas = []reports.Replica{
		{Name: "replica-1", Requests: 3770, Share: new(0.967), Users: 290},
		{Name: "replica-2", Requests: 130, Share: new(0.033), Users: 10},
		{Name: "replica-3", Requests: 0, Share: new(0.0), Users: 0},
	}
	sticky.Skew = reports.Skew{MaxOverMean: new(2.9), CoV: new(1.344), Jain: new(0.356)}
	sticky.Diagnosis = nil
	sticky.Witnesses = []reports.Witness{}
	sticky.Expectations = []reports.Expectation{{Key: "login_failure_rate", Want: "< 0.01", Got: new(0.0), OK: true}}
	return []*reports.Report{Looping(), sticky, reports.Skipped("haproxy", "hash-cookie", "haproxy has no hash-cookie strategy")}
}

// Tiered is the same app behind a tier of two HAProxy instances, haproxy-1 and haproxy-2, under client-ip-sticky
// with a stick table each (no peers), behind a front that sends each new connection to the next instance
// (stagger 500 ms). 60 of the 300 logins fail (loop 60) and 95 of the 3000 protected pages are lost: 88 on another
// instance than the login's, 4 on the login's, 3 unattributed. haproxy-1 answered 2000 requests (0.515), 250 users,
// 2 errors, 190 connections; haproxy-2 1880 (0.485), 170 users, 3 errors, 165 connections; 20 requests no instance
// answered; 120 users met both. The 355 new connections: first 300, keep-alive 40, closed 12, error 3 (15 closed).
//
// Its two faults: kill-balancer balancer-2 at 2s (2000–2000 ms, 280 users across, 70 lost, 0 flipped) and
// scale-out at 4s (4000–4600 ms, 270 across, 25 lost, 37 flipped). Its five phases are before, during and after
// each; the 15 connections closed are all after the kill. One finding (tier-affinity), no expectation.
func Tiered() *reports.Report {
	r := run()
	r.Scenario = "tier-sticky"
	r.Balancer = events.Balancer{Kind: "haproxy", Strategy: "client-ip-sticky", Instances: []string{"haproxy-1", "haproxy-2"},
		Front: "connection", StaggerMs: 500}
	r.Totals = reports.Totals{
		Users:           300,
		PeakUsersAtOnce: 300,
		Figures: reports.Figures{Requests: 3900, Errors: 20, LoginAttempts: 300, LoginFailures: 60, LoginFailRate: new(0.2),
			PageRequests: 3000, SessionLosses: 95, SessionLoss: new(95.0 / 3000), ConnectionsClosed: 15},
		UsersInLoginLoop: 20,
		AffectedUsers:    140,
		StoreSessions:    new(360),
		SessionsCreated:  360,
		UsersLoggedIn:    300,
		DuplicateRatio:   new(1.2),
		Connections:      map[string]int{"first": 300, "keep-alive": 40, "roam": 0, "closed": 12, "error": 3},
	}
	r.FailureCauses = causes(map[string]int{"loop": 60})
	r.Replicas = []reports.Replica{
		{Name: "replica-1", Requests: 1310, Share: new(1310.0 / 3880), Users: 160},
		{Name: "replica-2", Requests: 1290, Share: new(1290.0 / 3880), Users: 150},
		{Name: "replica-3", Requests: 1280, Share: new(1280.0 / 3880), Users: 140},
	}
	r.Skew = reports.Skew{MaxOverMean: new(1.013), CoV: new(0.01), Jain: new(1.0)}
	r.Stickiness = reports.Stickiness{Users: 300, Mean: new(0.9), UsersAtOne: 200, ShareAtOne: new(0.667)}
	r.Tier = &reports.Tier{Front: "connection", NoInstance: 20, UsersOnSeveral: 120,
		LossesElsewhere: 88, LossesSameInstance: 4, LossesUnattributed: 3,
		Instances: []reports.Instance{
			{Name: "haproxy-1", Requests: 2000, Share: new(2000.0 / 3880), Users: 250, Errors: 2, Connections: 190},
			{Name: "haproxy-2", Requests: 1880, Share: new(1880.0 / 3880), Users: 170, Errors: 3, Connections: 165},
		}}
	phase := func(name string, from, to int64, requests, errors, closed int, r1, r2, r3 int) reports.Phase {
		return reports.Phase{Name: name, FromMs: from, ToMs: to, Users: 300,
			Figures:  reports.Figures{Requests: requests, Errors: errors, ConnectionsClosed: closed},
			Replicas: perReplica(r1, r2, r3)}
	}
	r.Phases = []reports.Phase{
		phase("before", 0, 2000, 1500, 0, 0, 500, 500, 500),
		phase("during kill-balancer balancer-2", 2000, 2000, 0, 0, 0, 0, 0, 0),
		phase("after kill-balancer balancer-2", 2000, 4000, 1400, 15, 15, 465, 465, 455),
		phase("during scale-out", 4000, 4600, 500, 0, 0, 175, 165, 160),
		phase("after scale-out", 4600, 6000, 500, 5, 0, 170, 160, 165),
	}
	r.Faults = []reports.FaultResult{
		{Index: 0, Action: "kill-balancer", Target: "balancer-2", At: "2s", StartMs: new(int64(2000)), EndMs: new(int64(2000)),
			UsersAcross: new(280), MovedUsers: new(60), MovedShare: new(60.0 / 280), UsersLost: new(70), FlippedUsers: new(0)},
		{Index: 1, Action: "scale-out", At: "4s", StartMs: new(int64(4000)), EndMs: new(int64(4600)),
			UsersAcross: new(270), MovedUsers: new(40), MovedShare: new(40.0 / 270), UsersLost: new(25), FlippedUsers: new(37)},
	}
	r.Store = &reports.Store{StoreStats: events.StoreStats{Kind: "memory", Sessions: 360, SessionsCreated: 360, Logins: 360},
		Source: storeSource}
	r.Network = reports.Network{Addresses: 300, HashKeys: 120}
	r.OverTime = reports.OverTime{BucketMs: 100, Buckets: []reports.Bucket{}}
	r.Witnesses = []reports.Witness{}
	r.Diagnosis = []reports.Finding{{
		Rule:  "tier-affinity",
		Text:  "88 of the 92 session losses with an instance on both sides came from another balancer instance.",
		Fixes: []string{reports.FixPeers, reports.FixCookieAffinity, reports.FixSharedStore},
	}}
	r.Expectations = []reports.Expectation{}
	return r
}

// causes names every failure cause, as Compute does (an empty run's report names them all), with the counts given
// and zero for the rest.
func causes(counts map[string]int) map[string]int {
	m := reports.Compute(events.Meta{}, nil).FailureCauses
	for c := range m {
		m[c] = counts[c]
	}
	return m
}

// perReplica is a phase's requests of replica-1, replica-2 and replica-3.
func perReplica(r1, r2, r3 int) []reports.PhaseReplica {
	return []reports.PhaseReplica{{Name: "replica-1", Requests: r1}, {Name: "replica-2", Requests: r2}, {Name: "replica-3", Requests: r3}}
}
