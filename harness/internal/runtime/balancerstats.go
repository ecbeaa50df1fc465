package runtime

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/harness/internal/balancer"
)

// BalancerStats asks the balancer what it did with its upstreams over the run: nginx's error log for the servers
// it marked "temporarily disabled", HAProxy's statistics for each server's redispatches (failovers) and
// health-check downs, and what WatchBalancer saw of Caddy's failure counts. What cannot be read is named in Unread.
func (d *Deployment) BalancerStats(ctx context.Context) events.BalancerStats {
	k := d.Kind()
	st := events.BalancerStats{Kind: k.Name}
	for _, r := range d.Replicas() {
		st.Upstreams = append(st.Upstreams, events.UpstreamStats{Name: r.Name, Addr: r.Addr})
	}
	// upstream is the entry of addr, added for an address the harness did not start (a handful: a scan will do).
	upstream := func(addr string) *events.UpstreamStats {
		i := slices.IndexFunc(st.Upstreams, func(u events.UpstreamStats) bool { return u.Addr == addr })
		if i < 0 {
			st.Upstreams = append(st.Upstreams, events.UpstreamStats{Name: d.ReplicaOf(addr), Addr: addr})
			i = len(st.Upstreams) - 1
		}
		return &st.Upstreams[i]
	}
	parts := d.Balancers()
	d.mu.Lock()
	watches := slices.Clone(d.watches)
	d.mu.Unlock()
	switch {
	case len(parts) == 0:
		st.Unread = append(st.Unread, "no balancer was started")
	case k.Name == "nginx":
		st.Source = "nginx error log"
		for i := range st.Upstreams {
			st.Upstreams[i].FailedOver = -1 // nginx reports them in its answers' upstream header
		}
		for _, part := range parts { // a tier's instances each mark failures of their own
			for addr, n := range nginxDisabled(part.Logs(ctx, 1<<30)) {
				upstream(addr).MarkedFailed += n
			}
		}
	case k.Name == "haproxy" && d.topology.Balancer.Template == nil:
		st.Source = "haproxy stats"
		for i, part := range parts {
			addr := d.Endpoint
			if d.topology.Balancer.Tier() {
				var err error
				if addr, err = d.HostAddr(ctx, part.Name()); err != nil {
					st.Unread = append(st.Unread, fmt.Sprintf("haproxy stats of %s: %v", part.Name(), err))
					continue
				}
			}
			// A tier's instances take the PROXY header from the front whatever the clients send.
			servers, err := haproxyStats(ctx, addr, d.topology.Bind() && !d.topology.Balancer.Tier())
			if err != nil {
				st.Unread = append(st.Unread, fmt.Sprintf("haproxy stats of instance %d: %v", i+1, err))
				continue
			}
			for _, s := range servers {
				for i := range st.Upstreams {
					if st.Upstreams[i].Name == s.name {
						st.Upstreams[i].FailedOver += s.redispatched
						st.Upstreams[i].MarkedFailed += s.down
					}
				}
			}
		}
	case k.Name == "haproxy":
		st.Unread = append(st.Unread, "haproxy stats: your balancer.config template may not answer "+balancer.StatsPath)
	case k.Name == "caddy" && len(watches) > 0:
		st.Source = fmt.Sprintf("caddy admin api, polled every %s", pollEvery)
		for i, w := range watches {
			label := "caddy admin api"
			if len(watches) > 1 {
				label = fmt.Sprintf("caddy admin api of instance %d", i+1)
			}
			w.addTo(&st, label, upstream)
		}
	case k.Name == "caddy":
		st.Unread = append(st.Unread, "caddy: its admin API is off in this runtime (or balancer.max_fails is 0), and it reports "+
			"neither failovers nor failed upstreams anywhere else")
	default:
		st.Unread = append(st.Unread, k.Name+": it reports neither failovers nor failed upstreams with its admin API off")
	}
	return st
}

// nginxDisabled counts, per upstream address, nginx's warnings that it stopped using a server for fail_timeout
// after max_fails failures.
var nginxDisabledLine = regexp.MustCompile(`upstream server temporarily disabled while [^,]*,.* upstream: "[a-z]+://([^/"]+)`)

func nginxDisabled(log string) map[string]int {
	counts := map[string]int{}
	for line := range strings.SplitSeq(log, "\n") {
		if m := nginxDisabledLine.FindStringSubmatch(line); m != nil {
			counts[m[1]]++
		}
	}
	return counts
}

type haproxyServer struct {
	name               string
	redispatched, down int
}

// haproxyStats reads the built-in config's statistics page (CSV): for each server of backend app, its
// redispatches (wredis) and the times a health check took it down (chkdown).
func haproxyStats(ctx context.Context, endpoint string, bind bool) ([]haproxyServer, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	src := "127.0.0.1"
	if bind {
		src = ""
	}
	resp, err := balancerGet(ctx, endpoint, src, balancer.StatsPath+";csv", "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", balancer.StatsPath, resp.Status)
	}
	return parseHAProxyCSV(resp.Body)
}

func parseHAProxyCSV(r io.Reader) ([]haproxyServer, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read stats CSV: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("empty stats CSV")
	}
	head := rows[0]
	head[0] = strings.TrimPrefix(head[0], "# ")
	col := func(name string) int { return slices.Index(head, name) }
	px, sv, wredis, chkdown := col("pxname"), col("svname"), col("wredis"), col("chkdown")
	if px < 0 || sv < 0 || wredis < 0 || chkdown < 0 {
		return nil, fmt.Errorf("stats CSV without pxname, svname, wredis or chkdown: %v", head)
	}
	var out []haproxyServer
	for _, row := range rows[1:] {
		if len(row) <= max(px, sv, wredis, chkdown) || row[px] != "app" || row[sv] == "BACKEND" || row[sv] == "FRONTEND" {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(row[i]); return v }
		out = append(out, haproxyServer{name: row[sv], redispatched: n(wredis), down: n(chkdown)})
	}
	return out, nil
}

// addTo adds what w saw of one Caddy instance (label names it in messages) to st.
func (w *caddyWatch) addTo(st *events.BalancerStats, label string, upstream func(addr string) *events.UpstreamStats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polls == 0 {
		why := "no poll was answered before the users finished"
		if w.err != nil {
			why = w.err.Error()
		}
		st.Unread = append(st.Unread, label+": "+why)
		return
	}
	// Each failure Caddy counted was a request it tried on that upstream first; with lb_retries it was retried on
	// another: a failover. Failures that came and expired between two polls are not seen.
	for addr, n := range w.failures {
		upstream(addr).FailedOver += n
	}
	for addr, n := range w.marked {
		upstream(addr).MarkedFailed += n
	}
}
