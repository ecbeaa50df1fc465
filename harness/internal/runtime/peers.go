package runtime

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// peersTimeout bounds how long AwaitPeers waits for a tier's instances to share their stick tables.
const peersTimeout = 20 * time.Second

// peersAgreements is how many fresh keys in a row must be found on every instance: a key that did not travel is
// still placed on the same replica by chance once in a few tries.
const peersAgreements = 4

// AwaitPeers waits, when the tier's instances share their stick tables (balancer.peers), until they do: an entry
// made through the first instance must lead to the same replica through every other. HAProxy connects its peers
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
	agreed, last := 0, error(nil)
	for key := 1; agreed < peersAgreements; key++ {
		src, value := fmt.Sprintf("192.0.0.%d", 1+key%254), fmt.Sprintf("sessionlab-peers-probe-%d", key)
		ok, err := peersAgree(ctx, addrs, src, cookie, value)
		switch {
		case err != nil:
			agreed, last = 0, err
		case ok:
			agreed++
			continue
		default:
			agreed, last = 0, fmt.Errorf("key %d led to different replicas on different instances", key)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the tier's instances did not share their stick tables within %s (balancer.peers): %w", peersTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

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
	var dl net.Dialer
	conn, err := dl.DialContext(attempt, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if d, ok := attempt.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	header := ""
	if cookie != "" {
		header = "Cookie: " + cookie + "=" + value + "\r\n"
	}
	if _, err := fmt.Fprintf(conn, "PROXY TCP4 %s 127.0.0.1 1 1\r\nGET / HTTP/1.0\r\nHost: sessionlab\r\n%s\r\n", src, header); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	resp.Body.Close()
	up := resp.Header.Get(balancer.UpstreamHeader)
	if up == "" {
		return "", fmt.Errorf("%s answered %s without %s", addr, resp.Status, balancer.UpstreamHeader)
	}
	return up, nil
}
