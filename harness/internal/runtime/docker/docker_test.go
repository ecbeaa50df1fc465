package docker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/scenario"
)

// topology compiles a small scenario with the given overrides.
func topology(t *testing.T, set ...string) plan.Topology {
	t.Helper()
	s, err := scenario.Parse("docker-test.yaml", []byte("name: docker-test\nclients: {users: 10}\n"), set...)
	require.NoError(t, err)
	p, err := plan.Compile(s)
	require.NoError(t, err)
	return p.Topology
}

func requireDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers; skipped with -short")
	}
	if err := Available(context.Background()); err != nil {
		t.Skipf("docker runtime not tested: %v", err)
	}
}

func TestBindIdentityIsLocalOnly(t *testing.T) {
	d, err := runtime.Start(context.Background(), New(), topology(t, "clients.identity=bind"))
	require.ErrorContains(t, err, "clients.identity: bind works on the local runtime only")
	assert.NoError(t, d.Close(context.Background()), "nothing was started")
}

// A balancer that cannot start makes Start fail with every part's last lines, and Close leaves nothing behind.
func TestDockerFailedStartCarriesLogsAndLeavesNothing(t *testing.T) {
	requireDocker(t)
	ctx := context.Background()
	// The fakeapp image cannot run nginx: the "nginx" container exits at once, complaining about its arguments.
	rt := New(WithImages(runtime.Images{Nginx: runtime.DefaultImages().FakeApp}), WithStartTimeout(15*time.Second))
	d, err := runtime.Start(ctx, rt, topology(t, "app.replicas=2"))
	t.Cleanup(func() { _ = d.Close(ctx) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start nginx")
	assert.Contains(t, err.Error(), "--- last lines of replica-1 ---", "each container's log is in the error")
	assert.Contains(t, err.Error(), "--- last lines of nginx ---")

	require.NoError(t, d.Close(ctx))
	assert.Empty(t, sessionlabResources(t, "ps", "-aq"), "no container left")
	assert.Empty(t, sessionlabResources(t, "network", "ls", "-q"), "no network left")
}

// sessionlabResources lists the docker objects of this process's runs (other test packages may run beside it).
func sessionlabResources(t *testing.T, args ...string) []string {
	t.Helper()
	args = append(args, "--filter", "label="+labelOwner+"="+runtime.RunOwner(os.Getpid()))
	out, err := exec.Command("docker", args...).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// Your own image gets the run's own directories, bind-mounted from the run directory, and all of it goes with the
// run: nothing is made in the working directory, and no Docker volume is created.
func TestOwnImageDirectoriesAreTheRunsOwn(t *testing.T) {
	requireDocker(t)
	ctx := context.Background()
	t.Chdir(t.TempDir())
	volumes := dockerLines(t, "volume", "ls", "-q")
	image := runtime.DefaultImages().FakeApp
	topo := topology(t, "app.replicas=2", "balancer.strategy=ip-hash",
		`app.image={name: `+image+`, port: 9000, command: ["-listen={{.Addr}}", "-name={{.Name}}", "-users={{.Users}}", "-secret={{.Secret}}"]}`)
	d := runtime.StartT(t, New(), topo)
	require.DirExists(t, d.Dir())
	for _, r := range []string{"replica-1", "replica-2"} {
		p, err := d.Part(r)
		require.NoError(t, err)
		mounts := dockerLines(t, "inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}}\n{{end}}", p.(*containerPart).c.GetContainerID())
		assert.ElementsMatch(t, []string{
			"bind " + filepath.Join(d.Dir(), "shared") + " " + containerSharedDir,
			"bind " + filepath.Join(d.Dir(), "data", r) + " " + containerDataDir,
		}, mounts, "%s mounts the run's directories", r)
	}
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is made in the working directory")
	require.NoError(t, d.Close(ctx))
	assert.NoDirExists(t, d.Dir(), "the run directory goes with the run")
	assert.Equal(t, volumes, dockerLines(t, "volume", "ls", "-q"), "no Docker volume is created")
}

// dockerLines runs the docker command and returns its output's lines.
func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	require.NoError(t, err, "docker %v", args)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
