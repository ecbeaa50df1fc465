package balancer

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// The table of what each kind supports: strategies.yaml (the strategies and the settings only some of them read)
// and one folder per kind, kinds/<kind>/, holding its row (kind.yaml) and its config template (<conf_file>.tmpl).
//
//go:embed kinds strategies.yaml
var tableFiles embed.FS

// row is a kind's kind.yaml.
type row struct {
	Name     string `yaml:"name"`      // the folder's name
	Order    int    `yaml:"order"`     // its place in Kinds (from 1)
	ConfFile string `yaml:"conf_file"` // the rendered config; the template is <conf_file>.tmpl beside the row
	Binary   string `yaml:"binary"`    // the program's name
	Install  string `yaml:"install"`   // how to install it, for the message when it is missing
	// Debian names the Debian package that has the binary ("" for a Go program sessionlab install builds), and
	// Version the arguments that make the binary print its version, for sessionlab doctor.
	Debian        string   `yaml:"debian"`
	Version       []string `yaml:"version"`
	DefaultCookie string   `yaml:"default_cookie"` // the balancer's own affinity cookie by default
	ReloadSignal  string   `yaml:"reload_signal"`  // by name: HUP, USR1, ...
	StopSignal    string   `yaml:"stop_signal"`
	// LocalArgs may hold {dir}, {conf}, {err_log} and {listen} (for a kind whose listener is on its command line);
	// ContainerArgs (the program first) only {conf}.
	LocalArgs     []string `yaml:"local_args"`
	ContainerArgs []string `yaml:"container_args"`
	// Settings are the balancer.* keys only some kinds read that this one reads; RefusedSettings the keys it
	// refuses whatever the strategy, each with why.
	Settings        []string          `yaml:"settings"`
	RefusedSettings map[string]string `yaml:"refused_settings"`
	// LimitLines are the lines of its logs that say it ran out of what the harness sized (connections, open files):
	// limit name -> a regular expression. The harness watches for them during a run (Kind.LimitIn).
	LimitLines map[string]string `yaml:"limit_lines"`
	// Strategies holds a cell for every strategy in strategies.yaml.
	Strategies map[string]cell `yaml:"strategies"`
}

// cell is how a kind runs a strategy (the directive, a short phrase) or why it cannot (naming what to use
// instead), never both; with RefusedSettings, the settings it refuses under that strategy, each with why.
type cell struct {
	Runs            string            `yaml:"runs"`
	Refused         string            `yaml:"refused"`
	RefusedSettings map[string]string `yaml:"refused_settings"`
}

// strategyFile is strategies.yaml.
type strategyFile struct {
	Strategies []struct {
		Name  string `yaml:"name"`
		Means string `yaml:"means"` // the one mechanism the name stands for on every balancer
	} `yaml:"strategies"`
	Settings map[string][]string `yaml:"settings"` // key -> the strategies that read it
}

// table is the decoded table.
type table struct {
	strategies       []string
	strategySettings map[string][]string
	kindNames        []string
	kinds            map[string]*Kind
}

// tbl is decoded once: a malformed embedded row is a bug of the build, so it panics at init.
var tbl = mustLoadTable(tableFiles)

func mustLoadTable(fsys fs.FS) *table {
	t, err := loadTable(fsys)
	if err != nil {
		panic("balancer: the embedded table: " + err.Error())
	}
	return t
}

// loadTable decodes strategies.yaml and every kinds/<kind>/kind.yaml of fsys strictly.
func loadTable(fsys fs.FS) (*table, error) {
	t := &table{kinds: map[string]*Kind{}}
	if err := t.loadStrategies(fsys); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, "kinds")
	if err != nil {
		return nil, err
	}
	byOrder := map[int]string{}
	for _, e := range entries {
		if !e.IsDir() {
			return nil, fmt.Errorf("kinds/%s: not a folder (each kind is one folder: kinds/<kind>/kind.yaml)", e.Name())
		}
		k, order, err := loadKind(fsys, e.Name(), t.strategies)
		if err != nil {
			return nil, err
		}
		if other, dup := byOrder[order]; dup {
			return nil, fmt.Errorf("kinds/%s/kind.yaml: order %d is %s's too", k.Name, order, other)
		}
		byOrder[order] = k.Name
		t.kinds[k.Name] = k
	}
	if len(t.kinds) == 0 {
		return nil, fmt.Errorf("kinds: no kind")
	}
	for _, order := range slices.Sorted(maps.Keys(byOrder)) {
		t.kindNames = append(t.kindNames, byOrder[order])
	}
	return t, nil
}

func (t *table) loadStrategies(fsys fs.FS) error {
	var f strategyFile
	if err := decodeStrict(fsys, "strategies.yaml", &f); err != nil {
		return err
	}
	for _, s := range f.Strategies {
		switch {
		case s.Name == "" || s.Means == "":
			return fmt.Errorf("strategies.yaml: strategy %q: name and means are required", s.Name)
		case slices.Contains(t.strategies, s.Name):
			return fmt.Errorf("strategies.yaml: strategy %s is listed twice", s.Name)
		}
		t.strategies = append(t.strategies, s.Name)
	}
	for _, key := range slices.Sorted(maps.Keys(f.Settings)) {
		if err := known(t.strategies, f.Settings[key]...); err != nil {
			return fmt.Errorf("strategies.yaml: settings.%s: %w", key, err)
		}
	}
	t.strategySettings = f.Settings
	return nil
}

// loadKind decodes kinds/<dir>/kind.yaml and parses the template beside it; order is its place in Kinds.
func loadKind(fsys fs.FS, dir string, strategies []string) (*Kind, int, error) {
	file := path.Join("kinds", dir, "kind.yaml")
	var r row
	if err := decodeStrict(fsys, file, &r); err != nil {
		return nil, 0, err
	}
	if err := r.check(dir, strategies); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	k := r.kind()
	text, err := fs.ReadFile(fsys, k.templatePath())
	if err != nil {
		return nil, 0, err
	}
	if k.template, err = template.New(k.ConfFile).Funcs(Funcs).Parse(string(text)); err != nil {
		return nil, 0, err
	}
	return k, r.Order, nil
}

func decodeStrict(fsys fs.FS, file string, v any) error {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// signals are the signals a row may name.
var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
}

// check says what is wrong with a row found in folder dir.
func (r row) check(dir string, strategies []string) error {
	switch {
	case r.Name != dir:
		return fmt.Errorf("name %q is not its folder's (%s)", r.Name, dir)
	case r.Order < 1:
		return fmt.Errorf("order %d: give its place in Kinds, from 1", r.Order)
	case r.ConfFile == "" || r.Binary == "" || r.Install == "" || r.DefaultCookie == "" || len(r.Version) == 0:
		return fmt.Errorf("conf_file, binary, install, version and default_cookie are required")
	}
	if err := r.checkCommands(); err != nil {
		return err
	}
	if len(r.LimitLines) == 0 {
		return fmt.Errorf("limit_lines is required: the log lines that say it ran out of connections or files")
	}
	for name, expr := range r.LimitLines {
		if _, err := regexp.Compile(expr); err != nil {
			return fmt.Errorf("limit_lines.%s: %w", name, err)
		}
	}
	for _, key := range r.Settings {
		if _, both := r.RefusedSettings[key]; both {
			return fmt.Errorf("settings: %s is read and refused at once", key)
		}
	}
	return r.checkCells(strategies)
}

// checkCommands says what is wrong with the signals and command lines of a row.
func (r row) checkCommands() error {
	for _, s := range []struct{ key, name string }{{"reload_signal", r.ReloadSignal}, {"stop_signal", r.StopSignal}} {
		if _, ok := signals[s.name]; !ok {
			return fmt.Errorf("%s: %q is not a signal (allowed: %s)", s.key, s.name, strings.Join(slices.Sorted(maps.Keys(signals)), ", "))
		}
	}
	if err := checkArgs("local_args", r.LocalArgs, "{dir}", "{conf}", "{err_log}", "{listen}"); err != nil {
		return err
	}
	return checkArgs("container_args", r.ContainerArgs, "{conf}")
}

// checkArgs says what is wrong with a command line that may hold the placeholders allowed.
func checkArgs(key string, args []string, allowed ...string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s is required", key)
	}
	var none []string
	for _, p := range allowed {
		none = append(none, p, "")
	}
	for _, a := range expand(args, none...) {
		if strings.ContainsAny(a, "{}") {
			return fmt.Errorf("%s: %q holds a placeholder that is not %s", key, a, strings.Join(allowed, " or "))
		}
	}
	return nil
}

// checkCells says which strategy the row names that is not one, or leaves out, or says neither or both of runs and
// refused for.
func (r row) checkCells(strategies []string) error {
	if err := known(strategies, slices.Sorted(maps.Keys(r.Strategies))...); err != nil {
		return fmt.Errorf("strategies: %w", err)
	}
	for _, s := range strategies {
		c, ok := r.Strategies[s]
		switch {
		case !ok:
			return fmt.Errorf("strategies.%s is missing: say how %s runs it (runs) or why it cannot (refused)", s, r.Name)
		case (c.Runs == "") == (c.Refused == ""):
			return fmt.Errorf("strategies.%s: give one of runs and refused", s)
		case c.Refused != "" && len(c.RefusedSettings) > 0:
			return fmt.Errorf("strategies.%s: a refused strategy has no settings to refuse", s)
		}
	}
	return nil
}

// known says which of names is not in allowed.
func known(allowed []string, names ...string) error {
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			return fmt.Errorf("%q is not a strategy (allowed: %s)", n, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// kind is the Kind a checked row describes, its template not yet parsed.
func (r row) kind() *Kind {
	local, container := slices.Clone(r.LocalArgs), slices.Clone(r.ContainerArgs)
	return &Kind{
		Name: r.Name, ConfFile: r.ConfFile, Binary: r.Binary, Install: r.Install, DefaultCookie: r.DefaultCookie,
		Debian: r.Debian, VersionArgs: r.Version,
		ReloadSignal: signals[r.ReloadSignal], StopSignal: signals[r.StopSignal],
		LocalArgs: func(dir, conf, errLog, listen string) []string {
			return expand(local, "{dir}", dir, "{conf}", conf, "{err_log}", errLog, "{listen}", listen)
		},
		ContainerArgs:   func(conf string) []string { return expand(container, "{conf}", conf) },
		Keys:            slices.Clone(r.Settings),
		cells:           r.Strategies,
		refusedSettings: r.RefusedSettings,
		limitLines:      compileLimits(r.LimitLines),
	}
}

// compileLimits compiles a checked row's limit lines, in the order of their names so that a line matching two is
// always named alike.
func compileLimits(lines map[string]string) []limitLine {
	var out []limitLine
	for _, name := range slices.Sorted(maps.Keys(lines)) {
		out = append(out, limitLine{name: name, re: regexp.MustCompile(lines[name])})
	}
	return out
}

// expand fills the placeholders of args: vars are pairs of placeholder and value.
func expand(args []string, vars ...string) []string {
	rep := strings.NewReplacer(vars...)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = rep.Replace(a)
	}
	return out
}

func (k *Kind) templatePath() string { return path.Join("kinds", k.Name, k.ConfFile+".tmpl") }
