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

	"github.com/sessionlab/sessionlab/fakeapp/contract"
)

// OwnApp is the user's own app run as the replicas (app.command on the local runtime, app.image on the docker
// runtime): its command line and environment are templates rendered per replica with AppVars, its readiness a
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
	// With app.idp: oidc, the OpenID Connect provider: its issuer URL (as browsers and the app reach it), and the
	// app's client id and secret there.
	IdP             string
	IdPClientID     string
	IdPClientSecret string
}

// AppVarNames lists the template values, for messages.
const AppVarNames = "{{.Name}} {{.Index}} {{.Host}} {{.Port}} {{.Addr}} {{.DataDir}} {{.SharedDir}} {{.Secret}} {{.Store}} {{.Users}} {{.Seed}} {{.IdP}} {{.IdPClientID}} {{.IdPClientSecret}}"

var sampleVars = AppVars{Name: "replica-1", Index: 1, Host: "127.0.0.1", Port: 8080, Addr: "127.0.0.1:8080", DataDir: "/d", SharedDir: "/s",
	Secret: DerivedSecret(0, "sample"), Users: 1, IdP: "http://127.0.0.1:8090/oidc", IdPClientID: contract.OIDCClientID, IdPClientSecret: "s"}

// ParseAppTemplate parses one templated value of the user's app (name is its key) and executes it on sample values,
// so that a misspelt {{.Prot}} is an error now, not when a replica starts.
func ParseAppTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("not a template: %w", err)
	}
	if err := t.Execute(&bytes.Buffer{}, sampleVars); err != nil {
		return nil, fmt.Errorf("%w (allowed: %s)", err, AppVarNames)
	}
	return t, nil
}

// AppVars are the template values of replica r listening on listen (host:port), in a run whose directory is
// runDir: its data directory and the shared one are made under it.
func (t Topology) AppVars(r ReplicaSpec, listen, runDir, storeAddr, idpURL string) (AppVars, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return AppVars{}, err
	}
	port, _ := strconv.Atoi(portText)
	v := AppVars{Name: r.Name, Index: r.Index, Host: host, Port: port, Addr: listen, Secret: r.Secret, Store: storeAddr,
		Users: t.Users, Seed: t.Seed, DataDir: filepath.Join(runDir, "data", r.Name), SharedDir: filepath.Join(runDir, "shared")}
	if t.App.IdP == "oidc" {
		v.IdP, v.IdPClientID, v.IdPClientSecret = idpURL+contract.OIDCIssuerPath, contract.OIDCClientID, t.App.IdPKey
	}
	for _, dir := range []string{v.DataDir, v.SharedDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return AppVars{}, err
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
func (o *OwnApp) LocalCommand(v AppVars) (LocalCommand, error) {
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
	if !filepath.IsAbs(c.Bin) && strings.Contains(c.Bin, string(filepath.Separator)) {
		// A relative program path is the scenario file's directory's, as balancer.config is, not the replica's
		// working directory's.
		if abs, err := filepath.Abs(filepath.Join(o.BaseDir, c.Bin)); err == nil {
			c.Bin = abs // absolute: the process runs in its own directory
		}
	}
	return c, nil
}

// ContainerCommand renders the image's command (nil: the image's own) and environment for v.
func (o *OwnApp) ContainerCommand(v AppVars) (cmd []string, env map[string]string, err error) {
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

func render(t *template.Template, v AppVars) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name(), err)
	}
	return b.String(), nil
}

func renderAll(ts []*template.Template, v AppVars) ([]string, error) {
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
