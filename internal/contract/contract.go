// Package contract owns what the fake app and the harness must agree on, written once: the header each replica
// names itself in, the metric names the harness reads after a run, where the replicas keep their records in a shared
// Redis, and the paths of the OpenID Connect provider. It is a leaf: the harness imports it instead of the fake app,
// so that a test binary driving sessionlab links none of the fake app's dependencies.
package contract

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ReplicaHeader is the response header in which every fake-app replica names itself (replica-2).
const ReplicaHeader = "X-Replica"

// WSIncrement is the one WebSocket message a replica takes (GET /ws): it adds one to the client's counter, kept in
// the replica's own memory, and answers the new value.
const WSIncrement = "inc"

// Metric names on a replica's GET /metrics.
const (
	MetricSessionsActive  = "sessionlab_sessions_active"
	MetricSessionsCreated = "sessionlab_sessions_created_total"
	MetricLogins          = "sessionlab_logins_total"
	MetricSilentReauths   = "sessionlab_silent_reauths_total"
	MetricCSRFRefusals    = "sessionlab_csrf_refusals_total"
	MetricBadCookies      = "sessionlab_bad_cookies_total"
)

// RedisKeyPrefix is where every replica keeps its records in a shared Redis; sessions are under
// RedisKeyPrefix+"session:", SSO states under RedisKeyPrefix+"state:".
const RedisKeyPrefix = "sessionlab:"

// The OpenID Connect provider (`fakeapp oidc`): its issuer's path on its address (mockoidc's issuer base, which a
// test of the fake app compares), the discovery document that says it is ready, and the one client it knows.
const (
	OIDCIssuerPath = "/oidc"
	OIDCReadyPath  = OIDCIssuerPath + "/.well-known/openid-configuration"
	OIDCClientID   = "sessionlab"
)

// CountKeys counts the keys matching pattern (a SCAN MATCH pattern) in rdb.
func CountKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	n := 0
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("redis scan %s: %w", pattern, err)
	}
	return n, nil
}
