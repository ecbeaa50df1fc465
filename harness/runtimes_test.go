package harness

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eachRuntime runs fn under every runtime; the docker row is skipped, saying why, only where no engine answers.
func eachRuntime(t *testing.T, fn func(t *testing.T, rt Runtime)) {
	t.Helper()
	requireIntegration(t)
	t.Run("local", func(t *testing.T) { fn(t, NewLocal()) })
	t.Run("docker", func(t *testing.T) {
		if err := DockerAvailable(context.Background()); err != nil {
			t.Skipf("docker runtime not tested: %v", err)
		}
		fn(t, NewDocker())
	})
}

func TestFaultsActOnParts(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt Runtime) {
		ctx := context.Background()
		d := StartT(t, rt, testTopology("round-robin", 2))
		names := []string{}
		for _, p := range d.Parts() {
			names = append(names, p.Name())
		}
		assert.Equal(t, []string{"replica-1", "replica-2", "nginx"}, names)

		victim, err := d.Part("replica-2")
		require.NoError(t, err)
		require.True(t, victim.Running(ctx))

		require.NoError(t, victim.Kill(ctx))
		assert.False(t, victim.Running(ctx), "killed")
		require.NoError(t, victim.Start(ctx), "started again and ready")
		assert.True(t, victim.Running(ctx))

		require.NoError(t, victim.Stop(ctx))
		assert.False(t, victim.Running(ctx), "stopped")
		require.NoError(t, victim.Start(ctx))
		assert.True(t, victim.Running(ctx))
		assert.Contains(t, victim.Logs(ctx, 50), "serving", "its output survives a restart")

		_, err = d.Part("replica-9")
		assert.ErrorContains(t, err, `no part named "replica-9" (parts: replica-1, replica-2, nginx)`)
	})
}

// A balancer that cannot start makes Start fail with every part's last lines, and Close leaves nothing behind.
func TestDockerFailedStartCarriesLogsAndLeavesNothing(t *testing.T) {
	requireIntegration(t)
	ctx := context.Background()
	if err := DockerAvailable(ctx); err != nil {
		t.Skipf("docker runtime not tested: %v", err)
	}
	// The fakeapp image cannot run nginx: the "nginx" container exits at once, complaining about its arguments.
	rt := NewDocker(WithImages(Images{Nginx: DefaultImages().FakeApp}), WithContainerStartTimeout(15*time.Second))
	d, err := rt.Start(ctx, testTopology("round-robin", 2))
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
	args = append(args, "--filter", "label="+labelOwner+"="+RunOwner(os.Getpid()))
	out, err := exec.Command("docker", args...).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}
