package fakeapp

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit is Wakapi's login limit: at most Count login submissions per Window from one client address, answered
// 429 with Retry-After beyond that. The address is the connection's peer unless the peer is a trusted proxy, whose
// X-Forwarded-For (its last entry) then names the client — so behind a balancer that is not trusted every user
// shares the balancer's address, and its limit.
type RateLimit struct {
	Count  int
	Window time.Duration
	// TrustProxies are the peers whose X-Forwarded-For is believed (Wakapi's WAKAPI_TRUST_REVERSE_PROXY_IPS).
	TrustProxies []netip.Prefix
}

// parseRate reads "COUNT/WINDOW", e.g. "10/1m" (Wakapi's WAKAPI_LOGIN_MAX_RATE form).
func parseRate(s string) (count int, window time.Duration, err error) {
	c, w, ok := strings.Cut(s, "/")
	if ok {
		count, err = strconv.Atoi(c)
	}
	if ok && err == nil {
		window, err = time.ParseDuration(w)
	}
	if !ok || err != nil || count < 1 || window <= 0 {
		return 0, 0, fmt.Errorf("%q is not a rate (COUNT/WINDOW, e.g. 10/1m)", s)
	}
	return count, window, nil
}

// limiter keeps, per client address, the times of its recent submissions.
type limiter struct {
	RateLimit
	mu   sync.Mutex
	seen map[string][]time.Time
}

func newLimiter(rl RateLimit) *limiter {
	if rl.Count <= 0 {
		return nil
	}
	return &limiter{RateLimit: rl, seen: map[string][]time.Time{}}
}

// allow records a submission from r's client and says whether it is within the limit; when not, how long until it
// would be.
func (l *limiter) allow(r *http.Request, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	client := l.client(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.seen[client][:0]
	for _, t := range l.seen[client] {
		if now.Sub(t) < l.Window {
			recent = append(recent, t)
		}
	}
	if len(recent) >= l.Count {
		l.seen[client] = recent
		return false, l.Window - now.Sub(recent[0])
	}
	l.seen[client] = append(recent, now)
	return true, 0
}

func (l *limiter) client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	for _, p := range l.TrustProxies {
		if p.Contains(peer.Unmap()) {
			if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				hops := strings.Split(xff[len(xff)-1], ",")
				if c := strings.TrimSpace(hops[len(hops)-1]); c != "" {
					return c
				}
			}
			break
		}
	}
	return host
}
