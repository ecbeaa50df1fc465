// Package balancer owns the real balancers sessionlab runs — nginx, HAProxy and Caddy — as configuration: the one
// table of what each kind supports (strategies.yaml, and a folder per kind, kinds/<kind>/, holding its row kind.yaml
// and its built-in config template, which users may copy to start their own), read by validation, Supports, the
// refusal messages and the docs' strategy matrix (Matrix); what a template receives (Config); and how a kind is
// started, reloaded and stopped. It starts nothing itself: the runtimes do.
package balancer

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/template"
)

// Kinds are the balancers a scenario may name: a folder each under kinds/, in the order of their rows.
var Kinds = tbl.kindNames

// Strategies are the balancing strategies a scenario may name, as strategies.yaml lists and describes them.
// hash-cookie hashes the app's session cookie on every balancer; learn-cookie is a table that learns it from the
// login's answer, which only HAProxy has. cookie-insert is a balancer cookie that names the replica (ingress-nginx's
// affinity-mode persistent, HAProxy's cookie insert, Caddy's lb_policy cookie); cookie-balanced is a balancer cookie
// holding a random key placed by consistent hashing on the replicas in service (ingress-nginx's affinity-mode
// balanced, its default).
var Strategies = tbl.strategies

// Kind is what differs between the real balancers: the binary, the config file and the signals that drive it. Each
// is its row, kinds/<kind>/kind.yaml.
type Kind struct {
	Name     string
	ConfFile string // the rendered config's file name
	// Binary is the program's name; Install says where it comes from, for the message when it is missing; Debian
	// is the Debian package that has it ("" for a Go program sessionlab install builds); VersionArgs make it print
	// its version.
	Binary      string
	Install     string
	Debian      string
	VersionArgs []string
	// DefaultCookie names the balancer's own affinity cookie when balancer.cookie.name is not set: the name the
	// real balancer's users meet.
	DefaultCookie string
	// ReloadSignal, sent to the master, loads the config again; StopSignal, sent to the group, has it finish what
	// it holds, then exit.
	ReloadSignal syscall.Signal
	StopSignal   syscall.Signal
	// LocalArgs is the command line of a local process whose prefix directory is dir, listening on listen;
	// ContainerArgs that of a container (the program first).
	LocalArgs     func(dir, conf, errLog, listen string) []string
	ContainerArgs func(conf string) []string
	// Keys are the scenario's balancer settings only some kinds read that this one reads (Misfits refuses the
	// others).
	Keys []string

	template        *template.Template
	cells           map[string]cell   // strategy -> how this kind runs it, or why it cannot
	refusedSettings map[string]string // key -> why this kind refuses it whatever the strategy
	limitLines      []limitLine
}

// limitLine is one kind of log line that says the balancer ran out of a limit.
type limitLine struct {
	name string
	re   *regexp.Regexp
}

// LimitIn names the limit a line of the kind's logs says it ran out of (worker_connections, open_files,
// maxconn, ...), or "" when the line says no such thing: a limit of a part the harness started and sized, whose
// broken exchanges are the harness's, not the system's.
func (k *Kind) LimitIn(line string) string {
	for _, l := range k.limitLines {
		if l.re.MatchString(line) {
			return l.name
		}
	}
	return ""
}

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

// Lookup returns the kind named name.
func Lookup(name string) (*Kind, error) {
	if k, ok := tbl.kinds[name]; ok {
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
	if why := k.cells[strategy].Refused; why != "" {
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
	return tableFiles.ReadFile(k.templatePath())
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
