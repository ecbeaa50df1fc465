package balancer

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// Config is what a balancer config template receives: the built-in nginx, HAProxy and Caddy templates, and a user's own
// through `balancer.config`. Fields are only ever added.
type Config struct {
	Scenario string
	Kind     string // nginx | haproxy | caddy
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
	Generation    int        // counts config loads from 1; built-in templates answer it at ReadyPath (ReadyHeader)
	AppCookie     string     // the app's session cookie (hash-cookie hashes or learns it)
	// UpstreamHeader names the response header the built-in templates set to the address of the replica that
	// answered (nginx $upstream_addr, HAProxy %si:%sp). A user's template that sets it too lets the harness
	// attribute every answer to a replica without the app's X-Replica header.
	UpstreamHeader string
	Settings       Settings
	// MaxConns is how many client connections the balancer accepts at once (HAProxy maxconn); WorkerConnections
	// nginx's per worker (each client connection and its upstream connection); NoFile the open files nginx asks
	// for (worker_rlimit_nofile). SizeFor sets them from the scenario's users at once, never below the defaults.
	MaxConns          int
	WorkerConnections int
	NoFile            int
	// AdminSocket, when set, is a Unix socket Caddy's admin API listens on (the local runtime's): the harness polls
	// its upstreams' failure counts, which Caddy reports nowhere else. Empty: admin off.
	AdminSocket string
	// Instance names this instance in a tier of several (balancer.instances): the built-in templates set
	// InstanceHeader to it on every answer, so that each exchange says which instance served it. Empty for a lone
	// balancer, which sets no such header.
	Instance       string
	InstanceHeader string
	// Peers, with balancer.peers, are every instance of the tier (this one included, named Instance) where each
	// listens for the others' stick-table updates: HAProxy's peers section.
	Peers []Peer
	// UpstreamByName: the replicas are reached by their names (replica-2:8080, a container network's aliases), which
	// Traefik's templates write in its server URLs so that hrw's mapping is the same run after run.
	UpstreamByName bool
	// Backlog is the listen queue nginx asks for (the kernel caps it at net.core.somaxconn): users arriving by the
	// thousand a second open connections faster than one worker accepts them, and nginx's default of 511 drops
	// their SYNs, which come back a second later as a latency no user of the real site would see.
	Backlog int
}

// defaultMaxConns is the connection limit of the built-in configs for a small scenario.
const defaultMaxConns = 4096

// SizeFor sizes the connection limits for conns client connections at once.
func (c *Config) SizeFor(conns int) {
	c.MaxConns = max(defaultMaxConns, conns+256)
	c.WorkerConnections = 2 * c.MaxConns
	c.NoFile = c.WorkerConnections + 1024
	c.Backlog = min(max(511, c.MaxConns), 65535)
}

// Upstream is one replica as a balancer config names it.
type Upstream struct {
	Name  string // replica-2
	Index int    // 2
	Addr  string // host:port
	Host  string
	Port  string
	// RingKey is a key nginx's `hash … consistent` places on this replica while every replica is up: what
	// cookie-balanced writes when it re-pins a user to the replica that answered (change_on_failure).
	RingKey string
}

// Settings are the scenario's balancer settings with every default filled in.
type Settings struct {
	HashType     string // map-based | consistent
	CookieName   string // the balancer's own cookie (cookie-insert, cookie-balanced)
	CookieMaxAge int    // seconds; 0: a session cookie
	// ChangeOnFailure: a request whose cookie's replica fails is retried on another, which the cookie then names
	// (ingress-nginx's session-cookie-change-on-failure). Without it that request fails, and only later requests
	// go elsewhere once the balancer has marked the replica failed.
	ChangeOnFailure bool
	MaxFails        int
	MaxFailsSet     bool   // the scenario set max_fails (Traefik runs no passive check unless asked)
	FailTimeout     string // nginx time, e.g. 10s
	NextUpstream    string // nginx proxy_next_upstream arguments
	HealthCheck     bool
	CheckPath       string
	CheckInter      string // HAProxy time, e.g. 2000ms
	CheckFall       int
	CheckRise       int
	Redispatch      bool
	Retries         int
	StickTable      string // ip | ipv6
	StickExpire     string // HAProxy time, e.g. 1800s
	// IdleTimeout closes a client connection idle this long, in the kind's own syntax (nginx keepalive_timeout,
	// HAProxy timeout http-keep-alive, Caddy's idle timeout), e.g. 75s; "" leaves the kind's default.
	IdleTimeout string
	// CookieSecret is Caddy's lb_policy cookie secret: "" (Caddy's default, the same on every instance), or with
	// cookie_secret: per-instance each instance's own.
	CookieSecret string
}

// Peer is one instance of a tier as HAProxy's peers section names it.
type Peer struct {
	Name string // its instance name, which is also its local peer name
	Addr string // host:port where it listens for the other peers
}

const (
	// ReadyPath is answered by the balancer itself (never proxied), so that probing it leaves round-robin
	// positions and connection counts untouched.
	ReadyPath = "/__sessionlab/ready"
	// StatsPath is where the built-in HAProxy config answers its statistics (CSV with ";csv"): the harness reads
	// each server's redispatches and health-check downs there at the end of a run.
	StatsPath = "/__sessionlab/stats"
	// ReadyHeader carries the config generation at ReadyPath, so that a reload is known to have taken effect.
	ReadyHeader = "X-Sessionlab-Config"
	// UpstreamHeader is Config.UpstreamHeader: the address of the replica that answered ("a:1, b:2" from nginx
	// when it tried more than one, the last answered).
	UpstreamHeader = "X-Sessionlab-Upstream"
	// InstanceHeader is Config.InstanceHeader: the name of the tier's instance that answered.
	InstanceHeader = "X-Sessionlab-Instance"
)

// NewUpstream is replica index, named name, listening on addr (host:port).
func NewUpstream(name string, index int, addr string) Upstream {
	host, port, _ := net.SplitHostPort(addr)
	return Upstream{Name: name, Index: index, Addr: addr, Host: host, Port: port}
}

// ParseTemplate parses a user's config template (name is its file, for messages) with Funcs, and fills it once with
// sample, so that a template that cannot be filled is refused before anything starts.
func ParseTemplate(name, text string, sample Config) (*template.Template, error) {
	t, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(new(bytes.Buffer), sample); err != nil {
		return nil, err
	}
	return t, nil
}

// confLineRef finds "nginx.conf:12" (or "haproxy.cfg]:12", ...) in a balancer's message: any kind's config file.
var confLineRef = func() *regexp.Regexp {
	var names []string
	for _, kind := range Kinds {
		names = append(names, regexp.QuoteMeta(tbl.kinds[kind].ConfFile))
	}
	return regexp.MustCompile(`(?:` + strings.Join(names, "|") + `)\]?:(\d+)`)
}()

// WithConfigLine adds the rendered config's line a balancer complained about, since the run directory (and the
// rendered file with it) is gone by the time anyone reads the error.
func WithConfigLine(err error, path string, text []byte) error {
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
