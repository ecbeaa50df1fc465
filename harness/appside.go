package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/sessionlab/sessionlab/clients/events"
	"github.com/sessionlab/sessionlab/fakeapp"
)

// The app's side of a topology: what each replica is told (its store, secret, login flow, identity provider), the
// shared parts some scenarios need (Redis, the identity provider), and what the harness reads back from them after
// the users are done.

// idpPartName names the identity provider, as faults and logs name it; the store is targetStore.
const idpPartName = "idp"

// AppSpec is how every replica keeps sessions and logs users in.
type AppSpec struct {
	Sessions       string // memory | redis | cookie
	Login          string // form | form-csrf | sso
	SessionTTL     time.Duration
	IdleTimeout    time.Duration
	ClearBadCookie bool
	IdPKey         string // sso: the key the identity provider and every replica share
}

// NeedsStore reports whether the topology has a shared Redis.
func (a AppSpec) NeedsStore() bool { return a.Sessions == "redis" }

// NeedsIdP reports whether the topology has an identity provider.
func (a AppSpec) NeedsIdP() bool { return a.Login == "sso" }

// derivedSecret is a secret derived from the scenario's seed, so that a run is reproducible and "per-replica" gives
// every replica its own, as processes that each make up a random key do.
func derivedSecret(seed uint64, scope string) string {
	sum := sha256.Sum256([]byte("sessionlab/" + strconv.FormatUint(seed, 10) + "/" + scope))
	return hex.EncodeToString(sum[:])
}

// replicaArgs is the fakeapp command line for replica r listening on listen. storeAddr and idpURL are where the
// replica reaches Redis and where browsers reach the identity provider ("" when the topology has none).
func (t Topology) replicaArgs(r ReplicaSpec, listen, storeAddr, idpURL string) []string {
	a := t.App
	args := []string{"-listen", listen, "-name", r.Name, "-users", strconv.Itoa(t.Users), "-cookie-name", r.CookieName,
		"-secret", r.Secret, "-sessions", a.Sessions, "-login", a.Login}
	if a.SessionTTL > 0 {
		args = append(args, "-session-ttl", a.SessionTTL.String())
	}
	if a.IdleTimeout > 0 {
		args = append(args, "-idle-timeout", a.IdleTimeout.String())
	}
	if a.ClearBadCookie {
		args = append(args, "-clear-bad-cookie")
	}
	if a.NeedsStore() {
		args = append(args, "-redis", storeAddr)
	}
	if a.NeedsIdP() {
		args = append(args, "-idp-url", idpURL, "-idp-key", a.IdPKey)
	}
	return args
}

// idpArgs is the identity provider's command line.
func (t Topology) idpArgs(listen string) []string {
	return []string{"idp", "-listen", listen, "-key", t.App.IdPKey, "-users", strconv.Itoa(t.Users)}
}

// redisArgs runs Redis without persistence (a restart loses every session, unless restart-store saves first)
// and without protected mode, which would refuse the replicas' connections in a container.
func redisArgs(port int, bind, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", bind, "--protected-mode", "no", "--save", "", "--appendonly", "no",
		"--dir", dir, "--dbfilename", redisDump}
}

const redisDump = "dump.rdb"

// redisProbe is ready when Redis answers PING.
func redisProbe(addr string) probe {
	return func(ctx context.Context) error {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
}

// storePart is the shared session store: a part that can also save its data, or forget what it saved, before a
// restart.
type storePart interface {
	Part
	// HostAddr is where the harness reaches it (host:port).
	HostAddr(ctx context.Context) (string, error)
	// ForgetSaved removes what an earlier save left on disk, so that the next start comes up empty.
	ForgetSaved(ctx context.Context) error
}

// restartStore restarts the shared store; with persist it saves first (as Redis with RDB or AOF would have), so
// the sessions come back; without, every session is gone.
func (d *Deployment) restartStore(ctx context.Context, persist bool) error {
	st := d.store
	if st == nil {
		return errors.New("this deployment has no session store")
	}
	addr, err := st.HostAddr(ctx)
	if err != nil {
		return err
	}
	if persist {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err = rdb.Save(ctx).Err()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("save the store: %w", err)
		}
	} else if err := st.ForgetSaved(ctx); err != nil {
		return err
	}
	if err := st.Stop(ctx); err != nil {
		return err
	}
	return st.Start(ctx)
}

// StoreStats reads what the app's side holds and counted: every replica's /metrics and, with a shared store, the
// session keys in Redis. A replica that cannot be read (down at the end) is named in Unread.
func (d *Deployment) StoreStats(ctx context.Context) (events.StoreStats, error) {
	st := events.StoreStats{Kind: d.topology.App.Sessions}
	active := 0
	for _, r := range d.activeReplicas() {
		addr, err := d.hostAddr(ctx, r.Name)
		var m map[string]float64
		if err == nil {
			m, err = scrape(ctx, "http://"+addr+"/metrics")
		}
		if err != nil {
			st.Unread = append(st.Unread, r.Name)
			continue
		}
		active += int(m[fakeapp.MetricSessionsActive])
		st.SessionsCreated += int(m[fakeapp.MetricSessionsCreated])
		st.Logins += int(m[fakeapp.MetricLogins])
		st.SilentReauths += int(m[fakeapp.MetricSilentReauths])
		st.CSRFRefusals += int(m[fakeapp.MetricCSRFRefusals])
		st.BadCookies += int(m[fakeapp.MetricBadCookies])
	}
	switch st.Kind {
	case "redis":
		if d.store == nil {
			return st, errors.New("read the store: no store was started")
		}
		addr, err := d.store.HostAddr(ctx)
		if err != nil {
			return st, fmt.Errorf("read the store: %w", err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		if st.Sessions, err = fakeapp.CountRedisKeys(ctx, rdb, fakeapp.RedisKeyPrefix+"session:*"); err != nil {
			return st, fmt.Errorf("read the store: %w", err)
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
