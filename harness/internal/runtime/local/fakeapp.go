package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sessionlab/sessionlab/harness/internal/balancer"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/tools"
)

// FakeAppEnv names a fakeapp binary (cmd/fakeapp) for the runtime to run when it is given none.
const FakeAppEnv = "SESSIONLAB_FAKEAPP"

func (l *Local) fakeAppCommand(ctx context.Context) ([]string, error) {
	if len(l.fakeApp) > 0 {
		if _, err := given("fakeapp", l.fakeApp[0]); err != nil {
			return nil, err
		}
		return l.fakeApp, nil
	}
	bin, err := FakeApp(ctx)
	if err != nil {
		return nil, err
	}
	return []string{bin}, nil
}

var built struct {
	once sync.Once
	bin  string
	err  error
}

// FakeApp is the fakeapp binary a runtime given none runs, as inside a go test: $SESSIONLAB_FAKEAPP, else
// cmd/fakeapp built with the go tool once per process, into a directory that a later run sweeps once this process
// has ended. The sessionlab binary passes itself instead (WithFakeApp), so the CLI needs no go tool.
func FakeApp(ctx context.Context) (string, error) {
	if p := os.Getenv(FakeAppEnv); p != "" {
		return given(FakeAppEnv, p)
	}
	built.once.Do(func() { built.bin, built.err = buildFakeApp(context.WithoutCancel(ctx)) })
	return built.bin, built.err
}

// buildFakeApp builds cmd/fakeapp into a new working directory with the go tool. It works where the sessionlab
// module is the main module or a dependency of it.
func buildFakeApp(ctx context.Context) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no fake app to run: run sessionlab itself (it serves the fake app), set %s to a fakeapp binary, or install the go tool to build one", FakeAppEnv)
	}
	dir, err := runtime.NewWorkDir("build")
	if err != nil {
		return "", fmt.Errorf("build fakeapp: %w", err)
	}
	out := filepath.Join(dir, "fakeapp")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, "github.com/sessionlab/sessionlab/cmd/fakeapp")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build fakeapp: %w\n%s", err, msg)
	}
	return out, nil
}

// binary is the program of a part that is no balancer (redis-server): the one given, else Find's, else an error
// naming the Debian package that has it.
func (l *Local) binary(part, debianPackage string) (string, error) {
	if bin := l.binaries[part]; bin != "" {
		return given(part, bin)
	}
	p, err := tools.Find(part, envFor(part))
	if errors.Is(err, tools.ErrNotFound) {
		return "", fmt.Errorf("%w: install the Debian package %s (apt-get install %s, or `make deps`)", err, debianPackage, debianPackage)
	}
	return p, err
}

// FindBalancer finds the binary of a balancer kind, named by its row (kinds/<kind>/kind.yaml): $SESSIONLAB_<KIND>
// ($SESSIONLAB_CADDY), else the tool cache `sessionlab install` builds into, else PATH or the sbin directories.
// When there is none, the error says how to install it.
func FindBalancer(kind *balancer.Kind) (string, error) {
	p, err := tools.Find(kind.Binary, envFor(kind.Name))
	if errors.Is(err, tools.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", err, kind.Install)
	}
	return p, err
}

// envFor is the environment variable that names a part's binary: SESSIONLAB_NGINX, SESSIONLAB_REDIS_SERVER.
func envFor(part string) string {
	return "SESSIONLAB_" + strings.ToUpper(strings.ReplaceAll(part, "-", "_"))
}

// given checks a binary the caller named.
func given(part, path string) (string, error) {
	if !tools.Executable(path) {
		return "", fmt.Errorf("%s binary %s is not an executable file", part, path)
	}
	return path, nil
}
