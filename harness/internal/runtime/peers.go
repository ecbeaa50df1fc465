package runtime

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// peersTimeout bounds how long AwaitPeers waits for a tier's instances to share their stick tables.
const peersTimeout = 20 * time.Second

// peersAgreements is how many fresh keys in a row must be found on every instance: a key that did not travel is
// still placed on the same replica by chance once in a few tries. peersSettle is how long they must have agreed
// without a break: an instance whose first connection to a peer not up yet failed connects again 5 s later
// (HAProxy's reconnect delay), and the session it then opens replaces the one that agreed, which leaves the tables
// apart for a while (measured: 30 to 49 of 600 pages lost in two runs of four without it).
const (
	peersAgreements = 4
	peersSettle     = 6 * time.Second
)

// AwaitPeers waits, when the tier's instances share their stick tables (balancer.peers), until they do: an entry
// made through any instance must lead to the same replica through every other, for peersSettle without a break. HAProxy connects its peers
// as it starts and tries a peer that was not up yet again only seconds later; users arriving before that would see
// the tables apart, and report it as the balancer's fault. The probes use keys no user has (addresses of
// 192.0.0.0/24, cookie values named for sessionlab).
func (d *Deployment) AwaitPeers(ctx context.Context) error {
	t := d.topology
	if !t.Balancer.Tier() || !t.Balancer.Peers {
		return nil
	}
	bs := d.Balancers()
	addrs := make([]string, len(bs))
	for i, b := range bs {
		a, err := d.HostAddr(ctx, b.Name())
		if err != nil {
			return fmt.Errorf("peers: %w", err)
		}
		addrs[i] = a
	}
	cookie := ""
	if t.Balancer.Strategy == "learn-cookie" && len(t.Replicas) > 0 {
		cookie = t.Replicas[0].CookieName
	}
	ctx, cancel := context.WithTimeout(ctx, peersTimeout)
	defer cancel()
	agreed, since, last := 0, time.Now(), error(nil)
	for key := 1; agreed < peersAgreements || time.Since(since) < peersSettle; key++ {
		src, value := fmt.Sprintf("192.0.0.%d", 1+key%254), fmt.Sprintf("sessionlab-peers-probe-%d", key)
		// Each key is made through the next instance in turn: every one must push what it learns.
		ok, err := peersAgree(ctx, rotate(addrs, key%len(addrs)), src, cookie, value)
		switch {
		case err != nil:
			agreed, since, last = 0, time.Now(), err
		case ok:
			if agreed++; agreed >= peersAgreements {
				continue
			}
		default:
			agreed, since, last = 0, time.Now(), fmt.Errorf("key %d led to different replicas on different instances", key)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the tier's instances did not share their stick tables within %s (balancer.peers): %w", peersTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// rotate is addrs starting at index i.
func rotate(addrs []string, i int) []string { return append(slices.Clone(addrs[i:]), addrs[:i]...) }

// peersAgree sends one probe through the first instance, then, once the update had time to travel, the same key
// through every other, and reports whether all were sent to one replica.
func peersAgree(ctx context.Context, addrs []string, src, cookie, value string) (bool, error) {
	first, err := probeUpstream(ctx, addrs[0], src, cookie, value)
	if err != nil {
		return false, err
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(50 * time.Millisecond):
	}
	for _, a := range addrs[1:] {
		up, err := probeUpstream(ctx, a, src, cookie, value)
		if err != nil || up != first {
			return false, err
		}
	}
	return true, nil
}

// probeUpstream sends GET / to a balancer instance from src (a PROXY header), with the cookie when named, and
// returns the upstream the instance sent it to.
func probeUpstream(ctx context.Context, addr, src, cookie, value string) (string, error) {
	attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	header := ""
	if cookie != "" {
		header = "Cookie: " + cookie + "=" + value + "\r\n"
	}
	resp, err := balancerGet(attempt, addr, src, "/", header)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	up := resp.Header.Get(balancer.UpstreamHeader)
	if up == "" {
		return "", fmt.Errorf("%s answered %s without %s", addr, resp.Status, balancer.UpstreamHeader)
	}
	return up, nil
}
