package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sessionlab/sessionlab/harness/balancer"
	"github.com/sessionlab/sessionlab/harness/runtime"
)

func (l *Local) fakeAppBinary(ctx context.Context, dir string) (string, error) {
	if l.fakeApp != "" {
		return l.fakeApp, nil
	}
	if p := LocateFakeApp(); p != "" {
		return p, nil
	}
	return BuildFakeApp(ctx, dir)
}

// LocateFakeApp finds a fakeapp binary without building one: $SESSIONLAB_FAKEAPP, else a "fakeapp" beside the
// running executable. It returns "" when there is none.
func LocateFakeApp() string {
	if p := os.Getenv("SESSIONLAB_FAKEAPP"); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "fakeapp"); isExecutable(p) {
			return p
		}
	}
	return ""
}

// BuildFakeApp builds cmd/fakeapp into dir (a new working directory when dir is "") with the go tool and returns
// the binary's path. It works where the sessionlab module is the main module or a dependency of it.
func BuildFakeApp(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = runtime.NewWorkDir("build"); err != nil {
			return "", fmt.Errorf("build fakeapp: %w", err)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no fakeapp binary: build one (`make build`) and pass --fakeapp bin/fakeapp or set SESSIONLAB_FAKEAPP, or install the go tool")
	}
	out := filepath.Join(dir, "fakeapp")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, "github.com/sessionlab/sessionlab/cmd/fakeapp")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build fakeapp: %w\n%s", err, msg)
	}
	return out, nil
}

// FindBinary looks a program up in PATH and then in the sbin directories Debian installs daemons in, which are not
// in an unprivileged user's PATH.
func FindBinary(name, debianPackage string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin: install the Debian package %q (apt-get install %s, or `make deps`)", name, debianPackage, debianPackage)
}

// FindBalancer finds the binary of a balancer kind, named by its row (kinds/<kind>/kind.yaml): $SESSIONLAB_<KIND>
// ($SESSIONLAB_CADDY), else .tools/bin/<binary> in the working directory or the nearest parent that has one (where
// `make deps` builds what Debian lacks, such as a Caddy new enough), else the binary in PATH or the sbin
// directories. When there is none, the error says how to install it.
func FindBalancer(kind *balancer.Kind) (string, error) {
	env := "SESSIONLAB_" + strings.ToUpper(strings.ReplaceAll(kind.Name, "-", "_"))
	if p := os.Getenv(env); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%s is not an executable file", env, p)
		}
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if p := filepath.Join(dir, ".tools", "bin", kind.Binary); isExecutable(p) {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := FindBinary(kind.Binary, ""); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in $%s, .tools/bin, PATH or /usr/sbin: %s", kind.Binary, env, kind.Install)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
