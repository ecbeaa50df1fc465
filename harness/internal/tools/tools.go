// Package tools owns the programs sessionlab builds for itself from the Go module proxy (Caddy, OAuth2-Proxy, and
// those that follow) at pinned versions, in a per-user cache that every checkout, CI run, test binary and installed
// CLI finds, and the lookup of every program a run starts: an environment override, that cache, PATH, and the sbin
// directories Debian installs daemons in.
package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Tool is a Go program built at a pinned version.
type Tool struct {
	Name        string // what `sessionlab install NAME` takes
	Version     string
	Package     string   // the main package, as go install takes it
	Binary      string   // the file it builds
	For         string   // what needs it, for doctor
	VersionArgs []string // the arguments that make the binary print its version
	// Module, when set, is built through a module of sessionlab's own that requires it at Version and repeats
	// GoMod, its replace and exclude lines: go install refuses a module whose go.mod has them.
	Module string
	GoMod  []string
	// LDFlags are linker flags added to -s -w: the version a program prints is set at link time by its release
	// builds, and "dev" without them.
	LDFlags string
}

// Known are the tools `sessionlab install` builds.
var Known = []Tool{
	{Name: "caddy", Version: "v2.11.9", Package: "github.com/caddyserver/caddy/v2/cmd/caddy", Binary: "caddy",
		For: "balancer.kind: caddy (Debian's 2.6 has no PROXY-protocol listener)", VersionArgs: []string{"version"}},
	{Name: "oauth2-proxy", Version: "v7.15.6", Package: "github.com/oauth2-proxy/oauth2-proxy/v7", Binary: "oauth2-proxy",
		For: "scenarios/oauth2-proxy-real.yaml (the real OAuth2-Proxy as the replicas)", VersionArgs: []string{"--version"}},
	// v3.6.12: v3.7 replaces a module with a nested one the module proxy does not serve.
	{Name: "traefik", Version: "v3.6.12", Package: "github.com/traefik/traefik/v3/cmd/traefik", Binary: "traefik",
		For: "balancer.kind: traefik", VersionArgs: []string{"version"}, Module: "github.com/traefik/traefik/v3",
		LDFlags: "-X github.com/traefik/traefik/v3/pkg/version.Version=v3.6.12",
		GoMod: []string{
			"replace github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e",
			"replace github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59",
			"replace github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595",
			"exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible",
		}},
}

// Lookup is the known tool named name.
func Lookup(name string) (Tool, error) {
	for _, t := range Known {
		if t.Name == name {
			return t, nil
		}
	}
	names := make([]string, len(Known))
	for i, t := range Known {
		names[i] = t.Name
	}
	return Tool{}, fmt.Errorf("tool %q is not known (allowed: %s)", name, strings.Join(names, ", "))
}

// CacheEnv overrides where the tools are kept.
const CacheEnv = "SESSIONLAB_TOOLS"

// Dir is where the tools are kept: $SESSIONLAB_TOOLS, else sessionlab/tools in the user's cache directory
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux).
func Dir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tool cache: %w (set %s)", err, CacheEnv)
	}
	return filepath.Join(d, "sessionlab", "tools"), nil
}

// Path is where t's binary is kept once installed.
func (t Tool) Path() (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, t.Name+"-"+t.Version, t.Binary), nil
}

// Installed is t's binary in the cache, or "" when it is not there.
func (t Tool) Installed() string {
	if p, err := t.Path(); err == nil && Executable(p) {
		return p
	}
	return ""
}

// InstallCommand is what installs t, for the message when it is missing.
func (t Tool) InstallCommand() string { return "sessionlab install " + t.Name }

// Install builds t into the cache unless it is there already, and returns its path. Concurrent installs of one
// tool (two clones' CI on one machine) wait for each other through a lock file; a failed build leaves nothing behind.
func Install(ctx context.Context, t Tool, progress io.Writer) (string, error) {
	dst, err := t.Path()
	if err != nil {
		return "", err
	}
	if Executable(dst) {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Dir(dst)), 0o755); err != nil {
		return "", fmt.Errorf("install %s: %w", t.Name, err)
	}
	unlock, err := lock(filepath.Dir(dst) + ".lock")
	if err != nil {
		return "", fmt.Errorf("install %s: %w", t.Name, err)
	}
	defer unlock()
	if Executable(dst) { // built by whoever held the lock before us
		return dst, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("install %s: building it needs the go tool, which is not in PATH", t.Name)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Dir(dst)), "."+t.Name+"-build-")
	if err != nil {
		return "", fmt.Errorf("install %s: %w", t.Name, err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(progress, "install: building %s %s from the Go module proxy into %s\n", t.Name, t.Version, filepath.Dir(dst))
	if err := build(ctx, gobin, t, tmp, progress); err != nil {
		return "", fmt.Errorf("install %s %s: %w", t.Name, t.Version, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("install %s: %w", t.Name, err)
	}
	if err := os.Rename(filepath.Join(tmp, "bin", t.Binary), dst); err != nil {
		return "", fmt.Errorf("install %s: %w", t.Name, err)
	}
	return dst, nil
}

// build puts t's binary at tmp/bin: with go install at the version, or for a module with replace directives with go
// build in a module of its own (BuildModule). Binaries are static (CGO_ENABLED=0: the images copy them as they are)
// and stripped of symbols.
func build(ctx context.Context, gobin string, t Tool, tmp string, progress io.Writer) error {
	ldflags := strings.TrimSpace("-s -w " + t.LDFlags)
	args := []string{"install", "-trimpath", "-ldflags=" + ldflags, t.Package + "@" + t.Version}
	if t.Module != "" {
		if err := os.WriteFile(filepath.Join(tmp, "go.mod"), BuildModule(t), 0o644); err != nil {
			return err
		}
		// -mod=mod writes the go.sum the build needs, each module checked as go install would.
		args = []string{"build", "-mod=mod", "-trimpath", "-ldflags=" + ldflags, "-o", filepath.Join(tmp, "bin", t.Binary), t.Package}
	}
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = tmp, progress, progress
	cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOBIN="+filepath.Join(tmp, "bin"), "GOWORK=off")
	return cmd.Run()
}

// BuildModule is the go.mod of the module that builds t: it requires t.Module at t.Version and repeats its replace
// and exclude lines.
func BuildModule(t Tool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "module sessionlab.invalid/build/%s\n\ngo 1.25\n\nrequire %s %s\n\n", t.Name, t.Module, t.Version)
	for _, line := range t.GoMod {
		b.WriteString(line + "\n")
	}
	return []byte(b.String())
}

// lock takes an exclusive lock on path, waiting for another holder to let go.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// ErrNotFound says a program is nowhere a run looks for it.
var ErrNotFound = errors.New("not found")

// Find finds the program binary: $env when set (it must be an executable file), else the known tool that builds
// binary in the cache, else PATH, else the sbin directories Debian installs daemons in (not in an unprivileged
// user's PATH). The error wraps ErrNotFound and says where it looked.
func Find(binary, env string) (string, error) {
	if env != "" {
		if p := os.Getenv(env); p != "" {
			if !Executable(p) {
				return "", fmt.Errorf("%s=%s is not an executable file", env, p)
			}
			return p, nil
		}
	}
	for _, t := range Known {
		if t.Binary == binary {
			if p := t.Installed(); p != "" {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(binary); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, binary); Executable(p) {
			return p, nil
		}
	}
	where := "the tool cache, PATH or /usr/sbin"
	if env != "" {
		where = "$" + env + ", " + where
	}
	return "", fmt.Errorf("%s: %w in %s", binary, ErrNotFound, where)
}

// Executable reports whether p is an executable file.
func Executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
