package plan

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

	"github.com/sessionlab/sessionlab/harness/internal/tools"
	"github.com/sessionlab/sessionlab/harness/internal/vocab"

	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/sessionlab/sessionlab/internal/contract"
)

// OwnApp is the user's own app run as the replicas (app.command on the local runtime, app.image on the docker
// runtime): its command line and environment are templates rendered per replica with vocab.AppVars, its readiness a
// health path, its start a stagger.
type OwnApp struct {
	Command  []*template.Template // program and arguments; empty when only an image is given
	Env      map[string]*template.Template
	EmptyEnv bool               // start from an empty environment instead of the harness's
	Dir      *template.Template // working directory; nil: the replica's data directory
	Image    *OwnImage          // nil when only a command is given
	Health   Health
	Stagger  time.Duration // wait this long after a replica is ready before starting the next
	BaseDir  string        // the scenario file's directory: a relative program path is its
	// StoreKeys is the Redis SCAN MATCH pattern of the app's session records, counted after the run; "" counts none.
	StoreKeys string
}

// OwnImage is the user's app as a container image.
type OwnImage struct {
	Name    string
	Port    int                  // where the app listens in the container
	Command []*template.Template // the container's command; empty: the image's own
	Env     map[string]*template.Template
}

// Health says when a replica is ready: GET Path answers 2xx, within Timeout of its start.
type Health struct {
	Path    string
	Timeout time.Duration
}

// AppVars are the template values of replica r listening on listen (host:port), in a run whose directory is
// runDir: its data directory and the shared one are made under it.
func (t Topology) AppVars(r ReplicaSpec, listen, runDir, storeAddr, idpURL string) (vocab.AppVars, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return vocab.AppVars{}, err
	}
	port, _ := strconv.Atoi(portText)
	v := vocab.AppVars{Name: r.Name, Index: r.Index, Host: host, Port: port, Addr: listen, Secret: r.Secret, Store: storeAddr,
		Users: t.Users, Seed: t.Seed, DataDir: filepath.Join(runDir, "data", r.Name), SharedDir: filepath.Join(runDir, "shared")}
	if t.App.IdP == "oidc" {
		v.IdP, v.IdPClientID, v.IdPClientSecret = idpURL+contract.OIDCIssuerPath, contract.OIDCClientID, t.App.IdPKey
	}
	for _, dir := range []string{v.DataDir, v.SharedDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return vocab.AppVars{}, err
		}
	}
	return v, nil
}

// LocalCommand is what the local runtime runs for one replica.
type LocalCommand struct {
	Bin  string
	Args []string
	Env  []string // the whole environment; empty (not nil) passes no variable at all
	Dir  string
}

// LocalCommand renders the replica's command line, environment and directory for v.
func (o *OwnApp) LocalCommand(v vocab.AppVars) (LocalCommand, error) {
	argv, err := renderAll(o.Command, v)
	if err != nil {
		return LocalCommand{}, err
	}
	env, err := renderEnv(o.Env, v)
	if err != nil {
		return LocalCommand{}, err
	}
	c := LocalCommand{Bin: argv[0], Args: argv[1:], Dir: v.DataDir}
	if !o.EmptyEnv {
		env = append(os.Environ(), env...)
	}
	c.Env = append([]string{}, env...)
	if o.Dir != nil {
		if c.Dir, err = render(o.Dir, v); err != nil {
			return LocalCommand{}, err
		}
	}
	c.Bin = o.program(c.Bin)
	return c, nil
}

// program resolves the program of app.command. A relative path is the scenario file's directory's, as
// balancer.config is, not the replica's working directory's; a bare name is a program sessionlab installs (the tool
// cache: `oauth2-proxy`), else one in PATH.
func (o *OwnApp) program(bin string) string {
	switch {
	case filepath.IsAbs(bin):
		return bin
	case strings.Contains(bin, string(filepath.Separator)):
		if abs, err := filepath.Abs(filepath.Join(o.BaseDir, bin)); err == nil {
			return abs // absolute: the process runs in its own directory
		}
	default:
		if p, err := tools.Find(bin, ""); err == nil {
			return p
		}
	}
	return bin
}

// Program is the program app.command runs, resolved as the local runtime resolves it (Program of an unrendered
// command: a template in the program's name is left as it is).
func (o *OwnApp) Program() string {
	if len(o.Command) == 0 {
		return ""
	}
	bin, err := render(o.Command[0], vocab.AppVars{})
	if err != nil {
		return ""
	}
	return o.program(bin)
}

// ContainerCommand renders the image's command (nil: the image's own) and environment for v.
func (o *OwnApp) ContainerCommand(v vocab.AppVars) (cmd []string, env map[string]string, err error) {
	if cmd, err = renderAll(o.Image.Command, v); err != nil {
		return nil, nil, err
	}
	lines, err := renderEnv(o.Image.Env, v)
	if err != nil {
		return nil, nil, err
	}
	env = make(map[string]string, len(lines))
	for _, line := range lines {
		k, val, _ := strings.Cut(line, "=")
		env[k] = val
	}
	return cmd, env, nil
}

func render(t *template.Template, v vocab.AppVars) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name(), err)
	}
	return b.String(), nil
}

func renderAll(ts []*template.Template, v vocab.AppVars) ([]string, error) {
	if len(ts) == 0 {
		return nil, nil
	}
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
func renderEnv(env map[string]*template.Template, v vocab.AppVars) ([]string, error) {
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

// ownApp is the user's app the scenario runs as the replicas (app.command, app.image; validated), its templates
// parsed; nil for the built-in app.
func ownApp(s *scenario.Scenario) *OwnApp {
	a := s.App
	if !a.Own() {
		return nil
	}
	parse := func(key, text string) *template.Template {
		t, _ := vocab.ParseAppTemplate(key, text)
		return t
	}
	parseAll := func(key string, args []string) []*template.Template {
		var out []*template.Template
		for i, arg := range args {
			out = append(out, parse(fmt.Sprintf("%s[%d]", key, i), arg))
		}
		return out
	}
	parseEnv := func(key string, env map[string]string) map[string]*template.Template {
		out := make(map[string]*template.Template, len(env))
		for name, text := range env {
			out[name] = parse(key+"."+name, text)
		}
		return out
	}
	o := &OwnApp{Command: parseAll("app.command", a.Command), Env: parseEnv("app.env", a.Env), EmptyEnv: a.EmptyEnv,
		Stagger: time.Duration(a.Stagger), StoreKeys: a.StoreKeys, BaseDir: s.Dir(),
		Health: Health{Path: or(a.Health.Path, "/healthz"), Timeout: time.Duration(a.Health.Timeout)}}
	if o.Health.Timeout == 0 {
		o.Health.Timeout = 30 * time.Second
	}
	if a.Dir != "" {
		o.Dir = parse("app.dir", a.Dir)
	}
	if im := a.Image; im != nil {
		o.Image = &OwnImage{Name: im.Name, Port: im.Port, Command: parseAll("app.image.command", im.Command),
			Env: parseEnv("app.image.env", im.Env)}
	}
	return o
}
