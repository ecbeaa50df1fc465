package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/tools"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// Requirement is one program or image a run needs, and what this machine has of it.
type Requirement struct {
	Name    string // nginx, caddy, redis-server, docker, an image's name
	For     string // what needs it
	Path    string // where it was found
	Version string // what it says of its version, when it was found
	Missing error  // why it cannot be used; nil when it was found
	Command string // what installs it
	tool    *tools.Tool
}

// Build builds r into the per-user tool cache when it is a Go program sessionlab builds at a pinned version (caddy,
// oauth2-proxy), from the Go module proxy, and returns its path: once per machine, found there by every checkout,
// CI run, test binary and installed CLI; the build's output goes to progress. Any other requirement is an error
// naming the command that installs it.
func (r Requirement) Build(ctx context.Context, progress io.Writer) (string, error) {
	if r.tool == nil {
		return "", fmt.Errorf("%s is not built by sessionlab: %s", r.Name, r.Command)
	}
	return tools.Install(ctx, *r.tool, progress)
}

// program is a program a run may start: its binary, the Debian package that has it or the Go program sessionlab
// builds it as, what needs it, and how to ask it for its version.
type program struct {
	binary, debian, need string
	tool                 *tools.Tool
	version              []string
}

var (
	redis    = program{binary: "redis-server", debian: "redis-server", need: "app.sessions: redis", version: []string{"--version"}}
	chromium = program{binary: "chromium", debian: "chromium", need: "the tests of the HTML report, make screenshot", version: []string{"--version"}}
	goTool   = program{binary: "go", need: "sessionlab install (building the Go programs), the fake app inside go tests", version: []string{"version"}}
)

// balancerProgram is kind's binary, as its row (kinds/<kind>/kind.yaml) names it.
func balancerProgram(kind string) program {
	k, err := balancer.Lookup(kind)
	if err != nil {
		return program{binary: kind, need: "balancer.kind: " + kind}
	}
	p := program{binary: k.Binary, debian: k.Debian, need: "balancer.kind: " + k.Name, version: k.VersionArgs}
	if t, ok := toolFor(k.Binary); ok {
		p.tool, p.need = t, t.For
	}
	return p
}

// toolProgram is a Go program sessionlab builds.
func toolProgram(t *tools.Tool) program {
	return program{binary: t.Binary, need: t.For, tool: t, version: t.VersionArgs}
}

func toolFor(binary string) (*tools.Tool, bool) {
	for i := range tools.Known {
		if tools.Known[i].Binary == binary {
			return &tools.Known[i], true
		}
	}
	return nil, false
}

// Doctor says what runs need on this machine and what it has. With s nil: every program of every runtime and
// balancer kind (the local runtime's, the docker runtime's engine and images). With s: what s needs on the runtime
// named rt ("local", or "docker"); a scenario with target.url needs nothing. Nothing is started but the programs'
// version commands; the error is for a scenario that does not compile.
func Doctor(ctx context.Context, s *scenario.Scenario, rt string) ([]Requirement, error) {
	if s == nil {
		var reqs []Requirement
		for _, kind := range balancer.Kinds {
			reqs = append(reqs, find(ctx, balancerProgram(kind)))
		}
		reqs = append(reqs, find(ctx, redis))
		for i := range tools.Known {
			if _, err := balancer.Lookup(tools.Known[i].Name); err != nil { // a balancer's is listed with its kind
				reqs = append(reqs, find(ctx, toolProgram(&tools.Known[i])))
			}
		}
		reqs = append(reqs, find(ctx, chromium), find(ctx, goTool), dockerEngine(ctx))
		for _, im := range imageNames(runtime.DefaultImages()) {
			reqs = append(reqs, image(ctx, im, "the docker runtime"))
		}
		return reqs, nil
	}
	p, err := plan.Compile(s)
	if err != nil {
		return nil, err
	}
	t := p.Topology
	switch {
	case t.Target != nil:
		return nil, nil
	case rt == "docker":
		return dockerNeeds(ctx, t), nil
	}
	return localNeeds(ctx, t), nil
}

// balancerKinds are the kinds t runs: its balancer's, those its switches move to, and HAProxy for the front.
func balancerKinds(t plan.Topology) []string {
	var kinds []string
	for _, b := range t.Sets() {
		kinds = append(kinds, b.Kind)
	}
	if t.Fronted() {
		kinds = append(kinds, "haproxy")
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}

func localNeeds(ctx context.Context, t plan.Topology) []Requirement {
	var reqs []Requirement
	for _, kind := range balancerKinds(t) {
		reqs = append(reqs, find(ctx, balancerProgram(kind)))
	}
	if t.App.NeedsStore() {
		reqs = append(reqs, find(ctx, redis))
	}
	if t.Own != nil && len(t.Own.Command) > 0 {
		reqs = append(reqs, ownProgram(ctx, t.Own.Program()))
	}
	return reqs
}

func dockerNeeds(ctx context.Context, t plan.Topology) []Requirement {
	im := runtime.DefaultImages()
	reqs := []Requirement{dockerEngine(ctx)}
	for _, kind := range balancerKinds(t) {
		reqs = append(reqs, image(ctx, im.Balancer(kind), "balancer.kind: "+kind))
	}
	if t.NeedsFakeApp() {
		reqs = append(reqs, image(ctx, im.FakeApp, "the fake app"))
	}
	if t.Own != nil && t.Own.Image != nil {
		reqs = append(reqs, image(ctx, t.Own.Image.Name, "app.image"))
	}
	if t.App.NeedsStore() {
		reqs = append(reqs, image(ctx, im.Redis, "app.sessions: redis"))
	}
	return reqs
}

// find looks p up as the local runtime does and asks it for its version.
func find(ctx context.Context, p program) Requirement {
	r := Requirement{Name: p.binary, For: p.need, tool: p.tool}
	env := "SESSIONLAB_" + strings.ToUpper(strings.ReplaceAll(p.binary, "-", "_"))
	switch {
	case p.tool != nil:
		r.Command = p.tool.InstallCommand()
		r.For += " (pinned " + p.tool.Version + ")"
	case p.debian != "":
		r.Command = "apt-get install " + p.debian
	default:
		r.Command, env = "install the Go toolchain", ""
	}
	if r.Path, r.Missing = tools.Find(p.binary, env); r.Missing == nil {
		r.Version = versionOf(ctx, r.Path, p.version)
		if r.tool != nil && r.Path == r.tool.Installed() && !strings.Contains(r.Version, r.tool.Version) {
			r.Version = r.tool.Version + " (the tool cache's build; the binary says: " + r.Version + ")"
		}
	}
	return r
}

// ownProgram is the user's app.command program, resolved as the local runtime resolves it.
func ownProgram(ctx context.Context, bin string) Requirement {
	// A bare name, or the tool cache's build, of a program sessionlab installs (oauth2-proxy).
	if t, ok := toolFor(filepath.Base(bin)); ok && (!strings.Contains(bin, "/") || bin == t.Installed()) {
		return find(ctx, toolProgram(t))
	}
	r := Requirement{Name: bin, For: "app.command", Command: "build your app and name it in app.command"}
	if strings.Contains(bin, "/") {
		if tools.Executable(bin) {
			r.Path = bin
		} else {
			r.Missing = fmt.Errorf("%s is not an executable file", bin)
		}
		return r
	}
	if r.Path, r.Missing = exec.LookPath(bin); r.Missing != nil {
		r.Missing = fmt.Errorf("%s: %w", bin, tools.ErrNotFound)
	}
	return r
}

// versionOf is the first line a program prints of its version that holds one (nginx and others print it on
// stderr; Debian's chromium wrapper prints a complaint of its own first).
func versionOf(ctx context.Context, path string, args []string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, args...).CombinedOutput()
	for line := range strings.Lines(string(out)) {
		if versionLike.MatchString(line) {
			return strings.TrimSpace(line)
		}
	}
	return "version unknown"
}

var versionLike = regexp.MustCompile(`\bv?\d+\.\d+`)

// dockerEngine asks the docker command for the engine's version: the docker runtime needs an engine that answers.
func dockerEngine(ctx context.Context) Requirement {
	r := Requirement{Name: "docker", For: "the docker runtime (an engine that answers)", Command: "install Docker Engine and start it"}
	path, err := exec.LookPath("docker")
	if err != nil {
		r.Missing = fmt.Errorf("docker: %w in PATH", tools.ErrNotFound)
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "version", "--format", "{{.Server.Version}}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.Missing = fmt.Errorf("no Docker engine answers: %s", strings.TrimSpace(stderr.String()))
		return r
	}
	r.Path, r.Version = path, "engine "+strings.TrimSpace(string(out))
	return r
}

// image says whether the docker engine holds image (nothing is ever pulled).
func image(ctx context.Context, name, need string) Requirement {
	r := Requirement{Name: name, For: need, Command: "make images (builds every image locally)"}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", name).Output()
	if err != nil {
		r.Missing = errors.New("not in the local image store")
		return r
	}
	id := strings.TrimSpace(string(out))
	r.Path, r.Version = "docker image", id[:min(len("sha256:")+12, len(id))]
	return r
}

func imageNames(im runtime.Images) []string {
	names := []string{im.FakeApp, im.Nginx, im.HAProxy, im.Caddy, im.Redis}
	slices.Sort(names)
	return slices.Compact(names)
}
