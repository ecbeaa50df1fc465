package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sessionlab/sessionlab/internal/contract"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/sessionlab/sessionlab/clients/events"
)

// The app's side of a deployment: how its Redis runs, and what the harness reads back from the replicas and the
// store after the users are done.

// RedisArgs runs Redis without persistence (a restart loses every session, unless restart-store saves first)
// and without protected mode, which would refuse the replicas' connections in a container.
func RedisArgs(port int, bind, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", bind, "--protected-mode", "no", "--save", "", "--appendonly", "no",
		"--dir", dir, "--dbfilename", RedisDump}
}

// RedisDump is the file a save writes in the store's directory.
const RedisDump = "dump.rdb"

// RestartStore restarts the shared store; with persist it saves as it stops (as Redis with RDB would), so the
// sessions come back; without, every session is gone.
func (d *Deployment) RestartStore(ctx context.Context, persist bool) error {
	d.mu.Lock()
	st := d.store
	d.mu.Unlock()
	if st == nil {
		return errors.New("this deployment has no session store")
	}
	addr, err := st.HostAddr(ctx)
	if err != nil {
		return err
	}
	if persist {
		// A save point makes Redis save as it shuts down, after the last command it served: a SAVE sent before the
		// stop would miss the sessions written between the two.
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err = rdb.ConfigSet(ctx, "save", "3600 1").Err()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("make the store save on shutdown: %w", err)
		}
	} else if err := st.ForgetSaved(ctx); err != nil {
		return err
	}
	if err := st.Stop(ctx); err != nil {
		return err
	}
	return st.Start(ctx)
}

// OwnStoreStats counts the keys matching pattern in the run's Redis: the user's own app's session records, whose
// counters sessionlab cannot read.
func (d *Deployment) OwnStoreStats(ctx context.Context, pattern string) (events.StoreStats, error) {
	st := events.StoreStats{Kind: "redis", Keys: pattern}
	var err error
	st.Sessions, err = d.countStoreKeys(ctx, pattern)
	return st, err
}

// countStoreKeys counts the keys matching pattern in the run's Redis.
func (d *Deployment) countStoreKeys(ctx context.Context, pattern string) (int, error) {
	d.mu.Lock()
	store := d.store
	d.mu.Unlock()
	if store == nil {
		return 0, errors.New("read the store: no store was started")
	}
	addr, err := store.HostAddr(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the store: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	n, err := contract.CountKeys(ctx, rdb, pattern)
	if err != nil {
		return 0, fmt.Errorf("read the store: %w", err)
	}
	return n, nil
}

// StoreStats reads what the app's side holds and counted: every replica's /metrics and, with a shared store, the
// session keys in Redis. A replica that cannot be read (down at the end) is named in Unread.
func (d *Deployment) StoreStats(ctx context.Context) (events.StoreStats, error) {
	st := events.StoreStats{Kind: d.topology.App.Sessions}
	active := 0
	for _, r := range d.Replicas() {
		addr, err := d.HostAddr(ctx, r.Name)
		var m map[string]float64
		if err == nil {
			m, err = scrape(ctx, "http://"+addr+"/metrics")
		}
		if err != nil {
			st.Unread = append(st.Unread, r.Name)
			continue
		}
		active += int(m[contract.MetricSessionsActive])
		st.SessionsCreated += int(m[contract.MetricSessionsCreated])
		st.Logins += int(m[contract.MetricLogins])
		st.SilentReauths += int(m[contract.MetricSilentReauths])
		st.CSRFRefusals += int(m[contract.MetricCSRFRefusals])
		st.BadCookies += int(m[contract.MetricBadCookies])
	}
	switch st.Kind {
	case "redis":
		var err error
		if st.Sessions, err = d.countStoreKeys(ctx, contract.RedisKeyPrefix+"session:*"); err != nil {
			return st, err
		}
	case "cookie":
		st.Sessions = st.SessionsCreated
	default:
		st.Sessions = active
	}
	return st, nil
}

// scrape reads a Prometheus text page into name -> value (the sum over label sets).
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	out := make(map[string]float64, len(families))
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[name] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] += m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				out[name] += m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}
