package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// SetAdminSocket records the Unix socket the admin API of the next Caddy instance listens on (the local runtime's).
func (d *Deployment) SetAdminSocket(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.admin = append(d.admin, path)
}

// caddyWatch is what polling Caddy's /reverse_proxy/upstreams saw: per upstream address, the failures its passive
// health check counted (the rises of "fails", which also fall as failures older than fail_duration expire) and
// the times "fails" reached max_fails, when Caddy stops choosing the upstream.
type caddyWatch struct {
	mu       sync.Mutex
	last     map[string]int
	failures map[string]int
	marked   map[string]int
	polls    int
	err      error
}

// pollEvery is how often Caddy's counts are read: well inside fail_duration (10s by default), so that a failure
// is seen before it expires.
const pollEvery = 200 * time.Millisecond

// WatchBalancer polls what the balancer counts only while it happens (Caddy's failures, through each instance's
// admin socket) until stop is called; BalancerStats then reports it. For any other balancer it does nothing.
func (d *Deployment) WatchBalancer(ctx context.Context) (stop func()) {
	d.mu.Lock()
	socks, kind := slices.Clone(d.admin), d.kind
	d.mu.Unlock()
	if len(socks) == 0 || kind == nil || kind.Name != "caddy" || d.topology.Balancer.Settings.MaxFails <= 0 {
		return func() {}
	}
	stops := make([]func(), len(socks))
	for i, sock := range socks {
		w := &caddyWatch{last: map[string]int{}, failures: map[string]int{}, marked: map[string]int{}}
		d.mu.Lock()
		d.watches = append(d.watches, w)
		d.mu.Unlock()
		stops[i] = d.watchCaddy(ctx, w, sock)
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// watchCaddy polls one instance's admin socket into w until stop is called.
func (d *Deployment) watchCaddy(ctx context.Context, w *caddyWatch, sock string) (stop func()) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		},
	}}
	maxFails := d.topology.Balancer.Settings.MaxFails
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			w.poll(ctx, client, maxFails)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		w.poll(context.Background(), client, maxFails) // the last word, after the users stopped
		client.CloseIdleConnections()
	}
}

type caddyUpstream struct {
	Address string `json:"address"`
	Fails   int    `json:"fails"`
}

func (w *caddyWatch) poll(ctx context.Context, client *http.Client, maxFails int) {
	ups, err := readCaddyUpstreams(ctx, client)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			w.err = err
		}
		return
	}
	w.polls++
	for _, u := range ups {
		before := w.last[u.Address]
		if u.Fails > before {
			w.failures[u.Address] += u.Fails - before
		}
		if before < maxFails && u.Fails >= maxFails {
			w.marked[u.Address]++
		}
		w.last[u.Address] = u.Fails
	}
}

func readCaddyUpstreams(ctx context.Context, client *http.Client) ([]caddyUpstream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://caddy/reverse_proxy/upstreams", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /reverse_proxy/upstreams: %s", resp.Status)
	}
	var ups []caddyUpstream
	if err := json.NewDecoder(resp.Body).Decode(&ups); err != nil {
		return nil, fmt.Errorf("read /reverse_proxy/upstreams: %w", err)
	}
	return ups, nil
}
