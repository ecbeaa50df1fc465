package harness_test

import (
	"context"
	"testing"

	"github.com/sessionlab/sessionlab/harness/internal/plan"
	"github.com/sessionlab/sessionlab/harness/internal/runtime"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/docker"
	"github.com/sessionlab/sessionlab/harness/internal/runtime/local"
	"github.com/sessionlab/sessionlab/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eachRuntime runs fn under every runtime; the docker row is skipped, saying why, only where no engine answers.
func eachRuntime(t *testing.T, fn func(t *testing.T, rt runtime.Runtime)) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes and containers; skipped with -short")
	}
	t.Run("local", func(t *testing.T) { fn(t, local.New()) })
	t.Run("docker", func(t *testing.T) {
		if err := docker.Available(context.Background()); err != nil {
			t.Skipf("docker runtime not tested: %v", err)
		}
		fn(t, docker.New())
	})
}

func TestFaultsActOnParts(t *testing.T) {
	eachRuntime(t, func(t *testing.T, rt runtime.Runtime) {
		ctx := context.Background()
		s, err := scenario.Parse("faults.yaml", []byte("name: faults\napp: {replicas: 2}\n"))
		require.NoError(t, err)
		p, err := plan.Compile(s)
		require.NoError(t, err)
		d := runtime.StartT(t, rt, p.Topology)
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
