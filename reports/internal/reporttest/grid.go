package reporttest

import (
	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/reports"
)

// GridKinds and GridStrategies are the columns and rows of Grid, in its order: balancer.Kinds and the strategies
// make demo compares.
var (
	GridKinds      = []string{"nginx", "haproxy", "caddy", "traefik"}
	GridStrategies = []string{"round-robin", "least-conn", "ip-hash", "hash-cookie", "learn-cookie", "cookie-insert",
		"cookie-balanced", "client-ip-sticky"}
)

// gridRefused are the pairs Grid's balancers refuse, with the reasons sessionlab gives (make demo's).
var gridRefused = map[[2]string]string{
	{"nginx", "learn-cookie"}:       "not supported by nginx: open-source nginx cannot learn a cookie from an answer (no stick table); hash-cookie hashes it, cookie-insert sets its own, or kind: haproxy",
	{"nginx", "client-ip-sticky"}:   "not supported by nginx: open-source nginx has no client-IP stick table; use ip-hash (it keys on the /24), or kind: haproxy",
	{"haproxy", "cookie-balanced"}:  "not supported by haproxy: HAProxy's cookie names a server (cookie-insert); it has no balancer-minted key placed by consistent hashing; use cookie-insert, or kind: nginx",
	{"caddy", "hash-cookie"}:        "not supported by caddy: Caddy has no policy that hashes one cookie of the request (its cookie policy sets its own); use cookie-insert (lb_policy cookie), or kind: nginx or haproxy",
	{"caddy", "learn-cookie"}:       "not supported by caddy: Caddy cannot learn a cookie from an answer (no stick table); use cookie-insert (lb_policy cookie), or kind: haproxy",
	{"caddy", "cookie-balanced"}:    "not supported by caddy: Caddy's cookie names the upstream (an HMAC of its address: cookie-insert); it has no balancer-minted key placed by consistent hashing; use cookie-insert, or kind: nginx",
	{"caddy", "client-ip-sticky"}:   "not supported by caddy: Caddy has no client-IP stick table; ip-hash is its client_ip_hash (rendezvous hashing of the whole address), or kind: haproxy",
	{"traefik", "least-conn"}:       "not supported by traefik: Traefik has no least-connections strategy (p2c picks the less loaded of two servers drawn at random, leasttime the fastest); use round-robin, or kind: nginx, haproxy or caddy",
	{"traefik", "hash-cookie"}:      "not supported by traefik: Traefik has no strategy that hashes one cookie of the request; use cookie-insert (its sticky cookie), or kind: nginx or haproxy",
	{"traefik", "learn-cookie"}:     "not supported by traefik: Traefik cannot learn a cookie from an answer (no stick table); use cookie-insert (its sticky cookie), or kind: haproxy",
	{"traefik", "cookie-balanced"}:  "not supported by traefik: Traefik's sticky cookie names the server (a hash of its URL: cookie-insert); it has no balancer-minted key placed by consistent hashing; use cookie-insert, or kind: nginx",
	{"traefik", "client-ip-sticky"}: "not supported by traefik: Traefik has no client-IP stick table; ip-hash is its hrw strategy (rendezvous hashing of the client address), or kind: haproxy",
}

// gridFigures are a run's login failures (of 300 attempts), session losses (of 3000 protected pages) and requests
// max/mean over the replicas.
type gridFigures struct {
	failures, losses int
	skew             float64
}

// gridRuns are the figures of every pair Grid runs. The affinity-less strategies loop (round-robin, least-conn, and
// hash-cookie, which hashes a cookie that does not exist before the login); the sticky ones lose nothing, except
// where a band's edge or a skew is to be shown.
var gridRuns = map[[2]string]gridFigures{
	{"nginx", "round-robin"}:        {201, 2010, 1.0},
	{"haproxy", "round-robin"}:      {194, 2007, 1.0},
	{"caddy", "round-robin"}:        {211, 1953, 1.0},
	{"traefik", "round-robin"}:      {197, 1995, 1.0},
	{"nginx", "least-conn"}:         {190, 1980, 1.053},
	{"haproxy", "least-conn"}:       {187, 1896, 1.081},
	{"caddy", "least-conn"}:         {200, 1941, 1.037},
	{"nginx", "ip-hash"}:            {0, 0, 1.05},
	{"haproxy", "ip-hash"}:          {30, 150, 1.09},
	{"caddy", "ip-hash"}:            {3, 0, 1.06},
	{"traefik", "ip-hash"}:          {0, 0, 2.9},
	{"nginx", "hash-cookie"}:        {200, 0, 1.081},
	{"haproxy", "hash-cookie"}:      {205, 0, 1.114},
	{"haproxy", "learn-cookie"}:     {0, 0, 1.042},
	{"nginx", "cookie-insert"}:      {0, 0, 1.0},
	{"haproxy", "cookie-insert"}:    {0, 0, 1.0},
	{"caddy", "cookie-insert"}:      {0, 0, 1.0},
	{"traefik", "cookie-insert"}:    {1, 4, 1.0},
	{"nginx", "cookie-balanced"}:    {9, 60, 1.03},
	{"haproxy", "client-ip-sticky"}: {0, 0, 1.0},
}

// Grid is rr-memory compared on the four balancers under the eight strategies make demo runs: 32 variants, a
// balancer's eight strategies after another's (GridKinds × GridStrategies), of which the balancers refuse 12 as
// make demo's do (nginx learn-cookie and client-ip-sticky; haproxy cookie-balanced; caddy hash-cookie,
// learn-cookie, cookie-balanced and client-ip-sticky; traefik all but round-robin, ip-hash and cookie-insert),
// saying why in sessionlab's words. Each of the 20 runs is Healthy with 300 login attempts and 3000 protected pages;
// their failures, losses and skew (gridRuns) put the login failure rate in every band of the comparison matrix:
// 0.670 (nginx round-robin) and the other loops above 0.1; 0.100 (haproxy ip-hash) and 0.030 (nginx
// cookie-balanced, session loss 0.020) between 0.01 and 0.1; 0.010 (caddy ip-hash), 0.003 (traefik cookie-insert)
// and 0.000 at or below 0.01. traefik ip-hash crowds its requests (max/mean 2.900).
func Grid() []*reports.Report {
	var rs []*reports.Report
	for _, kind := range GridKinds {
		for _, strategy := range GridStrategies {
			pair := [2]string{kind, strategy}
			if why, ok := gridRefused[pair]; ok {
				rs = append(rs, reports.Skipped(kind, strategy, why))
				continue
			}
			f := gridRuns[pair]
			r := Healthy()
			r.Balancer = events.Balancer{Kind: kind, Strategy: strategy}
			t := &r.Totals
			t.LoginFailures, t.LoginFailRate = f.failures, new(float64(f.failures)/float64(t.LoginAttempts))
			t.SessionLosses, t.SessionLoss = f.losses, new(float64(f.losses)/float64(t.PageRequests))
			if f.failures > 0 {
				r.FailureCauses = causes(map[string]int{"loop": f.failures})
			}
			r.Skew.MaxOverMean = new(f.skew)
			rs = append(rs, r)
		}
	}
	return rs
}
