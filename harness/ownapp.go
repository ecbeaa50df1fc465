package harness

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// The user's own app as the replicas (app.command on the local runtime, app.image on the docker runtime): its command
// line and environment are templates rendered per replica, its readiness a health path, its start a stagger.

// AppHealth says when a replica is ready: GET Path answers 2xx, within Timeout of its start.
type AppHealth struct {
	Path    string   `yaml:"path"`    // default /healthz
	Timeout Duration `yaml:"timeout"` // default 30s
}

// AppImage is the user's app as a container image (docker runtime).
type AppImage struct {
	Name    string            `yaml:"name"`    // the image, e.g. wakapi:local
	Command []string          `yaml:"command"` // the container's command (templated); empty: the image's own
	Env     map[string]string `yaml:"env"`     // templated
	Port    int               `yaml:"port"`    // where the app listens in the container
}

// AppVars are what app.command, app.env, app.dir and app.image may use, e.g. "{{.Port}}".
type AppVars struct {
	Name      string // replica-2
	Index     int    // 2
	Host      string // the address to listen on: 127.0.0.1 (local), 0.0.0.0 (docker)
	Port      int    // the port to listen on
	Addr      string // Host:Port
	DataDir   string // this replica's own directory, empty at the start of a run
	SharedDir string // one directory every replica of the run sees
	Secret    string // the same for every replica, or each replica's own (app.secret)
	Store     string // host:port of the run's Redis (app.sessions: redis), else ""
	Users     int    // how many simulated users there are: user1..userN
	Seed      uint64
}

// ownApp is the parsed app.command / app.image.
type ownApp struct {
	command  []*template.Template
	env      map[string]*template.Template
	emptyEnv bool
	dir      *template.Template
	image    *AppImage
	imageCmd []*template.Template
	imageEnv map[string]*template.Template
	health   AppHealth
	stagger  time.Duration
	baseDir  string // the scenario file's directory
}

// Own reports whether the replicas are the user's app rather than the built-in one.
func (a App) Own() bool { return len(a.Command) > 0 || a.Image != nil }

func parseAppTemplate(key, text string) (*template.Template, error) {
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, keyErr(key, "not a template: %v", err)
	}
	// Execute on sample values, so that a misspelt {{.Prot}} is an error now, not when a replica starts.
	if err := t.Execute(&bytes.Buffer{}, sampleVars); err != nil {
		return nil, keyErr(key, "%v (allowed: {{.Name}} {{.Index}} {{.Host}} {{.Port}} {{.Addr}} {{.DataDir}} {{.SharedDir}} {{.Secret}} {{.Store}} {{.Users}} {{.Seed}})", err)
	}
	return t, nil
}

var sampleVars = AppVars{Name: "replica-1", Index: 1, Host: "127.0.0.1", Port: 8080, Addr: "127.0.0.1:8080", DataDir: "/d", SharedDir: "/s", Secret: "x", Users: 1}

// parseOwnApp parses and checks app.command, app.env, app.dir, app.health, app.stagger and app.image.
func (a App) parseOwnApp(strategy string) (*ownApp, []error) {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	o := &ownApp{emptyEnv: a.EmptyEnv, health: a.Health, stagger: time.Duration(a.Stagger), image: a.Image}
	if o.health.Path == "" {
		o.health.Path = "/healthz"
	}
	if o.health.Timeout == 0 {
		o.health.Timeout = Duration(30 * time.Second)
	}
	if !strings.HasPrefix(o.health.Path, "/") {
		add(keyErr("app.health.path", "%q is not a path (it starts with /)", a.Health.Path))
	}
	if o.health.Timeout < 0 {
		add(keyErr("app.health.timeout", "%s is negative", time.Duration(a.Health.Timeout)))
	}
	if a.Stagger < 0 {
		add(keyErr("app.stagger", "%s is negative", time.Duration(a.Stagger)))
	}
	for i, arg := range a.Command {
		t, err := parseAppTemplate(fmt.Sprintf("app.command[%d]", i), arg)
		add(err)
		o.command = append(o.command, t)
	}
	if len(a.Command) > 0 && strings.TrimSpace(a.Command[0]) == "" {
		add(keyErr("app.command[0]", "the program is empty"))
	}
	var envErrs []error
	o.env, envErrs = parseEnv("app.env", a.Env)
	errs = append(errs, envErrs...)
	if a.Dir != "" {
		var err error
		o.dir, err = parseAppTemplate("app.dir", a.Dir)
		add(err)
	}
	if im := a.Image; im != nil {
		if im.Name == "" {
			add(keyErr("app.image.name", "is required: the image to run as the replicas"))
		}
		if im.Port < 1 || im.Port > 65535 {
			add(keyErr("app.image.port", "%d is out of range (allowed 1..65535: where the app listens in the container)", im.Port))
		}
		for i, arg := range im.Command {
			t, err := parseAppTemplate(fmt.Sprintf("app.image.command[%d]", i), arg)
			add(err)
			o.imageCmd = append(o.imageCmd, t)
		}
		o.imageEnv, envErrs = parseEnv("app.image.env", im.Env)
		errs = append(errs, envErrs...)
	}
	// Keys set where they mean nothing are refused rather than ignored, in a fixed order so messages are stable.
	type setting struct {
		key string
		set bool
	}
	refuse := func(msg string, settings ...setting) {
		for _, st := range settings {
			if st.set {
				add(keyErr(st.key, "%s", msg))
			}
		}
	}
	if !a.Own() {
		refuse("applies to your own app only (app.command or app.image)",
			setting{"app.env", len(a.Env) > 0}, setting{"app.empty_env", a.EmptyEnv}, setting{"app.dir", a.Dir != ""},
			setting{"app.session_cookie", a.SessionCookie != ""}, setting{"app.stagger", a.Stagger != 0})
		return nil, errs
	}
	refuse("applies to the built-in app only; with app.command or app.image, configure your app through app.env or its command line",
		setting{"app.login", a.Login != "form"}, setting{"app.cookie_name", a.CookieName != "shared"},
		setting{"app.session_ttl", a.SessionTTL != 0}, setting{"app.idle_timeout", a.IdleTimeout != 0},
		setting{"app.clear_bad_cookie", a.ClearBadCookie})
	if strategy == "hash-cookie" && a.SessionCookie == "" {
		add(keyErr("app.session_cookie", "is required with strategy hash-cookie and your own app: the name of the cookie the balancer hashes"))
	}
	if a.Sessions == "cookie" {
		add(keyErr("app.sessions", `"cookie" applies to the built-in app only; with your own app, "redis" starts a Redis ({{.Store}}) and "memory" starts none`))
	}
	return o, errs
}

func parseEnv(key string, env map[string]string) (map[string]*template.Template, []error) {
	var errs []error
	out := make(map[string]*template.Template, len(env))
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			errs = append(errs, keyErr(key, "%q is not an environment variable name", name))
			continue
		}
		t, err := parseAppTemplate(key+"."+name, env[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = t
	}
	return out, errs
}

func render(t *template.Template, v AppVars) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name(), err)
	}
	return b.String(), nil
}

func renderAll(ts []*template.Template, v AppVars) ([]string, error) {
	out := make([]string, len(ts))
	for i, t := range ts {
		s, err := render(t, v)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// renderEnv renders env as NAME=value lines, sorted by name.
func renderEnv(env map[string]*template.Template, v AppVars) ([]string, error) {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(env)) {
		s, err := render(env[name], v)
		if err != nil {
			return nil, err
		}
		out = append(out, name+"="+s)
	}
	return out, nil
}

// localCommand is what the local runtime runs for one replica: program, arguments, environment and directory.
type localCommand struct {
	bin  string
	args []string
	env  []string // nil: the harness's own environment
	dir  string
}

// localCommand renders the replica's command for listen (host:port) and makes its data directory.
func (o *ownApp) localCommand(v AppVars) (localCommand, error) {
	argv, err := renderAll(o.command, v)
	if err != nil {
		return localCommand{}, err
	}
	env, err := renderEnv(o.env, v)
	if err != nil {
		return localCommand{}, err
	}
	c := localCommand{bin: argv[0], args: argv[1:], dir: v.DataDir}
	if !o.emptyEnv {
		env = append(os.Environ(), env...)
	}
	c.env = append([]string{}, env...) // an empty list, not nil: exec then passes no variable at all
	if o.dir != nil {
		if c.dir, err = render(o.dir, v); err != nil {
			return localCommand{}, err
		}
	}
	if !filepath.IsAbs(c.bin) && strings.Contains(c.bin, string(filepath.Separator)) {
		// A relative program path is the scenario file's directory's, as balancer.config is, not the replica's
		// working directory's.
		if abs, err := filepath.Abs(filepath.Join(o.baseDir, c.bin)); err == nil {
			c.bin = abs // absolute: the process runs in its own directory
		}
	}
	return c, nil
}

// appVars are the template values of replica r listening on listen, in a deployment whose run directory is runDir.
func (t Topology) appVars(r ReplicaSpec, listen, runDir, storeAddr string) (AppVars, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return AppVars{}, err
	}
	port, _ := strconv.Atoi(portText)
	index, _ := strconv.Atoi(strings.TrimPrefix(r.Name, "replica-"))
	v := AppVars{Name: r.Name, Index: index, Host: host, Port: port, Addr: listen, Secret: r.Secret, Store: storeAddr,
		Users: t.Users, Seed: t.Seed, DataDir: filepath.Join(runDir, "data", r.Name), SharedDir: filepath.Join(runDir, "shared")}
	for _, dir := range []string{v.DataDir, v.SharedDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return AppVars{}, err
		}
	}
	return v, nil
}
