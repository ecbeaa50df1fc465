package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/sessionlab/sessionlab/clients"
)

// BalancerConfig is what a balancer config template receives: the built-in nginx and HAProxy templates, and a
// user's own through `balancer.config`. Fields are only ever added.
type BalancerConfig struct {
	Scenario string
	Kind     string // nginx | haproxy
	Strategy string
	Listen   string // where clients connect, host:port (local) or a port (container)
	// ProxyProtocol: clients open each connection with a PROXY v1 header carrying the simulated address. False
	// when they connect from real source addresses instead (clients.identity: bind).
	ProxyProtocol bool
	Dir           string     // a directory the balancer may write: pid file, temp files
	ErrorLog      string     // where errors go: a file, or stderr in a container
	AccessLog     string     // where nginx's access log goes
	Workers       int        // nginx worker_processes, HAProxy nbthread
	Replicas      []Upstream // the replicas the balancer sends to now, in order
	TrustProxy    []string   // sources allowed to send the PROXY header (nginx set_real_ip_from)
	ReadyPath     string     // answer 2xx here without proxying: the harness probes it
	Generation    int        // counts config loads from 1; built-in templates answer it at ReadyPath (X-Sessionlab-Config)
	AppCookie     string     // the app's session cookie (hash-cookie hashes or learns it)
	// UpstreamHeader names the response header the built-in templates set to the address of the replica that
	// answered (nginx $upstream_addr, HAProxy %si:%sp). A user's template that sets it too lets the harness
	// attribute every answer to a replica without the app's X-Replica header.
	UpstreamHeader string
	Settings       BalancerSettings
}

// Upstream is one replica as a balancer config names it.
type Upstream struct {
	Name  string // replica-2
	Index int    // 2
	Addr  string // host:port
	Host  string
	Port  string
}

// BalancerSettings are the scenario's balancer settings with every default filled in.
type BalancerSettings struct {
	HashType     string // map-based | consistent
	CookieName   string // cookie-insert's cookie
	CookieMaxAge int    // seconds; 0: a session cookie
	MaxFails     int
	FailTimeout  string // nginx time, e.g. 10s
	NextUpstream string // nginx proxy_next_upstream arguments
	HealthCheck  bool
	CheckPath    string
	CheckInter   string // HAProxy time, e.g. 2000ms
	CheckFall    int
	CheckRise    int
	Redispatch   bool
	Retries      int
	StickTable   string // ip | ipv6
	StickExpire  string // HAProxy time, e.g. 1800s
}

// readyHeader carries the config generation at ReadyPath, so that a reload is known to have taken effect.
const readyHeader = "X-Sessionlab-Config"

// UpstreamHeader is BalancerConfig.UpstreamHeader.
const UpstreamHeader = clients.UpstreamHeader

// balancerKind is what differs between the real balancers the harness runs.
type balancerKind struct {
	name          string
	pkg           string // the Debian package with the binary
	confFile      string
	template      *template.Template
	unsupported   map[string]string // strategy -> why this balancer cannot do it
	reloadSig     syscall.Signal    // to the master: load the config again
	stopSig       syscall.Signal    // to the group: finish what you hold, then exit
	localArgs     func(dir, conf, errLog string) []string
	containerArgs func(conf string) []string
	onlyKeys      []string // settings that apply to this kind only
}

var balancerKinds = map[string]*balancerKind{
	"nginx": {
		name: "nginx", pkg: "nginx", confFile: "nginx.conf", template: nginxTemplate,
		unsupported: map[string]string{
			"client-ip-sticky": "open-source nginx has no client-IP stick table; use ip-hash (it keys on the /24), or kind: haproxy",
		},
		reloadSig: syscall.SIGHUP, stopSig: syscall.SIGQUIT,
		// -e sends start-up errors to the run directory instead of the package's /var/log/nginx.
		localArgs:     func(dir, conf, errLog string) []string { return []string{"-p", dir + "/", "-c", conf, "-e", errLog} },
		containerArgs: func(conf string) []string { return []string{"nginx", "-c", conf, "-e", "stderr"} },
		onlyKeys:      []string{"max_fails", "fail_timeout", "next_upstream"},
	},
	"haproxy": {
		name: "haproxy", pkg: "haproxy", confFile: "haproxy.cfg", template: haproxyTemplate,
		unsupported: map[string]string{},
		// Master-worker mode: SIGUSR2 makes the master start new workers on the new config; SIGUSR1 is a soft stop.
		reloadSig: syscall.SIGUSR2, stopSig: syscall.SIGUSR1,
		localArgs:     func(_, conf, _ string) []string { return []string{"-W", "-db", "-f", conf} },
		containerArgs: func(conf string) []string { return []string{"haproxy", "-W", "-db", "-f", conf} },
		onlyKeys:      []string{"health_check", "redispatch", "retries", "stick_table", "stick_expire"},
	},
}

// BalancerKinds are the balancers a scenario may name.
var BalancerKinds = []string{"nginx", "haproxy"}

// Unsupported says why balancer kind cannot run strategy, or "" when it can (or when either name is unknown,
// which loading the scenario reports).
func Unsupported(kind, strategy string) string {
	if k, ok := balancerKinds[kind]; ok {
		if why, ok := k.unsupported[strategy]; ok {
			return "not supported by " + kind + ": " + why
		}
	}
	return ""
}

// render fills the kind's built-in template, or the user's.
func (k *balancerKind) render(c BalancerConfig, user *template.Template) ([]byte, error) {
	if why, ok := k.unsupported[c.Strategy]; ok {
		return nil, fmt.Errorf("%s: strategy %s is not supported: %s", k.name, c.Strategy, why)
	}
	t := k.template
	if user != nil {
		t = user
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render %s config: %w", k.name, err)
	}
	return buf.Bytes(), nil
}

// balancerConfigFor fills what the topology decides; the runtime adds where the balancer listens and writes.
func balancerConfigFor(t Topology, replicas []Endpoint, generation int) BalancerConfig {
	c := BalancerConfig{
		Scenario: t.Name, Kind: t.Balancer.Kind, Strategy: t.Balancer.Strategy, Workers: t.Balancer.Workers,
		ReadyPath: readyPath, Generation: generation, Settings: t.Balancer.Settings, ProxyProtocol: !t.BindIdentity,
		UpstreamHeader: UpstreamHeader,
	}
	if len(t.Replicas) > 0 {
		c.AppCookie = t.Replicas[0].CookieName
	}
	for _, r := range replicas {
		host, port, _ := net.SplitHostPort(r.Addr)
		index, _ := strconv.Atoi(strings.TrimPrefix(r.Name, "replica-"))
		c.Replicas = append(c.Replicas, Upstream{Name: r.Name, Index: index, Addr: r.Addr, Host: host, Port: port})
	}
	return c
}

// settings fills the scenario's balancer settings with their defaults.
func (b Balancer) settings() BalancerSettings {
	st := BalancerSettings{
		HashType: or(b.HashType, "map-based"), CookieName: or(b.Cookie.Name, "route"),
		CookieMaxAge: int(time.Duration(b.Cookie.MaxAge) / time.Second),
		MaxFails:     1, FailTimeout: seconds(b.FailTimeout, 10*time.Second), NextUpstream: "error timeout",
		Redispatch: b.Redispatch, Retries: 3,
		StickTable: or(b.StickTable, "ipv6"), StickExpire: seconds(b.StickExpire, 30*time.Minute),
	}
	if b.MaxFails != nil {
		st.MaxFails = *b.MaxFails
	}
	if len(b.NextUpstream) > 0 {
		st.NextUpstream = strings.Join(b.NextUpstream, " ")
	}
	if b.Retries != nil {
		st.Retries = *b.Retries
	}
	if hc := b.HealthCheck; hc != nil {
		st.HealthCheck = true
		st.CheckPath = or(hc.Path, "/healthz")
		inter := time.Duration(hc.Interval)
		if inter == 0 {
			inter = 2 * time.Second
		}
		st.CheckInter = strconv.FormatInt(inter.Milliseconds(), 10) + "ms"
		st.CheckFall, st.CheckRise = orInt(hc.Fall, 3), orInt(hc.Rise, 2)
	}
	return st
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// seconds writes d (or def when d is 0) in whole seconds, a unit both nginx and HAProxy read.
func seconds(d Duration, def time.Duration) string {
	v := time.Duration(d)
	if v == 0 {
		v = def
	}
	return strconv.FormatInt(int64((v+time.Second-1)/time.Second), 10) + "s"
}

var (
	cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`) // nginx reads it as $cookie_NAME, which ends at a -
	nextUpstreamTerms = []string{"error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504", "http_403", "http_404", "http_429", "non_idempotent", "off"}
)

// validateBalancer checks the balancer settings against the kind and strategy they must fit.
func (s *Scenario) validateBalancer() []error {
	b := s.Balancer
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, keyErr(key, format, args...)) }
	if why := Unsupported(b.Kind, b.Strategy); why != "" {
		add("balancer.strategy", "%s is %s", b.Strategy, why)
	}
	if _, known := balancerKinds[b.Kind]; known {
		for name, other := range balancerKinds {
			if name == b.Kind {
				continue
			}
			for _, key := range other.onlyKeys {
				if s.given("balancer."+key, b.nonZero(key)) {
					add("balancer."+key, "applies to kind %s only (this scenario's balancer.kind is %s)", name, b.Kind)
				}
			}
		}
	}
	if b.Workers < 1 || b.Workers > 64 {
		add("balancer.workers", "%d is out of range (allowed 1..64)", b.Workers)
	}
	if b.HashType != "" {
		if err := hashTypeChoice.check(b.HashType); err != nil {
			errs = append(errs, err)
		} else if b.Strategy != "ip-hash" {
			add("balancer.hash_type", "applies to strategy ip-hash only (this scenario's is %s)", b.Strategy)
		}
	}
	if s.given("balancer.cookie", b.Cookie != RouteCookie{}) && b.Strategy != "cookie-insert" {
		add("balancer.cookie", "applies to strategy cookie-insert only (this scenario's is %s)", b.Strategy)
	}
	if b.Cookie.Name != "" && !cookieNamePattern.MatchString(b.Cookie.Name) {
		add("balancer.cookie.name", "%q is not a cookie name (allowed: 1 to 64 of A-Z, a-z, 0-9 and _)", b.Cookie.Name)
	}
	if b.Cookie.Name != "" && slices.ContainsFunc(s.Topology().Replicas, func(r ReplicaSpec) bool { return r.CookieName == b.Cookie.Name }) {
		add("balancer.cookie.name", "%q is the app's own session cookie; the balancer's cookie needs another name", b.Cookie.Name)
	}
	if b.Strategy == "hash-cookie" && s.App.CookieName != "shared" {
		add("balancer.strategy", "hash-cookie keys on the app's session cookie, so it needs app.cookie_name: shared (not %s)", s.App.CookieName)
	}
	if b.MaxFails != nil && *b.MaxFails < 0 {
		add("balancer.max_fails", "%d is out of range (allowed 0 and up; 0 never marks a server failed)", *b.MaxFails)
	}
	for _, term := range b.NextUpstream {
		if !slices.Contains(nextUpstreamTerms, term) {
			add("balancer.next_upstream", "%q is not allowed (allowed: %s)", term, strings.Join(nextUpstreamTerms, ", "))
		}
	}
	if b.Retries != nil && (*b.Retries < 0 || *b.Retries > 100) {
		add("balancer.retries", "%d is out of range (allowed 0..100)", *b.Retries)
	}
	if hc := b.HealthCheck; hc != nil {
		if hc.Fall < 0 || hc.Rise < 0 {
			add("balancer.health_check", "fall and rise count checks (allowed 1 and up)")
		}
		if hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
			add("balancer.health_check.path", "%q is not a path (it starts with /)", hc.Path)
		}
	}
	if b.StickTable != "" {
		if err := stickTableChoice.check(b.StickTable); err != nil {
			errs = append(errs, err)
		} else if b.Strategy != "client-ip-sticky" {
			add("balancer.stick_table", "applies to strategy client-ip-sticky only (this scenario's is %s)", b.Strategy)
		}
	}
	if b.StickExpire != 0 && b.Strategy != "client-ip-sticky" && b.Strategy != "hash-cookie" {
		add("balancer.stick_expire", "applies to strategies client-ip-sticky and hash-cookie only (this scenario's is %s)", b.Strategy)
	}
	if b.Config != "" {
		if err := s.loadBalancerTemplate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// nonZero reports whether a kind-specific setting holds a value.
func (b Balancer) nonZero(key string) bool {
	switch key {
	case "max_fails":
		return b.MaxFails != nil
	case "fail_timeout":
		return b.FailTimeout != 0
	case "next_upstream":
		return len(b.NextUpstream) > 0
	case "health_check":
		return b.HealthCheck != nil
	case "redispatch":
		return b.Redispatch
	case "retries":
		return b.Retries != nil
	case "stick_table":
		return b.StickTable != ""
	case "stick_expire":
		return b.StickExpire != 0
	}
	return false
}

// given reports whether the scenario sets key: written in the file or a --set, or holding a value.
func (s *Scenario) given(key string, nonZero bool) bool {
	if nonZero {
		return true
	}
	if s.where == nil {
		return false
	}
	_, written := s.where.keys[key]
	return written
}

// loadBalancerTemplate reads and parses balancer.config, and fills it once with a sample, so that a template
// that cannot be filled is refused before anything starts. Errors name the template's file and line.
func (s *Scenario) loadBalancerTemplate() error {
	path := s.Balancer.Config
	if !filepath.IsAbs(path) && s.where != nil && !s.where.isSet(s.where.keys["balancer.config"]) {
		path = filepath.Join(filepath.Dir(s.where.file), path) // relative to the scenario file; a --set to the shell
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return keyErr("balancer.config", "%v", err)
	}
	t, err := template.New(path).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return keyErr("balancer.config", "%v", err)
	}
	sample := s.Topology()
	var eps []Endpoint
	for i, r := range sample.Replicas {
		eps = append(eps, Endpoint{Name: r.Name, Addr: fmt.Sprintf("127.0.0.1:%d", 18080+i)})
	}
	c := balancerConfigFor(sample, eps, 1)
	c.Listen, c.Dir, c.ErrorLog, c.AccessLog, c.TrustProxy = "127.0.0.1:18000", "/tmp", "/tmp/error.log", "/tmp/access.log", []string{"127.0.0.1"}
	if err := t.Execute(new(bytes.Buffer), c); err != nil {
		return keyErr("balancer.config", "%v", err)
	}
	s.template = t
	return nil
}

// balancerPart is the balancer: a part that can also load a new config while it runs.
type balancerPart interface {
	Part
	// Reload makes text the config (nginx: SIGHUP; HAProxy: SIGUSR2 to the master) and waits until connections
	// are served by it. user says the config is the user's template, which may not report its generation.
	Reload(ctx context.Context, text []byte, gen int, user bool) error
}

// loadedConfig is the config generation a balancer was last given, which its readiness probe must see.
type loadedConfig struct {
	mu   sync.Mutex
	gen  int
	user bool // a user's template, which may not answer its generation
}

func (c *loadedConfig) set(gen int, user bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen, c.user = gen, user
}

// want is the generation the probe must see, or 0 for any answer.
func (c *loadedConfig) want() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user {
		return 0
	}
	return c.gen
}

// awaitReload polls ready until the new config answers. A user's template may not report its generation, so
// after a fixed settling time any answer counts.
func awaitReload(ctx context.Context, ready probe, user bool, timeout time.Duration) error {
	if user {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := poll(ctx, timeout, ready, nil); err != nil {
		return fmt.Errorf("the new config was not answering after %s: %w", timeout, err)
	}
	return nil
}

// awaitExit waits until none of old is among the processes running lists. A reload is only complete when the old
// workers are gone: nginx's master signals them 100 ms after starting the new ones, and until they exit they keep
// serving the keep-alive connections they hold, with the old config.
func awaitExit(ctx context.Context, running func(context.Context) ([]int, error), old []int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		now, err := running(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(old, func(pid int) bool { return slices.Contains(now, pid) }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the old workers were still running after %s", timeout)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

var confLineRef = regexp.MustCompile(`(?:nginx\.conf|haproxy\.cfg)\]?:(\d+)`)

// withConfigLine adds the rendered config's line a balancer complained about, since the run directory (and the
// rendered file with it) is gone by the time anyone reads the error.
func withConfigLine(err error, path string, text []byte) error {
	m := confLineRef.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(text), "\n")
	if n < 1 || n > len(lines) {
		return err
	}
	return fmt.Errorf("%w\nline %d of the rendered config %s: %s", err, n, filepath.Base(path), strings.TrimSpace(lines[n-1]))
}
