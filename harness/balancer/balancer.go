// Package balancer owns the real balancers sessionlab runs — nginx, HAProxy and Caddy — as configuration: which kinds and
// strategies exist and which kind can run which strategy (refused by name), the built-in config templates (embedded
// files under templates/, which users may copy to start their own), what a template receives (Config), and how a
// kind is started, reloaded and stopped. It starts nothing itself: the runtimes do.
package balancer

import (
	"bytes"
	"embed"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/template"
)

// Kinds are the balancers a scenario may name.
var Kinds = []string{"nginx", "haproxy", "caddy"}

// Strategies are the balancing strategies a scenario may name.
// hash-cookie hashes the app's session cookie on every balancer; learn-cookie is a table that learns it from the
// login's answer, which only HAProxy has. cookie-insert is a balancer cookie that names the replica (ingress-nginx's
// affinity-mode persistent, HAProxy's cookie insert, Caddy's lb_policy cookie); cookie-balanced is a balancer cookie
// holding a random key placed by consistent hashing on the replicas in service (ingress-nginx's affinity-mode
// balanced, its default).
var Strategies = []string{"round-robin", "least-conn", "ip-hash", "hash-cookie", "learn-cookie", "cookie-insert", "cookie-balanced", "client-ip-sticky"}

// Kind is what differs between the real balancers: the binary, the config file and the signals that drive it.
type Kind struct {
	Name     string
	ConfFile string // the rendered config's file name
	// Install says where the binary comes from, for the message when it is missing.
	Install string
	// DefaultCookie names the balancer's own affinity cookie when balancer.cookie.name is not set: the name the
	// real balancer's users meet.
	DefaultCookie string
	// ReloadSignal, sent to the master, loads the config again; StopSignal, sent to the group, has it finish what
	// it holds, then exit.
	ReloadSignal syscall.Signal
	StopSignal   syscall.Signal
	// LocalArgs is the command line of a local process whose prefix directory is dir; ContainerArgs that of a
	// container (the program first).
	LocalArgs     func(dir, conf, errLog string) []string
	ContainerArgs func(conf string) []string
	// Keys are the scenario's balancer settings only some kinds read; a key no kind but another reads is refused.
	Keys []string

	template    *template.Template
	unsupported map[string]string // strategy -> why this kind cannot run it
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Funcs are available to the built-in templates and to a user's balancer.config.
var Funcs = template.FuncMap{
	// regexQuote escapes an address for a PCRE (nginx map) or HAProxy regex.
	"regexQuote": regexp.QuoteMeta,
	// cidr makes an address a prefix (Caddy's proxy_protocol allow list takes only prefixes).
	"cidr": func(addr string) string {
		if strings.Contains(addr, "/") {
			return addr
		}
		if strings.Contains(addr, ":") {
			return addr + "/128"
		}
		return addr + "/32"
	},
	// hostOf and portOf split host:port (Caddy binds the host and serves the port).
	"hostOf": func(hostport string) string { h, _, _ := net.SplitHostPort(hostport); return h },
	"portOf": func(hostport string) string { _, p, _ := net.SplitHostPort(hostport); return p },
	// others lists every replica but r, for backup servers.
	"others": func(all []Upstream, r Upstream) []Upstream {
		var out []Upstream
		for _, u := range all {
			if u.Name != r.Name {
				out = append(out, u)
			}
		}
		return out
	},
}

var kinds = map[string]*Kind{
	"nginx": {
		Name: "nginx", ConfFile: "nginx.conf", template: builtIn("nginx.conf"),
		Install: "install the Debian package nginx (apt-get install nginx, or `make deps`)", DefaultCookie: "INGRESSCOOKIE",
		unsupported: map[string]string{
			"client-ip-sticky": "open-source nginx has no client-IP stick table; use ip-hash (it keys on the /24), or kind: haproxy",
			"learn-cookie":     "open-source nginx cannot learn a cookie from an answer (no stick table); hash-cookie hashes it, cookie-insert sets its own, or kind: haproxy",
		},
		ReloadSignal: syscall.SIGHUP, StopSignal: syscall.SIGQUIT,
		// -e sends start-up errors to the run directory instead of the package's /var/log/nginx.
		LocalArgs:     func(dir, conf, errLog string) []string { return []string{"-p", dir + "/", "-c", conf, "-e", errLog} },
		ContainerArgs: func(conf string) []string { return []string{"nginx", "-c", conf, "-e", "stderr"} },
		Keys:          []string{"max_fails", "fail_timeout", "next_upstream"},
	},
	"haproxy": {
		Name: "haproxy", ConfFile: "haproxy.cfg", template: builtIn("haproxy.cfg"),
		Install: "install the Debian package haproxy (apt-get install haproxy, or `make deps`)", DefaultCookie: "SERVERID",
		unsupported: map[string]string{
			"cookie-balanced": "HAProxy's cookie names a server (cookie-insert); it has no balancer-minted key placed by consistent hashing; use cookie-insert, or kind: nginx",
		},
		// Master-worker mode: SIGUSR2 makes the master start new workers on the new config; SIGUSR1 is a soft stop.
		ReloadSignal: syscall.SIGUSR2, StopSignal: syscall.SIGUSR1,
		LocalArgs:     func(_, conf, _ string) []string { return []string{"-W", "-db", "-f", conf} },
		ContainerArgs: func(conf string) []string { return []string{"haproxy", "-W", "-db", "-f", conf} },
		Keys:          []string{"health_check", "redispatch", "retries", "stick_table", "stick_expire"},
	},
	"caddy": {
		Name: "caddy", ConfFile: "Caddyfile", template: builtIn("Caddyfile"),
		Install: "build it with `make deps` (go install github.com/caddyserver/caddy/v2/cmd/caddy@" + CaddyVersion + " into .tools/bin), or set SESSIONLAB_CADDY", DefaultCookie: "lb",
		unsupported: map[string]string{
			"hash-cookie":      "Caddy has no policy that hashes one cookie of the request (its cookie policy sets its own); use cookie-insert (lb_policy cookie), or kind: nginx or haproxy",
			"learn-cookie":     "Caddy cannot learn a cookie from an answer (no stick table); use cookie-insert (lb_policy cookie), or kind: haproxy",
			"cookie-balanced":  "Caddy's cookie names the upstream (an HMAC of its address: cookie-insert); it has no balancer-minted key placed by consistent hashing; use cookie-insert, or kind: nginx",
			"client-ip-sticky": "Caddy has no client-IP stick table; ip-hash is its client_ip_hash (rendezvous hashing of the whole address), or kind: haproxy",
		},
		// SIGUSR1 reloads the file given to `caddy run --config`; SIGTERM is a graceful stop.
		ReloadSignal: syscall.SIGUSR1, StopSignal: syscall.SIGTERM,
		LocalArgs: func(_, conf, _ string) []string { return []string{"run", "--config", conf, "--adapter", "caddyfile"} },
		ContainerArgs: func(conf string) []string {
			return []string{"caddy", "run", "--config", conf, "--adapter", "caddyfile"}
		},
		Keys: []string{"max_fails", "fail_timeout"},
	},
}

// CaddyVersion is the Caddy `make deps` builds from the Go module proxy: its proxy_protocol listener wrapper,
// client_ip_hash and the cookie policy's fallback came in 2.7, after Debian bookworm's 2.6.2.
const CaddyVersion = "v2.11.9"

func builtIn(confFile string) *template.Template {
	text, err := templateFiles.ReadFile("templates/" + confFile + ".tmpl")
	if err != nil {
		panic(err) // embedded at build time
	}
	return template.Must(template.New(confFile).Funcs(Funcs).Parse(string(text)))
}

// Lookup returns the kind named name.
func Lookup(name string) (*Kind, error) {
	if k, ok := kinds[name]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("balancer kind %q is not known (allowed: %s)", name, strings.Join(Kinds, ", "))
}

// Supports says why kind cannot run strategy ("not supported by nginx: …"), or nil when it can. Unknown names are
// errors that list the allowed ones.
func Supports(kind, strategy string) error {
	k, err := Lookup(kind)
	if err != nil {
		return err
	}
	if !slices.Contains(Strategies, strategy) {
		return fmt.Errorf("strategy %q is not known (allowed: %s)", strategy, strings.Join(Strategies, ", "))
	}
	if why, ok := k.unsupported[strategy]; ok {
		return fmt.Errorf("not supported by %s: %s", kind, why)
	}
	return nil
}

// Template is the text of the built-in template of kind, to copy as the start of a balancer.config.
func Template(kind string) ([]byte, error) {
	k, err := Lookup(kind)
	if err != nil {
		return nil, err
	}
	return templateFiles.ReadFile("templates/" + k.ConfFile + ".tmpl")
}

// Render fills the kind's built-in template, or user's when it is not nil.
func (k *Kind) Render(c Config, user *template.Template) ([]byte, error) {
	if err := Supports(k.Name, c.Strategy); err != nil {
		return nil, fmt.Errorf("%s: strategy %s: %w", k.Name, c.Strategy, err)
	}
	// Two upstreams on one address are one server to the balancer (and no key could lead to the second).
	seen := make(map[string]string, len(c.Replicas))
	for _, u := range c.Replicas {
		if other, dup := seen[u.Addr]; dup {
			return nil, fmt.Errorf("%s: upstreams %s and %s share the address %s", k.Name, other, u.Name, u.Addr)
		}
		seen[u.Addr] = u.Name
	}
	c.Replicas = slices.Clone(c.Replicas)
	fillRingKeys(c.Replicas)
	t := k.template
	if user != nil {
		t = user
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render %s config: %w", k.Name, err)
	}
	return buf.Bytes(), nil
}
